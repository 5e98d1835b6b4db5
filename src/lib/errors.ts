/**
 * What of an error may go into a log line. Database errors from drizzle carry the failed query and its parameters
 * in their message (ticket text, notes, phones), so only the name and the driver's error code are kept for them.
 */
/** A database error whose message holds the query and its parameters: never printed as it is. */
export function isQueryError(err: unknown): boolean {
  return err instanceof Error && (err.name === "DrizzleQueryError" || err.message.startsWith("Failed query"));
}

export function errInfo(err: unknown): { err: string; code?: string } {
  if (!(err instanceof Error)) return { err: typeof err };
  const own = (err as unknown as { code?: unknown; cause?: { code?: unknown } });
  const raw = own.cause?.code ?? own.code;
  const code = typeof raw === "string" ? raw : undefined;
  if (isQueryError(err)) return { err: err.name, code };
  // Driver errors (postgres.js, ioredis) describe the failure, not the data; keep them short.
  return { err: `${err.name}: ${err.message.slice(0, 200)}`, code };
}

/**
 * SQLSTATE classes and codes that say the data itself was refused, so the same input fails the same way every time:
 * 22 data exception (22P05 NUL in jsonb, 22021 bad encoding, 22003 out of range, 22P02 bad text representation),
 * 54 program limit exceeded (54000 index row too large), 23502 not-null and 23514 check violation. Connection and
 * availability failures (08, 53, 57, postgres.js' CONNECT_TIMEOUT …), serialization failures and deadlocks (40)
 * and everything unknown are worth retrying.
 */
const DATA_CLASSES = ["22", "54"];
const DATA_CODES = ["23502", "23514"];

/** True when retrying the same input cannot succeed (see DATA_CLASSES); such a message is dead-lettered. */
export function cannotSucceed(err: unknown): boolean {
  const { code } = errInfo(err);
  if (code && /^[0-9A-Z]{5}$/.test(code)) return DATA_CLASSES.includes(code.slice(0, 2)) || DATA_CODES.includes(code);
  // A JavaScript RangeError (an invalid Date, a too-long string) comes from the input, not from an outage.
  return err instanceof RangeError;
}
