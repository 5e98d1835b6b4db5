/**
 * A case left 调解中: once it has stayed at one level for `STALE_DAYS` days with nothing recorded, the leaders of that
 * level (the first with leaders, a vacant one skipped) are reminded privately, once per stay at a level: the reminder
 * is keyed by the case's version (`mediation-stale-<id>-v<version>-<person>`) and marked by a `reminded` event with
 * that version in the same transaction, so a rerun, a second replica or a flushed Redis never repeats it; after
 * 调解不成 hands it up, the next level gets its own reminder if it too lets it lie. The 事由 goes only privately.
 */
import { and, eq, lte, sql } from "drizzle-orm";
import { mediationEvents, mediations } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import { queueMessage } from "../outbox.js";
import { deliverAfterQuietHours } from "../policy.js";
import { loadLadder, nextPlacement } from "../tickets.js";
import { staleText } from "./words.js";

export const STALE_DAYS = 14;
const DAY_MS = 24 * 3600_000;
/** Cases taken per run (the next run takes the rest). */
const BATCH = 200;

export async function runMediationReminders(ctx: Ctx): Promise<{ reminded: number }> {
  const due = await ctx.db
    .select()
    .from(mediations)
    .where(
      and(
        eq(mediations.status, "mediating"),
        lte(mediations.updatedAt, new Date(ctx.now.getTime() - STALE_DAYS * DAY_MS)),
        sql`not exists (select 1 from ${mediationEvents} e where e.mediation_id = ${mediations.id} and e.kind = 'reminded'
              and (e.data ->> 'version')::int = ${mediations.version})`,
      ),
    )
    .orderBy(mediations.id)
    .limit(BATCH)
    // A concurrent run skips the cases this one holds; it finds them reminded once this one commits.
    .for("update", { skipLocked: true });
  let reminded = 0;
  for (const m of due) {
    const ladder = await loadLadder(ctx, m.holderUnitId);
    const place = nextPlacement(ladder, null);
    const leaders = place?.leaders ?? [];
    const notBefore = deliverAfterQuietHours(ladder.policy, ctx.now);
    const text = staleText(m, ctx.now);
    for (const l of leaders) {
      await queueMessage(ctx, { dedupeKey: `mediation-stale-${m.id}-v${m.version}-${l.id}`, to: { personId: l.id }, kind: "reminder", payload: { text, mentions: [] }, notBefore });
    }
    await ctx.db.insert(mediationEvents).values({
      mediationId: m.id,
      at: ctx.now,
      actorId: null,
      kind: "reminded",
      fromStatus: m.status,
      toStatus: m.status,
      level: m.level,
      data: { version: m.version, personIds: leaders.map((l) => l.id) },
    });
    reminded += leaders.length;
  }
  return { reminded };
}
