/**
 * 好邻 recognition (履职评议机制: good 邻长 are honoured as "好邻" 标兵). On the monthly report day each village gets its
 * 好邻 list of the month — the top scorers of the report's scorecards, with their figures — kept in
 * good_neighbor_lists (the dashboard's history) and posted to the village's group chats through the outbox
 * (`good-<chatId>-<yyyy-mm>`). Made once per village and month: the row is the marker, every tick is idempotent.
 */
import { readFile } from "node:fs/promises";
import { and, desc, eq, inArray } from "drizzle-orm";
import { parse } from "yaml";
import { z } from "zod";
import { chats, type GoodNeighborEntry, goodNeighborLists, media } from "../db/schema/index.js";
import { type PosterInput, renderPoster } from "../lib/poster.js";
import { cleanImage } from "./media/image.js";
import { formatDurationZh } from "../lib/duration.js";
import { localDayStart } from "../lib/time.js";
import type { Ctx } from "./context.js";
import { UnitTree } from "./digests/index.js";
import { type Scorecard, scorecards } from "./digests/monthly.js";
import { monthOf, monthlySlot, type Window, windowLabel } from "./digests/period.js";
import { queueMessage } from "./outbox.js";
import { policyFor } from "./policy.js";
import { loadLadder } from "./tickets.js";

/** Up to this many on a list (more only when tied with the last), each scoring at least MIN_SCORE. */
export const GOOD_NEIGHBOR_COUNT = 3;
export const GOOD_NEIGHBOR_MIN_SCORE = 80;
const MAX_WITH_TIES = 5;

/** The month's 好邻 of a village from its scorecards: best score first, then more tickets, then the name. */
export function pickGoodNeighbors(cards: Scorecard[]): GoodNeighborEntry[] {
  const ranked = cards
    .filter((c): c is Scorecard & { score: number } => c.score !== null && c.score >= GOOD_NEIGHBOR_MIN_SCORE)
    .sort((a, b) => b.score - a.score || b.tickets - a.tickets || a.name.localeCompare(b.name, "zh"));
  const cut = ranked[GOOD_NEIGHBOR_COUNT - 1]?.score;
  const picked = ranked.filter((c, i) => i < GOOD_NEIGHBOR_COUNT || (c.score === cut && i < MAX_WITH_TIES));
  return picked.map((c) => ({
    personId: c.personId,
    name: c.name,
    unitName: c.unitName,
    score: c.score,
    tickets: c.tickets,
    answeredInTime: c.answeredInTime,
    answerDecided: c.answerDecided,
    satisfied: c.satisfied,
    rated: c.rated,
    visited: c.visits?.visited ?? null,
    visitsDue: c.visits?.due ?? null,
  }));
}

const frac = (n: number, d: number | null) => (d ? `${n}/${d}` : "—");

/** The village group's message: leaders' names and figures only (nothing about a resident). */
export function goodNeighborText(a: { villageName: string; month: string; window: { from: Date; to: Date }; answerMs: number; entries: GoodNeighborEntry[] }): string {
  const monthNo = Number(a.month.slice(5));
  const lines = [`🏅 ${a.villageName} · ${monthNo}月好邻（${windowLabel(a.window)}）`];
  a.entries.forEach((e, i) => {
    lines.push(
      `${i + 1}. ${e.name}（${e.unitName}）综合 ${e.score} 分 · ${formatDurationZh(a.answerMs)}内答复 ${frac(e.answeredInTime, e.answerDecided)} · 满意 ${frac(e.satisfied, e.rated)} · 走访按时 ${frac(e.visited ?? 0, e.visitsDue)}`,
    );
  });
  lines.push("感谢各位邻长为乡亲们跑腿办事！评分办法见看板“履职评议”。");
  return lines.join("\n");
}

export type GoodNeighborFanOut = { villages: number; made: number; queued: number; existing: number; posters: number };

/** What a village's poster of a month shows (the same words as the list). */
export function posterInput(villageName: string, month: string, window: Window, answerMs: number, entries: GoodNeighborEntry[]): PosterInput {
  return {
    title: `${villageName} · ${Number(month.slice(5))}月好邻`,
    subtitle: `邻长履职评议 ${windowLabel(window)}`,
    people: entries.map((e) => ({
      name: e.name,
      unit: e.unitName,
      score: e.score,
      lines: [
        `${formatDurationZh(answerMs)}内答复 ${frac(e.answeredInTime, e.answerDecided)} · 满意 ${frac(e.satisfied, e.rated)}`,
        `走访按时 ${frac(e.visited ?? 0, e.visitsDue)} · 经办工单 ${e.tickets} 件`,
      ],
    })),
    footer: "微事不出邻 · 小事不出组 · 大事不出村 · 难事不出镇",
  };
}

/** The poster of a stored list (the dashboard draws past months again from their rows). */
export async function posterOfList(ctx: Ctx, list: { month: string; villageId: string; villageName: string; entries: GoodNeighborEntry[] }): Promise<Buffer> {
  const { policy } = await loadLadder(ctx, list.villageId);
  const [y, m] = list.month.split("-").map(Number) as [number, number];
  const { window } = monthlySlot(localDayStart(y, m, 15), policy.digest.monthDay, policy.digest.minutes);
  return renderPoster(posterInput(list.villageName, list.month, window, policy.answerMs, list.entries));
}

/**
 * The month's poster, rendered (src/lib/poster.ts) and kept as a `media` row; its sha256, or null when it could not
 * be drawn (the list still goes out as text).
 */
