/**
 * The reminder three days on: everyone who has not confirmed a notice by its `remindAt` gets one private reminder.
 * Run by a periodic task; PostgreSQL is the truth (a recipient is marked reminded in the same transaction that
 * queues the message, dedupe key `circular-remind-<id>-<person>`), so a flushed Redis, a second replica or a rerun
 * can delay a reminder by one tick but never send it twice or lose it.
 */
import { and, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import { circularEvents, circularRecipients, circulars, people } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import { isActive } from "../directory.js";
import { queueMessage } from "../outbox.js";
import { deliverAfterQuietHours, type Policy } from "../policy.js";
import { loadLadder } from "../tickets.js";
import { reminderText } from "./words.js";

/** Reminders queued per run (the next tick takes the rest). */
const BATCH = 500;

export const reminderKey = (circularId: number, personId: string) => `circular-remind-${circularId}-${personId}`;

export async function runCircularReminders(ctx: Ctx): Promise<{ reminded: number }> {
  const due = await ctx.db
    .select({ circularId: circularRecipients.circularId, personId: circularRecipients.personId })
    .from(circularRecipients)
    .innerJoin(circulars, eq(circulars.id, circularRecipients.circularId))
    // Someone deactivated since (停用) is nobody's recipient any more.
    .innerJoin(people, and(eq(people.id, circularRecipients.personId), isActive))
    .where(and(isNull(circularRecipients.confirmedAt), isNull(circularRecipients.remindedAt), lte(circulars.remindAt, ctx.now)))
    .orderBy(circularRecipients.circularId, circularRecipients.personId)
    .limit(BATCH);
  if (due.length === 0) return { reminded: 0 };
  // Claimed by this transaction: a concurrent run waits on these rows and then finds them reminded.
  const pairs = sql.join(
    due.map((d) => sql`(${d.circularId}::int, ${d.personId}::text)`),
    sql`, `,
  );
  const claimed = await ctx.db
    .update(circularRecipients)
    .set({ remindedAt: ctx.now })
    .where(
      and(
        sql`(${circularRecipients.circularId}, ${circularRecipients.personId}) in (${pairs})`,
        isNull(circularRecipients.remindedAt),
        isNull(circularRecipients.confirmedAt),
      ),
    )
    .returning({ circularId: circularRecipients.circularId, personId: circularRecipients.personId });
  if (claimed.length === 0) return { reminded: 0 };

  const ids = [...new Set(claimed.map((c) => c.circularId))];
  const notices = new Map((await ctx.db.select().from(circulars).where(inArray(circulars.id, ids))).map((c) => [c.id, c]));
  const policies = new Map<string, Policy>();
  for (const c of notices.values()) if (!policies.has(c.unitId)) policies.set(c.unitId, (await loadLadder(ctx, c.unitId)).policy);
  for (const r of claimed) {
    const c = notices.get(r.circularId);
    if (!c) continue;
    await queueMessage(ctx, {
      dedupeKey: reminderKey(c.id, r.personId),
      to: { personId: r.personId },
      kind: "reminder",
      payload: { text: reminderText({ id: c.id, title: c.title, body: c.body, sentAt: c.createdAt, now: ctx.now }), mentions: [] },
      notBefore: deliverAfterQuietHours(policies.get(c.unitId) as Policy, ctx.now),
    });
  }
  await ctx.db
    .insert(circularEvents)
    .values(claimed.map((r) => ({ circularId: r.circularId, at: ctx.now, actorId: null, kind: "reminded" as const, data: { personId: r.personId } })));
  return { reminded: claimed.length };
}
