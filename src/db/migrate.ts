/**
 * Applies the committed drizzle-kit migrations. On PostgreSQL the whole run is one transaction that first takes a
 * transaction-level advisory lock, so replicas that boot at the same moment migrate one after the other. A
 * session-level lock would not do behind a transaction pooler (DATABASE_POOLER=transaction): it stays with the server
 * connection that took it, the unlock lands on another one, and the next replica waits for ever. COMMIT or ROLLBACK
 * always releases this one.
 */
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import type { Database } from "./client.js";

export const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));
/** Arbitrary but fixed: "haolin" in ASCII. */
const MIGRATION_LOCK_KEY = 0x68616f6c696e;

export async function migratePostgresUrl(url: string, folder = migrationsFolder): Promise<void> {
  // No prepared statements (a handful of statements, once): the same client works behind any pooler.
  const client = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  try {
    await client.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
      await migratePostgres(drizzlePostgres(inTransaction(tx, client)), { migrationsFolder: folder });
    });
  } finally {
    await client.end({ timeout: 5 });
  }
}

/**
 * The transaction as a client whose `begin(fn)` runs `fn` in that same transaction: drizzle's migrator opens its
 * own transaction for the migrations, and here they must run inside the one that holds the lock. `options` (where
 * drizzle sets its type parsers) is the client's, which the transaction's connection reads.
 */
function inTransaction(tx: postgres.TransactionSql, client: postgres.Sql): postgres.Sql {
  return new Proxy(tx, {
    get(target, prop) {
      if (prop === "begin") return (...args: unknown[]) => (args[args.length - 1] as (sql: postgres.TransactionSql) => unknown)(target);
      if (prop === "options") return client.options;
      return Reflect.get(target, prop);
    },
  }) as unknown as postgres.Sql;
}

/** `folder`: another set of migrations (a test that starts from an older schema). */
export async function migrateDatabase(database: Database, url?: string, folder = migrationsFolder): Promise<void> {
  if (database.kind === "postgres") {
    if (!url) throw new Error("migrateDatabase: a PostgreSQL database needs its URL");
    await migratePostgresUrl(url, folder);
    return;
  }
  // PGlite is single-process: no lock needed. Reach the client through drizzle's session.
  const client = (database.db as unknown as { $client: PGlite }).$client;
  await migratePglite(drizzlePglite(client), { migrationsFolder: folder });
}
