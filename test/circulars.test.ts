/**
 * 政策传达 through the simulator pipeline on a real database: a 通知 from a village official reaches every group of the
 * village once (through the outbox, whatever is redelivered), the 邻长 confirm with 已传达, the 传达率 follows, and
 * whoever has not confirmed three days on is reminded privately exactly once (injected clock; the reminder task run
 * as the scheduler runs it, also by two replicas at once). Privacy is judged by the oracle, never by the masker.
 */
import { asc, eq, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleIncoming } from "../src/bot/pipeline.js";
import { chats, circularEvents, circularRecipients, circulars, outbox, people, units } from "../src/db/schema/index.js";
import { relayRates } from "../src/workflows/circulars/rates.js";
import { circularTasks } from "../src/workflows/circulars/tasks.js";
import { leaderCookie, page } from "./helpers/dashboard.js";
import { createHarness, type Harness, waitFor } from "./helpers/harness.js";
import { adminDashboard } from "./helpers/photos.js";
import { leaks, personalIn, type Secret } from "./helpers/personal-oracle.js";

const sh = (local: string) => new Date(`${local}+08:00`);
let now = sh("2026-04-01T10:00:00");
const clock = () => now;

const PHONE = "13812345678";
const ROOM = "18栋2单元301室";
const SECRETS: Secret[] = [
  { kind: "number", value: PHONE },
  { kind: "word", value: ROOM },
  { kind: "word", value: "低保" },
];
const NOTICE = `通知 秋季森林防火\n即日起禁止野外用火。\n有疑问打 ${PHONE}，或到${ROOM}找王会计（低保户申请另行通知）。`;

let h: Harness;
let seq = 0;
/** A private message to the bot (no chat), as WeCom's single chat or DingTalk's 1:1 would bring it. */
const direct = (userId: string, text: string, messageId = `dm-${++seq}`) =>
  handleIncoming(h.runtime.pipeline, { platform: "sim", messageId, chatExternalId: null, senderExternalId: userId, text, receivedAt: now });
const groupRows = () => h.db.select().from(outbox).where(like(outbox.dedupeKey, "circular-1-%")).orderBy(asc(outbox.chatId));
const botLines = async (chatId: string) => (await h.chatLog(chatId)).filter((m) => m.from === "bot").map((m) => m.text);
const reminderTask = circularTasks.find((t) => t.id === "circular-reminders");

beforeAll(async () => {
  h = await createHarness({ clock });
});
afterAll(async () => {
  await h.close();
});

describe("通知: one notice, once per group", () => {
  it("a village official's notice goes to every group of the village, each once, and the official is told how far", async () => {
    const r = await direct("vo1", NOTICE, "notice-1");
    expect(r.replies[0]?.text).toContain("通知 #1「秋季森林防火」已发往 3 个群，3 位负责人需要确认传达");
    // A redelivery of the same message (same id) creates nothing again.
    const again = await direct("vo1", NOTICE, "notice-1");
    expect(again.duplicate).toBe(true);
    expect(await h.db.select().from(circulars)).toHaveLength(1);

    const rows = await groupRows();
    expect(rows.map((r) => r.chatId)).toEqual(["c1", "c2", "cv"]);
    expect(rows.every((r) => r.kind === "notice" && r.personId === null)).toBe(true);
    // Delivered through the outbox: each group's log shows the notice exactly once.
    for (const chat of ["c1", "c2", "cv"]) {
      const lines = await waitFor(async () => {
        const got = (await botLines(chat)).filter((t) => t.includes("通知 #1"));
        return got.length ? got : null;
      });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("📢 通知 #1：秋季森林防火");
      expect(lines[0]).toContain("即日起禁止野外用火。\n");
      expect(lines[0]).toContain("—— 东村 陈村干（村干部）");
      expect(lines[0]).toContain("转告后发「已传达 #1」");
    }
    await waitFor(async () => (await groupRows()).every((r) => r.status === "sent"));
  });

  it("nothing personal in the notice reaches a group: every group-bound row and line, judged by the oracle", async () => {
    const texts = [...(await groupRows()).map((r) => r.payload.text)];
    for (const chat of ["c1", "c2", "cv"]) texts.push(...(await botLines(chat)));
    expect(texts.length).toBeGreaterThanOrEqual(6);
    for (const t of texts) {
      expect(leaks(t, SECRETS), t).toEqual([]);
      expect(personalIn(t), t).toEqual([]);
    }
  });

  it("the recipients are the 邻长 below, and the 组长 for a vacant 邻; the 台账 has the sending", async () => {
    const rows = await h.db.select().from(circularRecipients).orderBy(asc(circularRecipients.personId));
    expect(rows.map((r) => [r.personId, r.unitId])).toEqual([
      ["gl1", "g1"],
      ["nl1", "n1"],
      ["nl3", "n3"],
    ]);
    const [sent] = await h.db.select().from(circularEvents).where(eq(circularEvents.kind, "sent"));
    expect(sent).toMatchObject({ circularId: 1, actorId: "vo1", at: now });
  });

  it("only a village or town official may send one; a 邻长 is told who can, and nothing is queued", async () => {
    const before = (await h.db.select().from(outbox)).length;
    const r = await h.say("c1", "nl1", "通知 明天停水");
    expect(r.text).toBe("通知由村、镇干部发布。有要传达的事，请告诉村干部。");
    expect(await h.db.select().from(circulars)).toHaveLength(1);
    expect((await h.db.select().from(outbox)).length).toBe(before);
    // 通知 as an everyday word, glued to what follows, is chat.
    expect((await h.say("c1", "vo1", "通知大家明天开会")).text).toBe("");
  });
});

