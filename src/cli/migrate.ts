/** `npm run db:migrate`: apply migrations to the configured database (the app also does this at start). */
import { EnvError } from "../env.js";
import { runCli, withDatabase } from "./run.js";

runCli(
  () =>
    withDatabase(async (_db, kind) => {
      console.log(`数据库迁移完成（${kind === "postgres" ? "PostgreSQL" : "PGlite"}）`);
      return 0;
    }),
  (err) => (err instanceof EnvError ? err.message : null),
);
