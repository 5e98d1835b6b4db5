/**
 * Weekly digests and monthly reports: who gets what, when, exactly once.
 *
 * A periodic task (every 5 minutes, a BullMQ job scheduler in production, croner in embedded mode) looks at each
 * town: once the week's slot has passed (default Friday 08:00 Asia/Shanghai, per town in its settings) it computes
 * the digests of the town's chats that do not have one yet with grouped SQL aggregates, and writes one outbox row
 * per chat with the dedupe key `digest-<chatId>-<isoWeek>`; each row is then one delivery job (`out-<id>`).
 * The unique key makes it exactly once per chat and week whatever runs it (two replicas, a retry, a restart, a late
 * catch-up until the week's end). Only chats registered before the slot are included, so a chat added after it
 * gets its first digest the next week. Monthly reports work the same way on the report day (default the 28th),
 * privately to each village's 村干部 (their village) and each 镇干部 (the whole town), key
 * `report-<personId>-<yyyy-mm>`.
 */
import { and, inArray } from "drizzle-orm";
import type { Db } from "../../db/client.js";
import { chats, outbox, people } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import { type Chat, isActive } from "../directory.js";
import { queueMessage, queueMessages } from "../outbox.js";
import { type Policy, policyFor } from "../policy.js";
import { coverageByUnit } from "./coverage.js";
import { formatMonthlyReport, formatWeeklyDigest } from "./format.js";
import { monthlyFigures } from "./monthly.js";
import { monthlySlot, trailingWeek, type Window, weeklySlot } from "./period.js";
import { UnitTree } from "./tree.js";
import { type WeeklyFigures, weeklyFigures } from "./weekly.js";

export { UnitTree };

/** Figures of chats (one town's, or any with the same clocks) for a window, with visit coverage. */
export async function digestFigures(
  db: Db,
  list: Pick<Chat, "id" | "unitId">[],
  window: Window,
  asOf: Date,
  policy: Policy,
): Promise<Map<string, WeeklyFigures>> {
  const figures = await weeklyFigures(
    db,
    list.map((c) => ({ chatId: c.id, unitId: c.unitId })),
    { window, asOf, answerMs: policy.answerMs, resolveMs: policy.resolveMs },
  );
  const coverage = await coverageByUnit(db, [...new Set(list.map((c) => c.unitId))], asOf, window);
  for (const f of figures.values()) f.coverage = coverage.get(f.unitId) ?? null;
  return figures;
}

export const digestKey = (chatId: string, week: string) => `digest-${chatId}-${week}`;

export type FanOut = { towns: number; queued: number; existing: number };

/**
 * Queue this week's digest for every chat whose town's slot has passed (idempotent; see the module comment). Towns
 * whose digests share a window and clocks (the default policy's, typically all of them) are computed together: the
 * figure queries then read each table once for a province, not once per town.
 */
