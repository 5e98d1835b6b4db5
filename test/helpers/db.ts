/**
 * Fresh, migrated databases for tests and benchmarks: PGlite in memory by default, or — when DATABASE_URL is set —
 * a new PostgreSQL database created next to the one in DATABASE_URL and dropped when closed.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import postgres from "postgres";
import { type Database, openDatabase } from "../../src/db/client.js";
import { migrateDatabase } from "../../src/db/migrate.js";

export type TestDatabase = Database & { url?: string };
export type ScratchDatabase = Database & { url: string; name: string };

/**
 * A new migrated PostgreSQL database on the server of `base`; `close()` drops it unless `keep` is set. `name`: use the
 * database of that name, created when missing (a benchmark's kept seed; migrations bring it to the current schema).
 */
export async function scratchPostgres(
  base: string,
  opts: { prefix?: string; poolSize?: number; keep?: boolean; migrationsFolder?: string; name?: string } = {},
): Promise<ScratchDatabase> {
  if (opts.name && !/^[a-z_][a-z0-9_]*$/.test(opts.name)) throw new Error(`not a plain database name: ${opts.name}`);
  const name = opts.name ?? `${opts.prefix ?? "haolin_t_"}${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const onServer = async (statement: string, unlessExists = false) => {
    const admin = postgres(base, { max: 1, onnotice: () => {} });
    try {
      if (unlessExists && (await admin`select 1 from pg_database where datname = ${name}`).length > 0) return;
      await admin.unsafe(statement);
    } finally {
      await admin.end();
    }
  };
  await onServer(`create database ${name}`, Boolean(opts.name));
  const url = new URL(base);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), poolSize: opts.poolSize ?? 10 });
  await migrateDatabase(database, url.toString(), opts.migrationsFolder);
  return {
    ...database,
    url: url.toString(),
    name,
    close: async () => {
      await database.close();
      if (!opts.keep) await onServer(`drop database if exists ${name} with (force)`);
    },
  };
}

/**
 * The migrated PGlite data directory the test run's set-up made (test/helpers/services.ts), read once per test
 * process; none outside vitest or on PostgreSQL.
 */
let template: Promise<Blob | null> | undefined;
function pgliteTemplate(): Promise<Blob | null> {
  template ??= (async () => {
    if (!process.env.VITEST) return null;
    const { inject } = await import("vitest");
    const file = inject("pgliteTemplate");
    return file ? new Blob([await readFile(file)]) : null;
  })();
  return template;
}

/** `migrationsFolder`: migrate with another set of migrations (an older schema, for a migration's own test). */
export async function createTestDatabase(migrationsFolder?: string): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL;
  if (base) return scratchPostgres(base, { migrationsFolder });
  // The current schema on PGlite: a copy of the database the run migrated once.
  const migrated = migrationsFolder ? null : await pgliteTemplate();
  if (migrated) return openDatabase({ loadDataDir: migrated });
  const database = await openDatabase({});
  await migrateDatabase(database, undefined, migrationsFolder);
  return database;
}
