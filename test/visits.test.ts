/** Visits (走访) and contacts (电联) through the simulator API of the real app on a real database. */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { asc, count, eq, inArray, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleIncoming } from "../src/bot/pipeline.js";
import { importDirectory, parseDirectoryFile } from "../src/db/directory-import.js";
import { outbox, pendingQuestions, people, ticketEvents, tickets, visits } from "../src/db/schema/index.js";
import { ORACLE_TAGS, personalIn } from "./helpers/personal-oracle.js";
import { visitCoverage } from "../src/workflows/visits/coverage.js";
import { resolveUnmatchedVisit } from "../src/workflows/visits/log.js";
import { runVisitReminders } from "../src/workflows/visits/reminders.js";
import { createHarness, type Harness, waitFor } from "./helpers/harness.js";

const VISITS_FIXTURE = fileURLToPath(new URL("./fixtures/visits.yaml", import.meta.url));
/** Local Asia/Shanghai time. */
const sh = (local: string) => new Date(`${local}+08:00`);
/** Names of special households: only their own leaders may see them, privately. */
const SPECIAL_NAMES = ["周四", "周奶奶", "孙三", "赵二"];

let now = sh("2025-06-16T10:00:00");
const clock = () => now;

async function start(): Promise<Harness> {
  return createHarness({ directory: VISITS_FIXTURE, clock });
}

const dmTexts = async (h: Harness, personId: string) => (await h.chatLog(`dm-${personId}`)).map((m) => m.text);
const waitDm = (h: Harness, personId: string, needle: string) =>
  waitFor(async () => (await dmTexts(h, personId)).find((t) => t.includes(needle)));
const visitRows = (h: Harness) => h.db.select().from(visits).orderBy(asc(visits.id));
const lastVisit = async (h: Harness) => (await visitRows(h)).at(-1);

/** Every bot line in the group chats: no tag, address, phone, house number or special household's name. */
async function expectGroupsClean(h: Harness) {
  const lines = [...(await h.chatLog("c1")), ...(await h.chatLog("c2"))].filter((m) => m.from === "bot");
  expect(lines.length).toBeGreaterThan(0);
  for (const { text } of lines) {
    expect(personalIn(text), text).toEqual([]);
    for (const word of [...ORACLE_TAGS, ...SPECIAL_NAMES, "东村一组", "1990000"]) expect(text, text).not.toContain(word);
  }
}