export async function fanOutWeeklyDigests(ctx: Ctx): Promise<FanOut> {
  const tree = await UnitTree.load(ctx.db);
  const all = await ctx.db.select().from(chats);
  const result: FanOut = { towns: 0, queued: 0, existing: 0 };
  const groups = new Map<string, { week: string; slot: Date; window: Window; policy: Policy; todo: typeof all }>();
  const chatsOf = new Map<string, typeof all>();
  for (const c of all) {
    const town = tree.townOf(c.unitId)?.id;
    if (!town || c.status !== "active") continue;
    const list = chatsOf.get(town);
    if (list) list.push(c);
    else chatsOf.set(town, [c]);
  }
  for (const town of tree.towns()) {
    const policy = policyFor(town.settings, ctx.overrides);
    const { week, slot, window } = weeklySlot(ctx.now, policy.digest.weekday, policy.digest.minutes);
    if (ctx.now.getTime() < slot.getTime()) continue;
    result.towns += 1;
    const mine = (chatsOf.get(town.id) ?? []).filter((c) => c.createdAt.getTime() <= slot.getTime());
    if (mine.length === 0) continue;
    const done = new Set<string>();
    for (let i = 0; i < mine.length; i += 1000) {
      const keys = mine.slice(i, i + 1000).map((c) => digestKey(c.id, week));
      for (const r of await ctx.db.select({ k: outbox.dedupeKey }).from(outbox).where(inArray(outbox.dedupeKey, keys))) done.add(r.k);
    }
    const todo = mine.filter((c) => !done.has(digestKey(c.id, week)));
    result.existing += mine.length - todo.length;
    if (todo.length === 0) continue;
    const key = JSON.stringify([slot, window, policy.answerMs, policy.resolveMs]);
    const group = groups.get(key);
    if (group) group.todo.push(...todo);
    else groups.set(key, { week, slot, window, policy, todo });
  }
  for (const { week, slot, window, policy, todo } of groups.values()) {
    const figures = await digestFigures(ctx.db, todo, window, slot, policy);
    const queued = await queueMessages(
      ctx,
      todo.map((c) => ({
        dedupeKey: digestKey(c.id, week),
        to: { chatId: c.id },
        kind: "digest" as const,
        payload: { text: formatWeeklyDigest(figures.get(c.id) as WeeklyFigures, tree.name(c.unitId)), mentions: [], format: "markdown" as const },
        notBefore: ctx.now,
      })),
    );
    result.queued += queued;
    result.existing += todo.length - queued;
  }
  return result;
}

/** 周报 on demand in a chat: the same digest over the 7 full days before today. */
export async function digestForChat(ctx: Ctx, chat: Pick<Chat, "id" | "unitId">): Promise<string> {
  const tree = await UnitTree.loadPath(ctx.db, chat.unitId);
  const policy = tree.policy(chat.unitId, ctx.overrides);
  const figures = await digestFigures(ctx.db, [chat], trailingWeek(ctx.now), ctx.now, policy);
  return formatWeeklyDigest(figures.get(chat.id) as WeeklyFigures, tree.name(chat.unitId), "近 7 天");
}

export const reportKey = (personId: string, month: string) => `report-${personId}-${month}`;

/** Queue this month's 民情分析 report to each village and town leader once the town's report day has come. */
export async function fanOutMonthlyReports(ctx: Ctx): Promise<FanOut> {
  const tree = await UnitTree.load(ctx.db);
  const result: FanOut = { towns: 0, queued: 0, existing: 0 };
  for (const town of tree.towns()) {
    const policy = policyFor(town.settings, ctx.overrides);
    const { month, slot, window, previous } = monthlySlot(ctx.now, policy.digest.monthDay, policy.digest.minutes);
    if (ctx.now.getTime() < slot.getTime()) continue;
    result.towns += 1;
    const leaders = await ctx.db
      .select()
      .from(people)
      .where(and(inArray(people.role, ["village_official", "town_official"]), isActive));
    const mine = leaders.filter((p) => tree.townOf(p.unitId)?.id === town.id);
    const keys = mine.map((p) => reportKey(p.id, month));
    const done = new Set(
      keys.length ? (await ctx.db.select({ k: outbox.dedupeKey }).from(outbox).where(inArray(outbox.dedupeKey, keys))).map((r) => r.k) : [],
    );
    const texts = new Map<string, string>();
    for (const p of mine) {
      if (done.has(reportKey(p.id, month))) {
        result.existing += 1;
        continue;
      }
      let text = texts.get(p.unitId);
      if (!text) {
        const m = await monthlyFigures(ctx.db, p.unitId, { window, previous, asOf: slot, answerMs: policy.answerMs });
        text = formatMonthlyReport(m, tree.name(p.unitId), policy.answerMs);
        texts.set(p.unitId, text);
      }
      const queued = await queueMessage(ctx, {
        dedupeKey: reportKey(p.id, month),
        to: { personId: p.id },
        kind: "report",
        payload: { text, mentions: [], format: "markdown" },
        notBefore: ctx.now,
      });
      if (queued) result.queued += 1;
      else result.existing += 1;
    }
  }
  return result;
}

/** How often the digest tasks look at the clock (6-field cron, Asia/Shanghai). */
export const DIGEST_TICK = "0 */5 * * * *";
