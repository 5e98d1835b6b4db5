/**
 * The monthly 民情分析: its figures for a known set of tickets, and the fan-out writing one outbox row per village
 * and town official with its dedupe key — a second run writes nothing new. Clock injected, tickets opened through
 * the simulator at chosen moments.
 */
import { eq, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox, tickets } from "../src/db/schema/index.js";
import { fanOutMonthlyReports } from "../src/workflows/digests/index.js";
import { monthlyFigures } from "../src/workflows/digests/monthly.js";
import { createHarness, type Harness } from "./helpers/harness.js";

const H = 3_600_000;
/** Local Asia/Shanghai time. */
const sh = (local: string) => new Date(`${local}+08:00`);
let h: Harness;
let now = sh("2026-02-10T10:00:00");
beforeAll(async () => {
  h = await createHarness({ clock: () => now, start: false });
});
afterAll(async () => {
  await h.close();
});

const report = async (chat: string, user: string, text: string) => {
  const id = Number(/#(\d+)/.exec((await h.say(chat, user, `报事 ${text}`)).text)?.[1]);
  expect(id).toBeGreaterThan(0);
  return id;
};

// The report of month 2026-03 covers 28 Feb 00:00 → 28 Mar 00:00 local; the previous one 28 Jan → 28 Feb.
const window = { from: sh("2026-02-28T00:00:00"), to: sh("2026-03-28T00:00:00") };
const previous = { from: sh("2026-01-28T00:00:00"), to: sh("2026-02-28T00:00:00") };

describe("monthly 民情分析", () => {
  let lamp: string;
  it("figures: totals against the previous month, hot 组, repeated issues per 邻", async () => {
    await report("c1", "r1", "村口路灯坏了"); // previous month, 一邻
    now = sh("2026-03-05T10:00:00");
    const a = await report("c1", "r1", "村口路灯坏了");
    now = sh("2026-03-12T10:00:00");
    await report("c1", "r1", "村口路灯又坏了");
    now = sh("2026-03-20T10:00:00");
    await report("c2", "r3", "村口路灯坏了");
    now = sh("2026-03-29T10:00:00"); // after the window: not counted
    await report("c2", "r3", "村口路灯坏了");
    const [first] = await h.db.select().from(tickets).where(eq(tickets.id, a));
    lamp = first?.category as string;
    expect(first?.unitId).toBe("n1");

    const m = await monthlyFigures(h.db, "t", { window, previous, asOf: window.to, answerMs: 4 * H });
    expect(m.total).toBe(3);
    expect(m.previousTotal).toBe(1);
    expect(m.categories.reduce((s, c) => s + c.count, 0)).toBe(3);
    expect(m.hotGroups).toEqual([
      { unitId: "g1", name: "东村一组", count: 2 },
      { unitId: "g2", name: "东村二组", count: 1 },
    ]);
    expect(m.repeated).toEqual([{ unitId: "n1", name: "一邻", category: lamp, count: 2 }]);
    expect(m.reachedTown).toEqual([]);
    // 一邻's 邻长 has the two tickets of the window, none answered, both past the 4-hour clock.
    expect(m.scorecards.find((c) => c.personId === "nl1")).toMatchObject({ tickets: 2, answerDecided: 2, answeredInTime: 0 });
    // A subtree counts only its own: 东村二组 has one ticket in the window.
    const g2 = await monthlyFigures(h.db, "g2", { window, previous, asOf: window.to, answerMs: 4 * H });
    expect(g2.total).toBe(1);
    expect(g2.previousTotal).toBe(0);
  });

  it("fan-out: nothing before the report day, then one row per official with its key, and a second run adds nothing", async () => {
    now = sh("2026-03-28T07:59:00"); // the report goes out at 08:00 local on the 28th
    expect(await h.runtime.transact((ctx) => fanOutMonthlyReports(ctx))).toEqual({ towns: 0, queued: 0, existing: 0 });
    expect(await h.db.select().from(outbox).where(like(outbox.dedupeKey, "report-%"))).toEqual([]);

    now = sh("2026-03-28T08:00:00");
    expect(await h.runtime.transact((ctx) => fanOutMonthlyReports(ctx))).toEqual({ towns: 1, queued: 3, existing: 0 });
    const rows = await h.db.select().from(outbox).where(like(outbox.dedupeKey, "report-%"));
    expect(rows.map((r) => [r.dedupeKey, r.personId, r.kind]).sort()).toEqual([
      ["report-to1-2026-03", "to1", "report"],
      ["report-vo1-2026-03", "vo1", "report"],
      ["report-vo2-2026-03", "vo2", "report"],
    ]);
    for (const r of rows) {
      expect(r.chatId).toBeNull();
      expect(r.payload.text).toContain("民情分析");
    }
    // The two village officials read the same village report.
    const vo1 = rows.find((r) => r.personId === "vo1");
    expect(rows.find((r) => r.personId === "vo2")?.payload.text).toBe(vo1?.payload.text);

    now = sh("2026-03-28T08:05:00");
    expect(await h.runtime.transact((ctx) => fanOutMonthlyReports(ctx))).toEqual({ towns: 1, queued: 0, existing: 3 });
    expect(await h.db.select().from(outbox).where(like(outbox.dedupeKey, "report-%"))).toHaveLength(3);
  });
});