describe("logging visits and contacts", () => {
  let h: Harness;
  beforeAll(async () => {
    now = sh("2025-06-16T10:00:00"); // a Monday
    h = await start();
  });
  afterAll(async () => {
    await h.close();
  });

  it("走访 by nickname: a minimal group reply, the details privately, the visit stored", async () => {
    const r = await h.say("c1", "nl1", "@好邻 走访 周奶奶 身体不错，孤寡老人，电话19900000104");
    expect(r.text).toBe("✅ 已记录 1 次走访，详情已私信发给你。");
    expect(await lastVisit(h)).toMatchObject({
      householdId: "h4",
      leaderId: "nl1",
      unitId: "n1",
      kind: "visit",
      channel: "home",
      status: "matched",
      query: "周奶奶",
      note: "身体不错，孤寡老人，电话19900000104",
      chatId: "c1",
      at: now,
      ticketId: null,
    });
    const dm = await waitDm(h, "nl1", "周四（4号）");
    expect(dm).toContain("已记录：走访 周四（4号）（6月16日）");
    expect(dm).toContain("重点户：本期已走访 ✅");
    expect(dm).not.toContain("1990000");
  });

  it("电联 by a member's name: a contact, its channel from the words, and when the next contact is due", async () => {
    expect((await h.say("c1", "nl1", "电联 李小一 微信问候，一切都好")).text).toBe("✅ 已记录 1 次联系，详情已私信发给你。");
    expect(await lastVisit(h)).toMatchObject({ householdId: "h1", kind: "contact", channel: "wechat", query: "李小一" });
    // A contact does not replace a normal household's quarterly visit; the DM says so.
    await waitDm(h, "nl1", "微信联系 李一（1号）");
    expect(await waitDm(h, "nl1", "微信联系 李一（1号）")).toContain("电话联系不算走访");

    await h.say("c1", "nl1", "联系 5号 电话问候");
    expect(await lastVisit(h)).toMatchObject({ householdId: "h5", kind: "contact", channel: "phone", query: "5号" });
    expect(await waitDm(h, "nl1", "电话联系 王芳（5号）")).toContain("下次联系请在 6月23日 前");
  });

  it("glued input matches a name that opens it; a longer unknown name is not taken for a shorter one", async () => {
    await h.say("c1", "nl1", "走访周奶奶身体好");
    expect(await lastVisit(h)).toMatchObject({ householdId: "h4", query: "周奶奶", note: "身体好", status: "matched" });
    await h.say("c1", "nl1", "走访 李一鸣 很好");
    expect(await lastVisit(h)).toMatchObject({ householdId: null, query: "李一鸣", status: "unmatched" });
  });

  it("an ambiguous name: numbered choices privately, and the next reply in the chat picks one", async () => {
    const before = (await visitRows(h)).length;
    const r = await h.say("c1", "nl1", "走访 王芳 家里都好");
    expect(r.text).toBe("找到 2 户符合，选项已私信发给你，请在本群回复序号（如 1）。");
    const list = await waitDm(h, "nl1", "“王芳”对应 2 户");
    expect(list).toContain("1. 王芳（5号）");
    expect(list).toContain("2. 王芳（6号）");
    expect(list).not.toContain("7号"); // another group's household
    expect((await visitRows(h)).length).toBe(before); // nothing logged until the pick

    expect((await h.say("c1", "nl1", "3")).text).toBe("请回复 1–2 之间的序号。");
    expect((await h.say("c2", "nl1", "2")).text).toBe(""); // nothing waits in that chat: ordinary chat
    expect((await h.say("c1", "r1", "2")).text).toBe(""); // someone else's number is chat too
    expect((await h.say("c1", "nl1", "@好邻 ２")).text).toBe("✅ 已记录 1 次走访，详情已私信发给你。");
    expect(await lastVisit(h)).toMatchObject({ householdId: "h6", query: "王芳", note: "家里都好", chatId: "c1", status: "matched" });
    expect(await h.db.select().from(pendingQuestions)).toEqual([]);
    expect((await h.say("c1", "nl1", "2")).text).toBe(""); // used up
    expect((await visitRows(h)).length).toBe(before + 1);
  });

  it("matching looks in the leader's own unit first, then the subtree; the pick also works by direct message", async () => {
    await h.say("c2", "nl3", "走访 王芳 一切正常");
    expect(await lastVisit(h)).toMatchObject({ householdId: "h7", leaderId: "nl3" });

    expect((await h.say("c1", "vo1", "走访 王芳 回访")).text).toContain("找到 3 户符合");
    const list = await waitDm(h, "vo1", "“王芳”对应 3 户");
    expect(list).toContain("3. 王芳（7号）");
    const res = await handleIncoming(h.runtime.pipeline, {
      platform: "sim",
      messageId: "dm-pick-1",
      chatExternalId: null,
      senderExternalId: "vo1",
      text: "3",
      receivedAt: now,
    });
    expect(res.replies[0]?.text).toContain("已记录：走访 王芳（7号）");
    expect(await lastVisit(h)).toMatchObject({ householdId: "h7", leaderId: "vo1", chatId: "c1", note: "回访" });
  });

  it("no match: kept as unmatched for an admin, never dropped", async () => {
    const r = await h.say("c1", "nl1", "走访 钱五 诉求：门口路灯坏了");
    expect(r.text).toBe("✅ 已记录 1 次走访，但没有对上住户，已留给管理员核对（详情已私信发给你）。");
    const v = await lastVisit(h);
    expect(v).toMatchObject({ householdId: null, status: "unmatched", unitId: "n1", query: "钱五", note: "诉求：门口路灯坏了", ticketId: null });
    const dm = await waitDm(h, "nl1", "没找到“钱五”");
    expect(dm).toContain("代报 户主姓名");

    const [admin] = await h.db.select().from(people).where(eq(people.id, "adm"));
    const [resident] = await h.db.select().from(people).where(eq(people.id, "r1"));
    const id = v?.id as number;
    expect(await h.runtime.transact((ctx) => resolveUnmatchedVisit(ctx, resident as never, id, "h1"))).toEqual({ ok: false, reason: "forbidden" });
    const done = await h.runtime.transact((ctx) => resolveUnmatchedVisit(ctx, admin as never, id, "h1"));
    expect(done).toMatchObject({ ok: true, visit: { householdId: "h1", status: "matched", resolvedById: "adm" } });
    expect(await h.runtime.transact((ctx) => resolveUnmatchedVisit(ctx, admin as never, id, "h1"))).toEqual({ ok: false, reason: "not_unmatched" });
  });

  it("诉求 in the note opens a linked ticket on behalf of the household, with the normal clock and ladder", async () => {
    const r = await h.say("c1", "nl1", "走访 李一 身体好，诉求：门口排水沟堵了，下雨就淹");
    expect(r.text).toContain("✅ 已记录 1 次走访");
    const id = Number(/已登记工单 #(\d+)/.exec(r.text)?.[1]);
    expect(id).toBeGreaterThan(0);
    expect(r.mentions).toEqual(["nl1"]);
    const [t] = await h.db.select().from(tickets).where(eq(tickets.id, id));
    expect(t).toMatchObject({
      householdId: "h1",
      reporterId: "nl1",
      unitId: "n1",
      assigneeId: "nl1",
      level: "neighborhood",
      status: "open",
      chatId: "c1",
      text: "门口排水沟堵了，下雨就淹",
    });
    expect(t?.answerDueAt?.getTime()).toBe(now.getTime() + 4 * 3_600_000);
    const [opened] = await h.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, id));
    expect(opened).toMatchObject({ kind: "opened", data: { householdId: "h1", onBehalf: true } });
    expect(await lastVisit(h)).toMatchObject({ householdId: "h1", ticketId: id });
    expect(await waitDm(h, "nl1", `工单 #${id}`)).toContain("诉求已代报为工单");
  });

  it("only leaders may log visits or see the due list", async () => {
    const before = (await visitRows(h)).length;
    expect((await h.say("c1", "r1", "走访 李一 很好")).text).toContain("只有邻长、组长等负责人可以登记");
    expect((await h.say("c1", "r1", "电联 周奶奶 很好")).text).toContain("只有邻长、组长等负责人可以登记");
    expect((await h.say("c1", "r1", "待走访")).text).toBe("只有负责人可以查看待走访名单。");
    expect((await visitRows(h)).length).toBe(before);
  });

  it("a redelivered message logs nothing twice", async () => {
    const before = (await visitRows(h)).length;
    const a = await h.say("c1", "nl1", "走访 6号 很好", "same-msg");
    const b = await h.say("c1", "nl1", "走访 6号 很好", "same-msg");
    expect(b.text).toBe(a.text);
    expect((await visitRows(h)).length).toBe(before + 1);
  });

  it("group chats never show a tag, address, phone, house number or a special household's name", async () => {
    await h.say("c1", "nl1", "待走访");
    await expectGroupsClean(h);
  });
});

