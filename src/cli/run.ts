/** What every CLI shares: the configured database (migrated first), and exit codes with readable errors. */
import { type Db, openDatabase } from "../db/client.js";
import { migrateDatabase } from "../db/migrate.js";
import { loadEnv } from "../env.js";
import { errInfo, isQueryError } from "../lib/errors.js";

/** Open the database the app uses (DATABASE_URL, else PGlite under DATA_DIR), migrate it, run `work`, close it. */
export async function withDatabase<T>(work: (db: Db, kind: "pglite" | "postgres") => Promise<T>): Promise<T> {
  const env = loadEnv();
  const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 1, pooler: env.DATABASE_POOLER });
  try {
    await migrateDatabase(database, env.DATABASE_URL);
    return await work(database.db, database.kind);
  } finally {
    await database.close();
  }
}

/**
 * Run a CLI's main and set the exit code. `explain` turns the errors a user can fix (bad input, bad configuration)
 * into one line; anything else is printed whole.
 */
export function runCli(main: () => Promise<number>, explain: (err: unknown) => string | null): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // A failed query's message holds its parameters (ticket text, phones): only its name and code are printed.
      console.error(explain(err) ?? (isQueryError(err) ? errInfo(err) : err));
      process.exitCode = 1;
    },
  );
}
