/**
 * The pipeline's way out for a message that can never succeed (see cannotSucceed): a row in dead_letters with its
 * ids as received, one log line without its text, and a short apology as its answer — instead of an error the
 * platform would answer by delivering it again, for ever.
 */
import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import { deadLetters } from "../db/schema/index.js";
import { errInfo } from "../lib/errors.js";
import { replies } from "./replies.js";
import type { HandleResult, IncomingMessage } from "./types.js";

/** A string as a JSON string literal's inside: a NUL or lone surrogate becomes `\u0000` / `\ud800`, storable anywhere. */
export const escapedId = (s: string) => JSON.stringify(s).slice(1, -1);

export async function deadLetter(db: Db, logger: Logger, msg: IncomingMessage, err: unknown): Promise<HandleResult> {
  const { err: name, code } = errInfo(err);
  const row = {
    platform: msg.platform,
    messageId: escapedId(msg.messageId),
    chatExternalId: msg.chatExternalId === null ? null : escapedId(msg.chatExternalId),
    senderExternalId: escapedId(msg.senderExternalId),
    textLength: msg.text.length,
    error: `${name.split(":")[0]}${code ? ` ${code}` : ""}`,
  };
  const inserted = await db.insert(deadLetters).values(row).onConflictDoNothing().returning({ at: deadLetters.at });
  const first = inserted.length > 0;
  logger.warn(
    { platform: row.platform, messageId: row.messageId, textLength: row.textLength, error: row.error, first },
    "message dead-lettered: it cannot be handled, so it is answered with an apology",
  );
  return { replies: [replies.cannotHandle()], duplicate: !first };
}