describe("待走访 and reminders", () => {
  let h: Harness;
  beforeAll(async () => {
    now = sh("2025-05-20T10:00:00");
    h = await start();
    await h.say("c1", "nl1", "走访 5号 身体好"); // h5, special, visited in May
    now = sh("2025-06-02T10:00:00"); // Monday
    await h.say("c1", "nl1", "电联 周四 电话问候"); // h4, special
    now = sh("2025-06-03T09:00:00");
    await h.say("c1", "nl1", "走访 李一 一切正常"); // h1, normal: Q2 done
  });
  afterAll(async () => {
    await h.close();
  });

  const remind = () => h.runtime.transact((ctx) => runVisitReminders(ctx));
  const keys = async (prefix: string) =>
    (await h.db.select({ k: outbox.dedupeKey }).from(outbox).where(like(outbox.dedupeKey, `${prefix}%`))).map((r) => r.k).sort();

  it("待走访 in a group: counts only, and the list privately — special first, with the last visit/contact", async () => {
    now = sh("2025-06-08T09:00:00");
    const r = await h.say("c1", "nl1", "待走访");
    // h4 contacted 6 days ago (covered), h1 visited; h5 special visited in May (due), h6 never visited (overdue).
    expect(r.text).toBe("你负责的 4 户中：逾期 1 户，本期待走访 1 户（其中重点户 1 户）。名单已私信发给你。");
    const list = await waitDm(h, "nl1", "📋 待走访 2 户");
    const lines = list.split("\n");
    expect(lines.findIndex((l) => l.includes("王芳（5号）"))).toBeLessThan(lines.findIndex((l) => l.includes("王芳（6号）")));
    expect(list).toContain("· 王芳（5号） 本月待访 · 上次走访 5月20日 · 上次联系 无");
    expect(list).toContain("· 王芳（6号） 逾期 · 上次走访 无");
    expect(list).not.toContain("周四");
    expect(list).not.toContain("李一");
    expect(list).not.toMatch(/低保|1990000|东村一组/);
  });

  it("a 组长 sees the whole group, including the vacant 邻", async () => {
    const r = await h.say("c1", "gl1", "待走访");
    expect(r.text).toContain("你负责的 5 户中");
    expect(await waitDm(h, "gl1", "📋 待走访")).toContain("赵二（2号）");
  });

  it("weekly contact: a special household 6 days without contact → a private reminder to its 邻长, exactly once", async () => {
    now = sh("2025-06-07T09:00:00"); // h4: 5 days since the contact — not yet
    expect(await remind()).toEqual({ contact: 3, dueLists: 0 }); // h5 (May visit only), h2 (→ 组长), h3 (→ 吴邻长)
    expect(await keys("remind-contact-h4")).toEqual([]);

    now = sh("2025-06-08T09:00:00"); // 6 days
    expect(await remind()).toEqual({ contact: 1, dueLists: 0 });
    expect(await remind()).toEqual({ contact: 0, dueLists: 0 });
    expect(await keys("remind-contact-")).toEqual([
      "remind-contact-h2-2025-W23-gl1",
      "remind-contact-h3-2025-W23-nl3",
      "remind-contact-h4-2025-W23-nl1",
      "remind-contact-h5-2025-W23-nl1",
    ]);
    await waitDm(h, "nl1", "重点户 周四（4号） 已 6 天没有联系");
    await waitDm(h, "gl1", "重点户 赵二（2号） 还没有联系记录");
    // Every row queued so far has been delivered (a row is sent only while pending or sending), so a second copy
    // would be in the chat by now: a positive end point instead of a pause.
    await waitFor(async () => (await h.db.select({ n: count() }).from(outbox).where(inArray(outbox.status, ["pending", "sending"])))[0]?.n === 0);
    expect((await dmTexts(h, "nl1")).filter((t) => t.includes("周四（4号） 已 6 天")).length).toBe(1);
    // Never in a group chat.
    for (const m of [...(await h.chatLog("c1")), ...(await h.chatLog("c2"))]) expect(m.text).not.toContain("没有联系");
  });

  it("a contact stops the reminders", async () => {
    now = sh("2025-06-09T10:00:00"); // a new ISO week
    await h.say("c1", "nl1", "电联 周四 电话问候");
    await h.say("c1", "nl1", "走访 5号 很好");
    expect(await remind()).toEqual({ contact: 2, dueLists: 0 }); // h2 and h3 again this week; h4 and h5 are fine
    expect(await keys("remind-contact-h4-2025-W24")).toEqual([]);
  });

  it("before the 集中走访日 (28th) every leader with households due gets the list privately, once a month", async () => {
    now = sh("2025-06-24T09:00:00");
    expect((await remind()).dueLists).toBe(0);
    now = sh("2025-06-25T09:00:00");
    expect((await remind()).dueLists).toBe(3);
    now = sh("2025-06-26T09:00:00");
    expect((await remind()).dueLists).toBe(0);
    expect(await keys("remind-due-")).toEqual(["remind-due-gl1-2025-06", "remind-due-nl1-2025-06", "remind-due-nl3-2025-06"]);
    const list = await waitDm(h, "nl1", "6月28日是集中走访日");
    expect(list).toContain("王芳（6号）");
    expect(list).not.toContain("孙三"); // another 邻长's household
  });
});

