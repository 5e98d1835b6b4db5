/** 已传达 #3: a recipient confirms they passed the notice on to their households (one transaction with its 台账 line). */
import { and, count, eq, isNotNull, isNull } from "drizzle-orm";
import { circularEvents, circularRecipients, circulars } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import type { Person } from "../directory.js";
import type { Circular } from "./send.js";

export type ConfirmOutcome =
  | { ok: true; circular: Circular; confirmed: number; total: number }
  | { ok: false; reason: "not_found"; id: number }
  | { ok: false; reason: "not_recipient"; circular: Circular }
  | { ok: false; reason: "already"; circular: Circular; at: Date };

export async function getCircular(ctx: Pick<Ctx, "db">, id: number): Promise<Circular | null> {
  if (!Number.isInteger(id) || id <= 0 || id > 2 ** 31 - 1) return null;
  const [c] = await ctx.db.select().from(circulars).where(eq(circulars.id, id)).limit(1);
  return c ?? null;
}

export async function confirmCircular(ctx: Ctx, person: Person, id: number): Promise<ConfirmOutcome> {
  const circular = await getCircular(ctx, id);
  if (!circular) return { ok: false, reason: "not_found", id };
  const mine = and(eq(circularRecipients.circularId, id), eq(circularRecipients.personId, person.id));
  const [row] = await ctx.db.select().from(circularRecipients).where(mine);
  if (!row) return { ok: false, reason: "not_recipient", circular };
  // Only the first confirmation counts: a second one (or a concurrent one) finds it set.
  const [set] = await ctx.db
    .update(circularRecipients)
    .set({ confirmedAt: ctx.now })
    .where(and(mine, isNull(circularRecipients.confirmedAt)))
    .returning();
  if (!set) {
    const [again] = await ctx.db.select().from(circularRecipients).where(mine);
    return { ok: false, reason: "already", circular, at: again?.confirmedAt ?? ctx.now };
  }
  await ctx.db.insert(circularEvents).values({ circularId: id, at: ctx.now, actorId: person.id, kind: "confirmed" });
  const [all] = await ctx.db.select({ n: count() }).from(circularRecipients).where(eq(circularRecipients.circularId, id));
  const [yes] = await ctx.db
    .select({ n: count() })
    .from(circularRecipients)
    .where(and(eq(circularRecipients.circularId, id), isNotNull(circularRecipients.confirmedAt)));
  return { ok: true, circular, confirmed: Number(yes?.n ?? 0), total: Number(all?.n ?? 0) };
}
