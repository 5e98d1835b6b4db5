/**
 * The outbox: every outgoing message is a row written in the transaction that caused it. Delivery happens after
 * commit (src/workflows/delivery.ts); a dedupe key per cause means a retried cause never queues a message twice.
 */
import { outbox, type OutboxPayload } from "../db/schema/index.js";
import { guardGroupMessage } from "../lib/privacy.js";
import type { Ctx } from "./context.js";

export type OutboxKind = (typeof outbox.$inferInsert)["kind"];
export type QueueMessage = {
  dedupeKey: string;
  to: { chatId: string } | { personId: string };
  kind: OutboxKind;
  payload: OutboxPayload;
  notBefore?: Date;
};

/**
 * Queue a message in the current transaction. Returns false when the same dedupe key was queued before.
 * A message for a group passes the privacy guard once more: the renderers put person-typed text through forGroup,
 * and this net catches what a future renderer might forget (it cannot mend a cut made before masking).
 */
export async function queueMessage(ctx: Ctx, msg: QueueMessage): Promise<boolean> {
  const values = outboxValues(ctx.now, msg);
  const [row] = await ctx.db.insert(outbox).values(values).onConflictDoNothing({ target: outbox.dedupeKey }).returning({ id: outbox.id });
  if (!row) return false;
  ctx.effects.outbox.push({ id: row.id, notBefore: values.notBefore });
  return true;
}

/** The outbox row of a message queued at `now` (also written many at once, see applyEscalations). */
export function outboxValues(now: Date, msg: QueueMessage) {
  const notBefore = msg.notBefore ?? now;
  const payload = "chatId" in msg.to ? { ...msg.payload, text: guardGroupMessage(msg.payload.text) } : msg.payload;
  return {
    dedupeKey: msg.dedupeKey,
    chatId: "chatId" in msg.to ? msg.to.chatId : null,
    personId: "personId" in msg.to ? msg.to.personId : null,
    kind: msg.kind,
    payload,
    notBefore,
    createdAt: now,
  };
}

/** Rows per insert: nine bound parameters each, and PostgreSQL takes at most 65,535 in a statement. */
const ROWS_PER_INSERT = 1000;

/**
 * Queue many messages (a digest fan-out) with one insert per thousand, as `queueMessage` does one. Returns how many
 * were new (the others' dedupe keys were queued before).
 */
export async function queueMessages(ctx: Ctx, msgs: QueueMessage[]): Promise<number> {
  let queued = 0;
  for (let i = 0; i < msgs.length; i += ROWS_PER_INSERT) {
    const inserted = await ctx.db
      .insert(outbox)
      .values(msgs.slice(i, i + ROWS_PER_INSERT).map((msg) => outboxValues(ctx.now, msg)))
      .onConflictDoNothing({ target: outbox.dedupeKey })
      .returning({ id: outbox.id, notBefore: outbox.notBefore });
    for (const row of inserted) ctx.effects.outbox.push({ id: row.id, notBefore: row.notBefore });
    queued += inserted.length;
  }
  return queued;
}
