/**
 * Runs once before the tests: the real services the tests need must be there. A missing service fails the run
 * (no test is skipped for it). Redis is always required; PostgreSQL when DATABASE_URL is set (else PGlite).
 *
 * On PGlite it also makes, once, the migrated data directory every test database starts from (test/helpers/db.ts):
 * a new PGlite runs initdb and then the migrations, seconds of CPU per database; loading the dump takes a fraction of
 * that, and a test file's set-up no longer grows with the machine's load past its hook limit.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { Redis } from "ioredis";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { openDatabase } from "../../src/db/client.js";
import { migrateDatabase } from "../../src/db/migrate.js";

declare module "vitest" {
  interface ProvidedContext {
    /** A file holding a migrated PGlite data directory (dumpDataDir), when the tests run on PGlite. */
    pgliteTemplate: string;
  }
}

export default async function checkServices(project: TestProject) {
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`测试需要 Redis：无法连接 ${redisUrl}（${(err as Error).message}）。请先启动 Redis，或设置 REDIS_URL。`);
  } finally {
    redis.disconnect();
  }
  const dbUrl = process.env.DATABASE_URL;
  if (dbUrl) {
    const sql = postgres(dbUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
    try {
      await sql`select 1`;
    } catch (err) {
      throw new Error(`DATABASE_URL 已设置，但无法连接 PostgreSQL：${(err as Error).message}`);
    } finally {
      await sql.end({ timeout: 1 });
    }
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), "haolin-pglite-"));
  const file = path.join(dir, "migrated.tar");
  const database = await openDatabase({});
  try {
    await migrateDatabase(database);
    const dump = await (database.db as unknown as { $client: PGlite }).$client.dumpDataDir("none");
    writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  } finally {
    await database.close();
  }
  project.provide("pgliteTemplate", file);
  return () => rmSync(dir, { recursive: true, force: true });
}
