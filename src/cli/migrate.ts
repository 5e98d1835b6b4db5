/** `npm run db:migrate`: apply migrations to the configured database (the app also does this at start). */
import { openDatabase } from "../db/client.js";
import { migrateDatabase } from "../db/migrate.js";
import { EnvError, loadEnv } from "../env.js";

try {
  const env = loadEnv();
  const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 1 });
  await migrateDatabase(database, env.DATABASE_URL);
  await database.close();
  console.log(`数据库迁移完成（${database.kind === "postgres" ? "PostgreSQL" : `PGlite：${env.DATA_DIR}`}）`);
} catch (err) {
  console.error(err instanceof EnvError ? err.message : err);
  process.exit(1);
}
