/**
 * What of an error may go into a log line. Database errors from drizzle carry the failed query and its parameters
 * in their message (ticket text, notes, phones), so only the name and the driver's error code are kept for them.
 */
export function errInfo(err: unknown): { err: string; code?: string } {
  if (!(err instanceof Error)) return { err: typeof err };
  const own = (err as unknown as { code?: unknown; cause?: { code?: unknown } });
  const raw = own.cause?.code ?? own.code;
  const code = typeof raw === "string" ? raw : undefined;
  if (err.name === "DrizzleQueryError" || err.message.startsWith("Failed query")) return { err: err.name, code };
  // Driver errors (postgres.js, ioredis) describe the failure, not the data; keep them short.
  return { err: `${err.name}: ${err.message.slice(0, 200)}`, code };
}