describe("已传达 and the 传达率", () => {
  it("a 邻长 confirms in the group; a second time is answered, not counted", async () => {
    now = sh("2026-04-01T15:00:00");
    expect((await h.say("c1", "nl1", "@好邻 已传达 #1")).text).toBe("✅ 王邻长 已确认传达通知 #1（已确认 1/3 人）。");
    expect((await h.say("c1", "nl1", "已傳達 1")).text).toMatch(/^你已在今天 15:00(:00)? 确认过通知 #1，不用再发。$/);
    const [row] = await h.db.select().from(circularRecipients).where(eq(circularRecipients.personId, "nl1"));
    expect(row?.confirmedAt).toEqual(now);
    expect(await h.db.select().from(circularEvents).where(eq(circularEvents.kind, "confirmed"))).toHaveLength(1);
  });

  it("refusals: a resident, someone not asked, a notice that does not exist, a missing number", async () => {
    expect((await h.say("c1", "r1", "已传达 #1")).text).toBe("只有邻长、组长等负责人可以用这个指令。");
    expect((await h.say("cv", "vo2", "已传达 #1")).text).toBe("通知 #1 不需要你确认：由各邻的邻长（邻长空缺时由组长）确认传达。");
    expect((await h.say("c2", "nl3", "已传达 #9")).text).toBe("找不到通知 #9，请核对编号。");
    expect((await h.say("c2", "nl3", "已传达")).text).toContain("用法：已传达 #通知号");
  });

  it("the 传达率 per unit names who has not confirmed", async () => {
    const rates = await relayRates(h.db, { id: 1, unitId: "v" });
    const of = (id: string) => rates.find((r) => r.unitId === id);
    expect(rates[0]?.unitId).toBe("v");
    expect(of("v")).toMatchObject({ total: 3, confirmed: 1 });
    expect(of("v")?.waiting.map((w) => w.name).sort()).toEqual(["吴邻长", "张组长"]);
    expect(of("g1")).toMatchObject({ total: 2, confirmed: 1 });
    expect(of("g1")?.waiting.map((w) => w.name)).toEqual(["张组长"]);
    expect(of("g2")).toMatchObject({ total: 1, confirmed: 0 });
  });
});

describe("the reminder three days on", () => {
  it("nothing before three days", async () => {
    now = sh("2026-04-04T09:59:00");
    await reminderTask?.run(h.runtime);
    expect(await h.db.select().from(outbox).where(like(outbox.dedupeKey, "circular-remind-%"))).toEqual([]);
  });

  it("after three days each who has not confirmed is reminded privately, once, even with two replicas running it", async () => {
    now = sh("2026-04-04T10:05:00");
    const second = await createHarness({ database: h.database, clock });
    try {
      await Promise.all([reminderTask?.run(h.runtime), reminderTask?.run(second.runtime)]);
    } finally {
      await second.close();
    }
    // What the closed replica queued and had not delivered yet is delivered here (as the reconciler would anyway).
    await h.runtime.reconcile();
    await reminderTask?.run(h.runtime);
    const rows = await h.db.select().from(outbox).where(like(outbox.dedupeKey, "circular-remind-%")).orderBy(asc(outbox.personId));
    expect(rows.map((r) => [r.personId, r.chatId, r.kind])).toEqual([
      ["gl1", null, "reminder"],
      ["nl3", null, "reminder"],
    ]);
    // Private: the whole notice as written, so the 邻长 can pass it on word for word.
    const dm = await waitFor(async () => (await h.chatLog("dm-nl3")).find((m) => m.text.includes("通知 #1")));
    expect(dm?.text).toContain("你还没有确认传达");
    expect(dm?.text).toContain(PHONE);
    expect((await h.chatLog("dm-nl1")).filter((m) => m.text.includes("通知 #1"))).toEqual([]);
    expect(await h.db.select().from(circularEvents).where(eq(circularEvents.kind, "reminded"))).toHaveLength(2);
  });

  it("never again: later runs, a confirmation after the reminder, a week on", async () => {
    now = sh("2026-04-05T09:00:00");
    expect((await h.say("c2", "nl3", "已传达 #1")).text).toContain("已确认 2/3 人");
    now = sh("2026-04-12T09:00:00");
    await reminderTask?.run(h.runtime);
    await reminderTask?.run(h.runtime);
    expect(await h.db.select().from(outbox).where(like(outbox.dedupeKey, "circular-remind-%"))).toHaveLength(2);
    await waitFor(async () => (await h.chatLog("dm-gl1")).some((m) => m.text.includes("通知 #1")));
    expect((await h.chatLog("dm-gl1")).filter((m) => m.text.includes("通知 #1"))).toHaveLength(1);
  });
});

describe("the dashboard's 通知传达 pages", () => {
  let dash: Awaited<ReturnType<typeof adminDashboard>>;
  beforeAll(async () => {
    // A second village of the town, with its own group and official: its notice is none of the first village's business.
    await h.db.insert(units).values([
      { id: "w", parentId: "t", kind: "village", name: "西村" },
      { id: "gw", parentId: "w", kind: "group", name: "西村一组" },
      { id: "nw", parentId: "gw", kind: "neighborhood", name: "西一邻" },
    ]);
    await h.db.insert(people).values([
      { id: "vow", name: "钱村干", role: "village_official", unitId: "w" },
      { id: "nlw", name: "孙邻长", role: "neighbor_leader", unitId: "nw" },
    ]);
    await h.db.insert(chats).values({ id: "cw", platform: "sim", externalId: "cw", unitId: "gw", name: "西村一组群" });
    expect((await direct("vow", "通知 西村修路\n下周一起西村主路封闭施工。")).replies[0]?.text).toContain("通知 #2");
    dash = await adminDashboard(h.runtime);
  });

  it("the admin sees every notice with its whole 传达率, and a notice's rate per unit with who has not confirmed", async () => {
    const list = await page(dash.app, dash.cookie, "/dashboard/circulars");
    expect(list.status).toBe(200);
    expect(list.html).toMatch(/href="\/dashboard\/circulars\/1">#1<\/a>.*?秋季森林防火.*?<strong>67%<\/strong>（2\/3）/su);
    expect(list.html).toMatch(/href="\/dashboard\/circulars\/2">#2<\/a>.*?西村修路.*?<strong>0%<\/strong>（0\/1）/su);
    const one = await page(dash.app, dash.cookie, "/dashboard/circulars/1");
    expect(one.html).toMatch(/东村（村）<\/td><td><strong>67%<\/strong><\/td><td>2 \/ 3<\/td>\s*<td>张组长（东村一组，已提醒）<\/td>/u);
    expect(one.html).toMatch(/东村二组（组）<\/td><td><strong>100%<\/strong><\/td><td>1 \/ 1<\/td>\s*<td>—<\/td>/u);
    for (const step of ["发出 · 陈村干", "确认传达 · 王邻长", "私信提醒 · 张组长", "确认传达 · 吴邻长"]) expect(one.html).toContain(step);
  });

  it("a leader sees the notices that reached their unit, only their own part of the rate, and not another village's", async () => {
    const nl3 = await leaderCookie(dash.app, dash.cookie, "nl3");
    const list = await page(dash.app, nl3, "/dashboard/circulars");
    expect(list.html).toMatch(/秋季森林防火.*?<strong>100%<\/strong>（1\/1）/su);
    expect(list.html).not.toContain("西村修路");
    const one = await page(dash.app, nl3, "/dashboard/circulars/1");
    expect(one.html).toContain("三邻（邻）");
    expect(one.html).not.toContain("东村一组（组）");
    expect(one.html).not.toContain("张组长（东村一组");
    expect((await page(dash.app, nl3, "/dashboard/circulars/2")).status).toBe(404);

    const vow = await leaderCookie(dash.app, dash.cookie, "vow");
    const theirs = await page(dash.app, vow, "/dashboard/circulars");
    expect(theirs.html).toContain("西村修路");
    expect(theirs.html).not.toContain("秋季森林防火");
    expect((await page(dash.app, vow, "/dashboard/circulars/1")).status).toBe(404);
    // The town sees both.
    const town = await page(dash.app, await leaderCookie(dash.app, dash.cookie, "to1"), "/dashboard/circulars");
    expect(town.html).toContain("西村修路");
    expect(town.html).toContain("秋季森林防火");
  });
});

describe("quiet hours", () => {
  it("a notice sent at night waits for the morning, and the official is told when it goes", async () => {
    // The town's default quiet hours (22:00–07:00) instead of the fixture's none.
    await h.db.update(units).set({ settings: {} }).where(eq(units.id, "t"));
    now = sh("2026-04-20T23:10:00");
    const r = await direct("vo1", "通知 明早停电\n明早 8 点到 10 点检修线路。");
    expect(r.replies[0]?.text).toContain("通知 #3「明早停电」已发往 3 个群");
    expect(r.replies[0]?.text).toContain("现在是免打扰时段，明天 07:00 起陆续发到各群。");
    const rows = await h.db.select().from(outbox).where(like(outbox.dedupeKey, "circular-3-%"));
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.notBefore).toEqual(sh("2026-04-21T07:00:00"));
  });
});
