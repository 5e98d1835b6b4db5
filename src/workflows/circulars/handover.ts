/**
 * A leader handed over (src/workflows/roster/handover.ts): the notices they had not yet confirmed passing on are the
 * successor's to pass on. The recipient row moves to the successor (the 传达率 keeps counting the same 邻), its
 * reminder is owed afresh (the three days have usually passed: the next run reminds the successor once, key
 * `circular-remind-<id>-<successor>`), and the notice's 台账 says so. A notice the successor was asked about already
 * stays theirs alone; one the outgoing leader confirmed stays confirmed by them.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import { circularEvents, circularRecipients } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import type { Person } from "../directory.js";

export async function handOverCirculars(ctx: Ctx, from: Person, to: Person, actorId: string | null): Promise<number[]> {
  const moved = await ctx.db
    .update(circularRecipients)
    .set({ personId: to.id, remindedAt: null })
    .where(
      and(
        eq(circularRecipients.personId, from.id),
        isNull(circularRecipients.confirmedAt),
        sql`not exists (select 1 from circular_recipients o where o.circular_id = ${circularRecipients.circularId} and o.person_id = ${to.id})`,
      ),
    )
    .returning({ circularId: circularRecipients.circularId });
  const ids = moved.map((m) => m.circularId).sort((a, b) => a - b);
  if (ids.length) {
    await ctx.db
      .insert(circularEvents)
      .values(ids.map((circularId) => ({ circularId, at: ctx.now, actorId, kind: "handed_over" as const, data: { personId: to.id, from: from.id } })));
  }
  return ids;
}