describe("coverage for digests, and the directory import", () => {
  let h: Harness;
  beforeAll(async () => {
    now = sh("2025-06-03T10:00:00");
    h = await start();
    await h.say("c1", "nl1", "走访 周四 很好"); // special, visit
    await h.say("c1", "nl1", "电联 李一 电话问候"); // normal: a contact is not a visit
    await h.say("c1", "nl1", "走访 6号 很好"); // normal, visit
  });
  afterAll(async () => {
    await h.close();
  });

  it("counts households covered, due and overdue as of an instant", async () => {
    const town = await visitCoverage(h.db, { root: "t" }, sh("2025-06-05T00:00:00"));
    expect(town).toEqual({ special: { due: 4, covered: 1, overdue: 3 }, all: { due: 7, covered: 2, overdue: 5 } });
    expect(await visitCoverage(h.db, { unitIds: ["n1"] }, sh("2025-06-05T00:00:00"))).toEqual({
      special: { due: 2, covered: 1, overdue: 1 },
      all: { due: 4, covered: 2, overdue: 2 },
    });
    // Visits after the instant do not count.
    expect((await visitCoverage(h.db, { root: "t" }, sh("2025-06-02T00:00:00"))).all.covered).toBe(0);
    // A new month: June's visit leaves July "due", not overdue; the quarter's visit covers June only.
    expect(await visitCoverage(h.db, { root: "g1" }, sh("2025-07-01T00:00:00"))).toEqual({
      special: { due: 3, covered: 0, overdue: 2 },
      all: { due: 5, covered: 0, overdue: 3 },
    });
  });

  it("re-import keeps the visit history", async () => {
    const [before] = await h.db.select({ n: count() }).from(visits);
    const asOf = sh("2025-06-05T00:00:00");
    const coverage = await visitCoverage(h.db, { root: "t" }, asOf);
    await importDirectory(h.db, VISITS_FIXTURE);
    const [after] = await h.db.select({ n: count() }).from(visits);
    expect(after?.n).toBe(before?.n);
    expect(await visitCoverage(h.db, { root: "t" }, asOf)).toEqual(coverage);
  });

  it("a town's specialTags decide the care level when the file does not", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "haolin-visits-"));
    const file = path.join(dir, "d.yaml");
    await writeFile(
      file,
      [
        "units:",
        "  - { id: t, kind: town, name: 镇, settings: { visits: { specialTags: [留守儿童, 重病], visitDay: 25 } } }",
        "  - { id: v, parent: t, kind: village, name: 村 }",
        "  - { id: g, parent: v, kind: group, name: 组 }",
        "  - { id: n, parent: g, kind: neighborhood, name: 邻 }",
        "households:",
        "  - { id: a, unit: n, head: 甲, tags: [低保] }",
        "  - { id: b, unit: n, head: 乙, tags: [重病] }",
        "  - { id: c, unit: n, head: 丙, tags: [党员户], careLevel: special }",
        "  - { id: d, unit: n, head: 丁, tags: [留守儿童], careLevel: normal }",
        "",
      ].join("\n"),
    );
    const parsed = await parseDirectoryFile(file);
    expect(parsed.households.map((x) => [x.id, x.careLevel])).toEqual([
      ["a", "normal"],
      ["b", "special"],
      ["c", "special"],
      ["d", "normal"],
    ]);
    // Unknown keys in the visit settings are errors, not silently ignored.
    await writeFile(file, "units:\n  - { id: t, kind: town, name: 镇, settings: { visits: { visitDays: 25 } } }\n");
    await expect(parseDirectoryFile(file)).rejects.toThrow(/visits/);
  });
});
