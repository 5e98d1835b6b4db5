/**
 * Runs once before the tests: the real services the tests need must be there. A missing service fails the run
 * (no test is skipped for it). Redis is always required; PostgreSQL when DATABASE_URL is set (else PGlite).
 */
import { Redis } from "ioredis";
import postgres from "postgres";

export default async function checkServices() {
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
  }
}
