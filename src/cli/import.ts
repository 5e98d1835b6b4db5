/**
 * `npm run import -- <directory.yaml>`: validates the directory file and upserts it into the database the app
 * uses (DATABASE_URL, else PGlite under DATA_DIR). A bad file is reported with file, line and field, exits 1,
 * and writes nothing.
 */
import { openDatabase } from "../db/client.js";
import { DirectoryError, describeSummary, parseDirectoryFile, writeDirectory } from "../db/directory-import.js";
import { migrateDatabase } from "../db/migrate.js";
import { EnvError, loadEnv } from "../env.js";

async function main(args: string[]): Promise<number> {
  const [file, ...extra] = args;
  if (!file || extra.length > 0) {
    console.error("用法：npm run import -- <目录文件.yaml>");
    return 2;
  }
  const env = loadEnv();
  // Validate before opening the database: a typo should not need (or lock) the database to be reported.
  const directory = await parseDirectoryFile(file);
  const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 1 });
  try {
    await migrateDatabase(database, env.DATABASE_URL);
    const summary = await writeDirectory(database.db, directory);
    console.log(`导入完成：${describeSummary(summary)}`);
    return 0;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Input and configuration problems are the user's to fix: show the message, not a stack trace.
    if (err instanceof DirectoryError) console.error(`导入失败，数据库未改动：\n${err.message}`);
    else if (err instanceof EnvError) console.error(err.message);
    else console.error(err);
    process.exitCode = 1;
  },
);
