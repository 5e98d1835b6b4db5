/**
 * `npm run import -- <directory.yaml | directory.xlsx>`: validates the directory file and upserts it into the database the app
 * uses (DATABASE_URL, else PGlite under DATA_DIR). A bad file is reported with file, line and field, exits 1,
 * and writes nothing.
 */
import { DirectoryError, describeSummary, parseDirectoryFile, writeDirectory } from "../db/directory-import.js";
import { EnvError, loadEnv } from "../env.js";
import { runCli, withDatabase } from "./run.js";

async function main(args: string[]): Promise<number> {
  const [file, ...extra] = args;
  if (!file || extra.length > 0) {
    console.error("用法：npm run import -- <目录文件.yaml 或 .xlsx>");
    return 2;
  }
  loadEnv(); // a configuration error is reported before anything else
  // Validate before opening the database: a typo should not need (or lock) the database to be reported.
  const directory = await parseDirectoryFile(file);
  return withDatabase(async (db) => {
    console.log(`导入完成：${describeSummary(await writeDirectory(db, directory))}`);
    return 0;
  });
}

runCli(
  () => main(process.argv.slice(2)),
  // Input and configuration problems are the user's to fix: show the message, not a stack trace.
  (err) =>
    err instanceof DirectoryError
      ? `导入失败，数据库未改动：\n${err.message}`
      : err instanceof EnvError
        ? err.message
        : null,
);
