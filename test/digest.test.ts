/** Weekly digest: Asia/Shanghai week boundaries, the 三率 on hand-built data, privacy, and 周报 on demand. */
import { eq } from "drizzle-orm";
import { handleIncoming } from "../src/bot/pipeline.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chats, outbox, ticketEvents, tickets } from "../src/db/schema/index.js";
import { personalIn } from "./helpers/personal-oracle.js";
import { Effects } from "../src/workflows/effects.js";
import { fanOutWeeklyDigests } from "../src/workflows/digests/index.js";
import { formatWeeklyDigest, pct } from "../src/workflows/digests/format.js";
import { isoWeek, monthlySlot, trailingWeek, weeklySlot } from "../src/workflows/digests/period.js";
import { weeklyFigures } from "../src/workflows/digests/weekly.js";
import { policyFor } from "../src/workflows/policy.js";
import { createHarness, type Harness } from "./helpers/harness.js";

const at = (iso: string) => new Date(iso);
const H = 3_600_000;
const M = 60_000;

describe("calendar in Asia/Shanghai", () => {
  it("ISO weeks turn at local Monday 00:00, not UTC", () => {
    expect(isoWeek(at("2026-03-01T15:59:59.999Z")).key).toBe("2026-W09"); // Sunday 23:59 local
    expect(isoWeek(at("2026-03-01T16:00:00Z")).key).toBe("2026-W10"); // Monday 00:00 local, still Sunday in UTC
    expect(isoWeek(at("2026-03-01T16:00:00Z")).start.toISOString()).toBe("2026-03-01T16:00:00.000Z");
    expect(isoWeek(at("2025-12-28T16:00:00Z")).key).toBe("2026-W01"); // Monday 29 Dec 2025 belongs to 2026
    expect(isoWeek(at("2027-01-02T12:00:00Z")).key).toBe("2026-W53"); // Saturday 2 Jan 2027
    expect(isoWeek(at("2027-01-03T16:00:00Z")).key).toBe("2027-W01");
  });

  it("the weekly slot is Friday 08:00 local and reports the 7 full days before Friday", () => {
    const p = policyFor({});
    expect(p.digest).toEqual({ weekday: 5, minutes: 480, monthDay: 28 });
    const s = weeklySlot(at("2026-03-04T03:00:00Z"), p.digest.weekday, p.digest.minutes);
    expect(s.week).toBe("2026-W10");
    expect(s.slot.toISOString()).toBe("2026-03-06T00:00:00.000Z");
    expect(s.window.from.toISOString()).toBe("2026-02-26T16:00:00.000Z");
    expect(s.window.to.toISOString()).toBe("2026-03-05T16:00:00.000Z");
    // A town may choose another day and time.
    const q = policyFor({ digestWeekday: 1, digestTime: "18:30" });
    expect(weeklySlot(at("2026-03-04T03:00:00Z"), q.digest.weekday, q.digest.minutes).slot.toISOString()).toBe("2026-03-02T10:30:00.000Z");
    // On demand, 近 7 天: the 7 local days ending with today (01:00 on 6 March local), today included.
    const w = trailingWeek(at("2026-03-05T17:00:00Z"));
    expect(w.from.toISOString()).toBe("2026-02-27T16:00:00.000Z");
    expect(w.to.toISOString()).toBe("2026-03-06T16:00:00.000Z");
  });

  it("the monthly report runs from the 28th to the 28th, local midnight, across the year end", () => {
    const m = monthlySlot(at("2026-03-10T00:00:00Z"), 28, 480);
    expect(m.month).toBe("2026-03");
    expect(m.slot.toISOString()).toBe("2026-03-28T00:00:00.000Z");
    expect(m.window.from.toISOString()).toBe("2026-02-27T16:00:00.000Z");
    expect(m.window.to.toISOString()).toBe("2026-03-27T16:00:00.000Z");
    expect(m.previous.from.toISOString()).toBe("2026-01-27T16:00:00.000Z");
    const jan = monthlySlot(at("2026-12-31T16:30:00Z"), 28, 480); // 1 Jan 2027 00:30 local
    expect(jan.month).toBe("2027-01");
    expect(jan.window.from.toISOString()).toBe("2026-12-27T16:00:00.000Z");
  });

  it("percentages say what they are made of", () => {
    expect(pct(1, 3)).toBe("33%（1/3）");
    expect(pct(0, 0)).toBe("—");
  });
});

