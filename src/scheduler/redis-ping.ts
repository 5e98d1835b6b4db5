/** One PING over a short-lived connection: does Redis answer now? Used by the start-up wait (src/lib/wait-for.ts). */
import { Redis } from "ioredis";

export async function pingRedis(url: string, timeoutMs = 3000): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Without retries connect() rejects with only "Connection is closed."; the socket's own error says why.
  let cause: unknown;
  redis.on("error", (err) => {
    cause ??= err;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw cause ?? err;
  } finally {
    redis.disconnect();
  }
}

/** Errors waiting cannot fix: a missing or wrong password. */
export function isPermanentRedisError(err: unknown): boolean {
  return err instanceof Error && /^(NOAUTH|WRONGPASS)\b/.test(err.message);
}
