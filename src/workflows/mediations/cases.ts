/**
 * 矛盾调解: a leader (every 邻长 is a 矛盾调解员, one of the 七员; so is every leader above) opens a case, mediates it at
 * their level, and records 调解成功 or 调解不成. 调解不成 below the top hands the case one level up the town's ladder,
 * as a ticket goes (a vacant level is skipped); at the top it ends as 调解不成. Each change is one transaction with its
 * mediation_events line. Who may see a case: the leaders of the level holding it and of every level above (and the
 * admin), and the one who opened it; only the former may act on it.
 */
import { and, desc, eq, inArray, or, sql } from "drizzle-orm";
import { mediationEvents, type MediationEventKind, type MediationStatus, mediations } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import { canLead, type Chat, getPerson, type Leader, type Person } from "../directory.js";
import { loadLadder, nextPlacement } from "../tickets.js";
import { queueMessage } from "../outbox.js";
import { subtreeUnitIds } from "../visits/scope.js";
import { handedUpText, outcomeText } from "./words.js";

export type Mediation = typeof mediations.$inferSelect;

export type MediationRefusal =
  | { ok: false; reason: "not_found"; id: number }
  | { ok: false; reason: "closed"; mediation: Mediation }
  /** The opener, after the case went up: another level mediates it now. */
  | { ok: false; reason: "handed_up"; mediation: Mediation };

export type MediationChange = {
  ok: true;
  mediation: Mediation;
  /** settled: 已调解; escalated: handed to `leaders` one level up; failed: 调解不成 at the top. */
  outcome: "settled" | "escalated" | "failed";
  from: Mediation["level"];
  leaders: Leader[];
  opener: Person | null;
  /** What the actor typed: the agreement (调解成功) or why it failed (调解不成). */
  words: string;
};

export async function getMediation(ctx: Pick<Ctx, "db">, id: number, lock = false): Promise<Mediation | null> {
  if (!Number.isInteger(id) || id <= 0 || id > 2 ** 31 - 1) return null;
  const q = ctx.db.select().from(mediations).where(eq(mediations.id, id)).limit(1);
  const [m] = lock ? await q.for("update") : await q;
  return m ?? null;
}

async function record(
  ctx: Ctx,
  m: Mediation,
  e: { kind: MediationEventKind; actorId: string | null; toStatus: MediationStatus; text?: string | null; data?: Record<string, unknown> },
): Promise<void> {
  await ctx.db.insert(mediationEvents).values({
    mediationId: m.id,
    at: ctx.now,
    actorId: e.actorId,
    kind: e.kind,
    fromStatus: e.kind === "opened" ? null : m.status,
    toStatus: e.toStatus,
    level: m.level,
    text: e.text ?? null,
    data: e.data ?? null,
  });
}

/**
 * A new case. Where it arose: the group's unit when the group is within the opener's reach (a 村干部 in 一组's chat),
 * else the opener's own unit. The opener's level mediates it first.
 */
export async function openMediation(ctx: Ctx, opener: Person, chat: Chat | null, summary: string): Promise<Mediation> {
  const reach = chat ? new Set(await subtreeUnitIds(ctx.db, opener.unitId)) : new Set<string>();
  const unitId = chat && reach.has(chat.unitId) ? chat.unitId : opener.unitId;
  const ladder = await loadLadder(ctx, unitId);
  const holder = ladder.path.find((u) => u.id === opener.unitId) ?? ladder.path[0];
  if (!holder) throw new Error(`openMediation: unknown unit ${unitId}`);
  const [m] = await ctx.db
    .insert(mediations)
    .values({
      openerId: opener.id,
      unitId,
      holderUnitId: holder.id,
      level: holder.kind,
      chatId: chat?.id ?? null,
      summary,
      createdAt: ctx.now,
      updatedAt: ctx.now,
    })
    .returning();
  if (!m) throw new Error("openMediation: no row");
  await record(ctx, m, { kind: "opened", actorId: opener.id, toStatus: "mediating", text: summary, data: { unitId, holderUnitId: holder.id } });
  return m;
}

/** The case, locked, if this person may act on it (a leader of its holding level or above); else why not. */
async function forAction(ctx: Ctx, person: Person, id: number): Promise<Mediation | MediationRefusal> {
  const m = await getMediation(ctx, id, true);
  if (!m) return { ok: false, reason: "not_found", id };
  const acts = canLead(person, (await loadLadder(ctx, m.holderUnitId)).path);
  // Someone who may not see it learns nothing, not even that it exists.
  if (!acts) return person.id === m.openerId ? { ok: false, reason: "handed_up", mediation: m } : { ok: false, reason: "not_found", id };
  if (m.status !== "mediating") return { ok: false, reason: "closed", mediation: m };
  return m;
}