/** Hand-built tickets with their events (the 台账), at exact instants. */
async function seed(h: Harness, rows: { t: Partial<typeof tickets.$inferInsert> & { unitId: string; createdAt: Date }; events: [string, Date, string | null, string?][] }[]) {
  const ids: number[] = [];
  for (const { t, events } of rows) {
    const [row] = await h.db
      .insert(tickets)
      .values({
        holderUnitId: t.unitId,
        level: "neighborhood",
        category: "基础设施",
        text: "路灯坏了，联系电话 19900000101，东村一组1号孤寡老人",
        status: "open",
        updatedAt: t.createdAt,
        ...t,
      })
      .returning();
    const id = row?.id as number;
    ids.push(id);
    for (const [kind, when, actor, level] of events)
      await h.db.insert(ticketEvents).values({ ticketId: id, at: when, kind: kind as "opened", actorId: actor, level: (level ?? "neighborhood") as "group" });
  }
  return ids;
}

describe("weekly figures on hand-built data", () => {
  let h: Harness;
  const slot = at("2026-03-06T00:00:00Z"); // Friday 08:00 local
  const from = at("2026-02-26T16:00:00Z");
  const to = at("2026-03-05T16:00:00Z");
  const plus = (d: Date, ms: number) => new Date(d.getTime() + ms);
  let T: Record<string, number> = {};

  beforeAll(async () => {
    h = await createHarness({ clock: () => plus(slot, 5 * M) });
    const [t1, t2, t3, t4, t5, t6, t8] = await seed(h, [
      {
        // in at the window's first instant; answered in 1 h, resolved, rated 满意
        t: { unitId: "n1", createdAt: from, firstAnsweredAt: plus(from, H), resolvedAt: plus(from, 2 * H), closedAt: plus(from, 3 * H), status: "closed", rating: "satisfied" },
        events: [["opened", from, "r1"], ["claimed", plus(from, H), "nl1"], ["resolved", plus(from, 2 * H), "nl1"], ["rated", plus(from, 3 * H), "r1"]],
      },
      { t: { unitId: "n1", createdAt: plus(to, -1) }, events: [["opened", plus(to, -1), "r1"]] }, // last instant in, never answered
      {
        // 二邻 (no 邻长): late answer after climbing to the village, resolved there
        t: { unitId: "n2", holderUnitId: "v", level: "village", createdAt: plus(from, 24 * H), firstAnsweredAt: plus(from, 29 * H), resolvedAt: plus(from, 48 * H), status: "resolved", escalationCount: 2 },
        events: [
          ["opened", plus(from, 24 * H), "r2", "group"],
          ["escalated", plus(from, 28 * H), null, "village"],
          ["claimed", plus(from, 29 * H), "vo1", "village"],
          ["resolved", plus(from, 48 * H), "vo1", "village"],
        ],
      },
      {
        // opened 1 ms before the window: not new; answered in 10 min, resolved and reopened (不满意) inside it
        t: { unitId: "n1", createdAt: plus(from, -1), firstAnsweredAt: plus(from, 10 * M), status: "open", rating: "unsatisfied", reopenCount: 1 },
        events: [["opened", plus(from, -1), "r1"], ["claimed", plus(from, 10 * M), "nl1"], ["resolved", plus(from, H), "nl1"], ["reopened", plus(from, 2 * H), "r1"]],
      },
      { t: { unitId: "n1", createdAt: to }, events: [["opened", to, "r1"]] }, // Friday 00:00 local: next week's
      {
        t: { unitId: "n3", createdAt: plus(from, 48 * H), firstAnsweredAt: plus(from, 48 * H + 10 * M), status: "answered" },
        events: [["opened", plus(from, 48 * H), "r3"], ["claimed", plus(from, 48 * H + 10 * M), "nl3"]],
      },
      {
        // resolved 10 days ago and never rated: closed without the reporter's confirmation
        t: { unitId: "n1", createdAt: plus(from, -20 * 24 * H), firstAnsweredAt: plus(from, -20 * 24 * H + H), resolvedAt: plus(from, -10 * 24 * H), status: "resolved" },
        events: [],
      },
    ]);
    T = { t1, t2, t3, t4, t5, t6, t8 } as Record<string, number>;
  });
  afterAll(async () => {
    await h.close();
  });

  const params = (asOf: Date) => ({ window: { from, to }, asOf, answerMs: 4 * H, resolveMs: 72 * H });

  it("counts the group chat's subtree (一组: 一邻 and 二邻) with exact week boundaries", async () => {
    const f = (await weeklyFigures(h.db, [{ chatId: "c1", unitId: "g1" }], params(slot))).get("c1");
    expect(f).toMatchObject({
      created: 3, // T1, T2, T3 — not T4 (1 ms early) nor T5 (Friday 00:00)
      answerDecided: 3,
      answeredInTime: 1, // only T1; T3 took 5 h, T2 never answered
      resolvedOfNew: 2,
      resolved: 3, // 办结 events in the week: T1, T3, T4
      escalated: { village: 1 },
      rated: 2,
      satisfied: 1,
      reopened: 1,
      unconfirmed: 1, // T8
    });
    expect(f?.overdue.count).toBe(3); // T4 (reopened, answered > 72 h ago), T2 and T5 (unanswered > 4 h)
    expect(f?.overdue.oldest.map((o) => o.id)).toEqual([T.t4, T.t2, T.t5]);
    expect(f?.overdue.oldest[1]).toMatchObject({ level: "neighborhood", holders: ["王邻长"], ageMs: 8 * H + 1 });
    expect(f?.stars).toEqual([{ personId: "nl1", name: "王邻长", role: "neighbor_leader", answered: 2, inTime: 2, fastestMs: 10 * M + 1 }]);
  });

  it("keeps chats apart and rolls the village chat up over both groups", async () => {
    const all = await weeklyFigures(
      h.db,
      [
        { chatId: "c1", unitId: "g1" },
        { chatId: "c2", unitId: "g2" },
        { chatId: "cv", unitId: "v" },
      ],
      params(slot),
    );
    expect(all.get("c2")).toMatchObject({ created: 1, answeredInTime: 1, resolvedOfNew: 0, rated: 0 });
    // answered in 10 min but not resolved 72 h later: overdue, held by its 邻长
    expect(all.get("c2")?.overdue).toEqual({ count: 1, oldest: [{ id: T.t6, level: "neighborhood", category: "基础设施", ageMs: 5 * 24 * H + 8 * H, holders: ["吴邻长"] }] });
    expect(all.get("c2")?.stars.map((s) => s.name)).toEqual(["吴邻长"]);
    expect(all.get("cv")).toMatchObject({ created: 4, answerDecided: 4, answeredInTime: 2, resolvedOfNew: 2, resolved: 3, rated: 2 });
    expect(all.get("cv")?.stars.map((s) => [s.name, s.inTime])).toEqual([
      ["王邻长", 2],
      ["吴邻长", 1],
    ]);
  });

  it("the same figures whether the queries name the chats' units or read every unit's rows (a province's fan-out)", async () => {
    const chats = [
      { chatId: "c1", unitId: "g1" },
      { chatId: "c2", unitId: "g2" },
      { chatId: "cv", unitId: "v" },
      { chatId: "cn", unitId: "n1" },
    ];
    for (const asOf of [slot, to]) {
      const named = await weeklyFigures(h.db, chats, params(asOf));
      const everyUnit = await weeklyFigures(h.db, chats, { ...params(asOf), namedUnits: 0 });
      expect(everyUnit).toEqual(named);
      expect(named.get("cv")?.created).toBe(4);
    }
  });

  it("a clock that has not run out is not counted against the 响应率", async () => {
    const f = (await weeklyFigures(h.db, [{ chatId: "c1", unitId: "g1" }], params(to))).get("c1");
    expect(f).toMatchObject({ created: 3, answerDecided: 2, answeredInTime: 1 });
  });

  it("formats a concise digest with names only: no phone, address, household name or tag", async () => {
    const f = (await weeklyFigures(h.db, [{ chatId: "c1", unitId: "g1" }], params(slot))).get("c1");
    if (!f) throw new Error("no figures");
    const text = formatWeeklyDigest(f, "东村一组");
    expect(text).toContain("东村一组 · 周报（2月27日—3月5日）");
    expect(text).toContain("响应率 33%（1/3）｜解决率 67%（2/3）｜满意率 50%（1/2）");
    expect(text).toContain("上报 1 件（村 1）");
    expect(text).toContain(`#${T.t2} 基础设施 · 邻级 · 已 8小时 · 王邻长`);
    expect(text).toContain("重开 1 件｜办结未经报事人确认 1 件");
    expect(text).toContain("本周好邻：王邻长");
    expect(personalIn(text), text).toEqual([]);
    for (const secret of ["19900000101", "东村一组1号", "孤寡老人", "李一", "周四", "赵二", "路灯坏了"]) expect(text).not.toContain(secret);
    expect(Buffer.byteLength(text)).toBeLessThan(2048);
  });

  it("fans out one digest per registered chat once the slot has passed, and never twice", async () => {
    await h.db.update(chats).set({ createdAt: at("2026-01-01T00:00:00Z") });
    const run = (now: Date) => h.db.transaction((db) => fanOutWeeklyDigests({ db, now, effects: new Effects(), overrides: {} }));
    expect((await run(plus(slot, -M))).queued).toBe(0); // Friday 07:59
    // A chat registered after the slot waits for next week.
    await h.db.insert(chats).values({ id: "cnew", platform: "sim", externalId: "cnew", unitId: "g2", name: "新群", createdAt: plus(slot, H) });
    expect(await run(plus(slot, 2 * H))).toMatchObject({ queued: 3, existing: 0 });
    expect(await run(plus(slot, 3 * H))).toMatchObject({ queued: 0, existing: 3 });
    const rows = await h.db.select().from(outbox).where(eq(outbox.kind, "digest"));
    expect(rows.map((r) => r.dedupeKey).sort()).toEqual(["digest-c1-2026-W10", "digest-c2-2026-W10", "digest-cv-2026-W10"]);
    expect(rows.find((r) => r.chatId === "c1")?.payload.text).toContain("响应率 33%（1/3）");
    // coverage from the visits workflow: 一组 has 3 households, 1 special (孤寡老人), none visited; counts only
    expect(rows.find((r) => r.chatId === "c1")?.payload.text).toContain("走访覆盖：同期走访 0 次、联系 0 次｜特殊户 0%（0/1）｜全部 0%（0/3）");
    for (const r of rows) expect(personalIn(r.payload.text), r.payload.text).toEqual([]);
    expect(await run(plus(slot, 7 * 24 * H))).toMatchObject({ queued: 4 }); // next Friday, the new chat too
  });
});

