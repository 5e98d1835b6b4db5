/**
 * Applies the committed drizzle-kit migrations. On PostgreSQL it holds an advisory lock on a dedicated
 * connection, so replicas that boot at the same moment migrate one after the other.
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

export async function migratePostgresUrl(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migratePostgres(drizzlePostgres(client), { migrationsFolder });
    } finally {
      await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}

export async function migrateDatabase(database: Database, url?: string): Promise<void> {
  if (database.kind === "postgres") {
    if (!url) throw new Error("migrateDatabase: a PostgreSQL database needs its URL");
    await migratePostgresUrl(url);
    return;
  }
  // PGlite is single-process: no lock needed. Reach the client through drizzle's session.
  const client = (database.db as unknown as { $client: PGlite }).$client;
  await migratePglite(drizzlePglite(client), { migrationsFolder });
}