async function storePoster(
  ctx: Ctx,
  villageName: string,
  month: string,
  window: { from: Date; to: Date },
  answerMs: number,
  entries: GoodNeighborEntry[],
): Promise<string | null> {
  try {
    const png = renderPoster(posterInput(villageName, month, window, answerMs, entries));
    const clean = await cleanImage(png);
    if ("rejected" in clean) return null;
    const { sha256, mime, width, height, data, thumb } = clean;
    await ctx.db.insert(media).values({ sha256, mime, width, height, size: data.length, data, thumb, createdAt: ctx.now }).onConflictDoNothing();
    return sha256;
  } catch {
    return null;
  }
}

/** On each town's report day (and after, until next month's): each village's list once, posted to its chats. */
export async function fanOutGoodNeighbors(ctx: Ctx): Promise<GoodNeighborFanOut> {
  const tree = await UnitTree.load(ctx.db);
  const out: GoodNeighborFanOut = { villages: 0, made: 0, queued: 0, existing: 0, posters: 0 };
  for (const town of tree.towns()) {
    const policy = policyFor(town.settings, ctx.overrides);
    const { month, slot, window } = monthlySlot(ctx.now, policy.digest.monthDay, policy.digest.minutes);
    if (ctx.now.getTime() < slot.getTime()) continue;
    const villages = tree.children(town.id).filter((u) => u.kind === "village");
    if (villages.length === 0) continue;
    out.villages += villages.length;
    const done = new Set(
      (
        await ctx.db
          .select({ v: goodNeighborLists.villageId })
          .from(goodNeighborLists)
          .where(and(eq(goodNeighborLists.month, month), inArray(goodNeighborLists.villageId, villages.map((v) => v.id))))
      ).map((r) => r.v),
    );
    for (const village of villages) {
      if (done.has(village.id)) {
        out.existing += 1;
        continue;
      }
      const cards = await scorecards(ctx.db, village.id, { window, asOf: slot, answerMs: policy.answerMs });
      const entries = pickGoodNeighbors(cards);
      const [made] = await ctx.db
        .insert(goodNeighborLists)
        .values({ month, villageId: village.id, entries, createdAt: ctx.now })
        .onConflictDoNothing()
        .returning();
      if (!made) {
        out.existing += 1;
        continue;
      }
      out.made += 1;
      if (entries.length === 0) continue;
      const text = goodNeighborText({ villageName: village.name, month, window, answerMs: policy.answerMs, entries });
      const groups = await ctx.db.select().from(chats).where(and(eq(chats.unitId, village.id), eq(chats.status, "active")));
      const poster = groups.length ? await storePoster(ctx, village.name, month, window, policy.answerMs, entries) : null;
      if (poster) out.posters += 1;
      for (const chat of groups) {
        const queued = await queueMessage(ctx, {
          dedupeKey: `good-${chat.id}-${month}`,
          to: { chatId: chat.id },
          kind: "notice",
          payload: { text, mentions: [] },
        });
        if (queued) out.queued += 1;
        // The poster follows the list as its own message (a picture on WeCom and DingTalk).
        if (poster)
          await queueMessage(ctx, {
            dedupeKey: `good-poster-${chat.id}-${month}`,
            to: { chatId: chat.id },
            kind: "notice",
            payload: { text: `🏅 ${village.name} ${Number(month.slice(5))}月好邻海报`, mentions: [], image: { sha256: poster } },
          });
      }
    }
  }
  return out;
}

/**
 * `好邻榜`: the latest 好邻 list of the village a unit belongs to (a chat's, or in a single chat the sender's own), or
 * null when none has been made yet.
 */
export async function latestGoodNeighbors(ctx: Ctx, unitId: string): Promise<{ villageName: string; text: string | null }> {
  const ladder = await loadLadder(ctx, unitId);
  const village = ladder.path.find((u) => u.kind === "village");
  if (!village) return { villageName: ladder.path[0]?.name ?? "", text: null };
  const [row] = await ctx.db
    .select()
    .from(goodNeighborLists)
    .where(eq(goodNeighborLists.villageId, village.id))
    .orderBy(desc(goodNeighborLists.month))
    .limit(1);
  if (!row || row.entries.length === 0) return { villageName: village.name, text: null };
  const policy = ladder.policy;
  const [y, m] = row.month.split("-").map(Number) as [number, number];
  const { window } = monthlySlot(localDayStart(y, m, 15), policy.digest.monthDay, policy.digest.minutes);
  return { villageName: village.name, text: goodNeighborText({ villageName: village.name, month: row.month, window, answerMs: policy.answerMs, entries: row.entries }) };
}

/** The demo's 好邻 lists (demo/good-neighbors.yaml), kept as last month's; a list already there is left alone. */
export async function loadDemoGoodNeighbors(ctx: Ctx, file: string): Promise<number> {
  const lists = z
    .array(z.object({ village: z.string(), entries: z.array(z.custom<GoodNeighborEntry>((v) => typeof v === "object" && v !== null)) }))
    .parse(parse(await readFile(file, "utf8")));
  const last = monthOf(monthOf(ctx.now).previous.from).key;
  const rows = await ctx.db
    .insert(goodNeighborLists)
    .values(lists.map((l) => ({ month: last, villageId: l.village, entries: l.entries, createdAt: ctx.now })))
    .onConflictDoNothing()
    .returning();
  return rows.length;
}