describe("周报 on demand", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("posts the digest of the last 7 days in the chat, to anyone there", async () => {
    const r = await h.say("c1", "r1", "周报");
    expect(r.text).toContain("东村一组 · 周报");
    expect(r.text).toContain("响应率");
    expect(r.text).toContain("走访覆盖");
  });

  it("says 近 7 天 with its dates, counting today's reports and visits over the same days", async () => {
    for (let i = 0; i < 11; i++) await h.say("c2", "r3", `报事 三组水沟堵了第${i + 1}处`);
    await h.say("c2", "nl3", "走访 孙三 身体好");
    const r = await h.say("c2", "r3", "周报");
    const today = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", month: "numeric", day: "numeric" }).format(h.runtime.clock());
    // "3/6" → "3月6日": the window's last day is today.
    const [m, d] = today.split("/");
    expect(r.text).toMatch(new RegExp(`周报（近 7 天：\\d+月\\d+日—${m}月${d}日）`, "u"));
    expect(r.text).toContain("新增 11 件");
    expect(r.text).toContain("同期走访 1 次");
  });

  it("in a direct chat it says where to ask instead, and posts no figures", async () => {
    // The simulator only has group chats; a direct message is what every adapter hands the pipeline: no chat id.
    const direct = await handleIncoming(h.runtime.pipeline, {
      platform: "sim",
      messageId: "digest-direct-1",
      chatExternalId: null,
      senderExternalId: "nl1",
      text: "周报",
      receivedAt: h.runtime.clock(),
    });
    expect(direct.replies.map((r) => r.text)).toEqual(["请在村、组群里发「周报」，查看本群所在单位近 7 天的统计。"]);
  });
});