const isRefusal = (x: Mediation | MediationRefusal): x is MediationRefusal => "ok" in x;

const openerOf = (ctx: Ctx, m: Mediation) => getPerson(ctx.db, m.openerId);

async function change(ctx: Ctx, m: Mediation, set: Partial<typeof mediations.$inferInsert>): Promise<Mediation> {
  const [row] = await ctx.db
    .update(mediations)
    .set({ ...set, version: sql`${mediations.version} + 1`, updatedAt: ctx.now })
    .where(eq(mediations.id, m.id))
    .returning();
  if (!row) throw new Error(`mediation ${m.id} vanished`);
  return row;
}

/**
 * Privately, after a change: each leader of the level a case went up to gets it whole, and its opener, when someone
 * else acted, hears what became of it. Keys carry the case's version: one message per change, however retried.
 */
async function tellPrivately(ctx: Ctx, c: MediationChange, actor: Person): Promise<void> {
  const m = c.mediation;
  const key = `mediation-${m.id}-v${m.version}`;
  const openerName = c.opener?.name ?? "";
  for (const leader of c.leaders.filter((l) => l.id !== actor.id)) {
    await queueMessage(ctx, {
      dedupeKey: `${key}-dm-${leader.id}`,
      to: { personId: leader.id },
      kind: "notice",
      payload: { text: handedUpText(m, { from: c.from, reason: c.words, opener: openerName, now: ctx.now }), mentions: [] },
    });
  }
  if (c.opener && c.opener.id !== actor.id && !c.leaders.some((l) => l.id === c.opener?.id)) {
    await queueMessage(ctx, {
      dedupeKey: `${key}-opener`,
      to: { personId: c.opener.id },
      kind: "notice",
      payload: { text: outcomeText(m, { outcome: c.outcome, by: actor.name, leaders: c.leaders.map((l) => l.name), mine: false }), mentions: [] },
    });
  }
}

/** 调解成功 #5 <结果>: 已调解. */
export async function settleMediation(ctx: Ctx, person: Person, id: number, result: string): Promise<MediationChange | MediationRefusal> {
  const m = await forAction(ctx, person, id);
  if (isRefusal(m)) return m;
  const updated = await change(ctx, m, { status: "settled", result, closedAt: ctx.now });
  await record(ctx, m, { kind: "settled", actorId: person.id, toStatus: "settled", text: result });
  const done: MediationChange = { ok: true, mediation: updated, outcome: "settled", from: m.level, leaders: [], opener: await openerOf(ctx, m), words: result };
  await tellPrivately(ctx, done, person);
  return done;
}

/** 调解不成 #5 <原因>: one level up the ladder, or at the top the end (调解不成). */
export async function failMediation(ctx: Ctx, person: Person, id: number, reason: string): Promise<MediationChange | MediationRefusal> {
  const m = await forAction(ctx, person, id);
  if (isRefusal(m)) return m;
  const ladder = await loadLadder(ctx, m.unitId);
  const next = nextPlacement(ladder, m.level);
  const opener = await openerOf(ctx, m);
  if (!next) {
    const updated = await change(ctx, m, { status: "failed", result: reason, closedAt: ctx.now });
    await record(ctx, m, { kind: "failed", actorId: person.id, toStatus: "failed", text: reason });
    const done: MediationChange = { ok: true, mediation: updated, outcome: "failed", from: m.level, leaders: [], opener, words: reason };
    await tellPrivately(ctx, done, person);
    return done;
  }
  const updated = await change(ctx, m, {
    holderUnitId: next.unit.id,
    level: next.unit.kind,
    escalationCount: m.escalationCount + 1,
  });
  await record(ctx, m, {
    kind: "escalated",
    actorId: person.id,
    toStatus: "mediating",
    text: reason,
    data: { from: m.level, to: next.unit.kind, unitId: next.unit.id },
  });
  const done: MediationChange = { ok: true, mediation: updated, outcome: "escalated", from: m.level, leaders: next.leaders, opener, words: reason };
  await tellPrivately(ctx, done, person);
  return done;
}

/** The open cases a leader answers for (held by their unit or below), and the ones they opened; newest first. */
export async function mediationsFor(ctx: Ctx, person: Person, limit = 20): Promise<Mediation[]> {
  const open = eq(mediations.status, "mediating");
  if (person.role === "admin") return ctx.db.select().from(mediations).where(open).orderBy(desc(mediations.id)).limit(limit);
  const below = await subtreeUnitIds(ctx.db, person.unitId);
  return ctx.db
    .select()
    .from(mediations)
    .where(and(open, or(inArray(mediations.holderUnitId, below), eq(mediations.openerId, person.id))))
    .orderBy(desc(mediations.id))
    .limit(limit);
}
