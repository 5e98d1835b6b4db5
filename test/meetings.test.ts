/**
 * 民情恳谈会 and 民情分析会 through the simulator pipeline on a real database: scheduling with the agenda, permissions and
 * usage hints, 改期 and 取消, the day-before reminder exactly once (also after a Redis flush), and 纪要 / 议定 with a
 * decision becoming a 议定事项 ticket on the usual ladder. Privacy is judged by the test's own oracle.
 */
import { and, asc, eq, like } from "drizzle-orm";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meetingEvents, meetings, outbox, ticketEvents, tickets } from "../src/db/schema/index.js";
import { deliverOutbox } from "../src/workflows/delivery.js";
import { fanOutMonthlyReports } from "../src/workflows/digests/index.js";
import { remindMissingTalks } from "../src/workflows/meetings/missing.js";
import { createHarness, dropPrefix, type Harness, REDIS_URL, waitFor } from "./helpers/harness.js";
import { leaks, personalIn, type Secret } from "./helpers/personal-oracle.js";

/** Local Asia/Shanghai time. */
const sh = (local: string) => new Date(`${local}+08:00`);
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
const PHONE = "13812345678";
const SECRETS: Secret[] = [
  { kind: "number", value: PHONE },
  { kind: "word", value: "孤寡老人" },
];

function expectClean(text: string) {
  expect(leaks(text, SECRETS), text).toEqual([]);
  expect(personalIn(text), text).toEqual([]);
}

const reminderRows = (h: Harness) =>
  h.db.select().from(outbox).where(like(outbox.dedupeKey, "meeting-remind-%")).orderBy(asc(outbox.id));
const meetingRows = (h: Harness) => h.db.select().from(meetings).orderBy(asc(meetings.id));

describe("民情恳谈会 in a 组's chat", () => {
  let h: Harness;
  let now = sh("2025-11-20T10:00:00");
  beforeAll(async () => {
    // Not started: no timer fires on its own (the test's dates are past on the wall clock); deadlines are run by hand.
    h = await createHarness({ clock: () => now, start: false });
  });
  afterAll(async () => {
    await h.close();
  });

  let lamp1 = 0;
  let lamp2 = 0;
  it("schedules with a notice whose agenda holds the open and overdue tickets and the repeated problems, masked", async () => {
    lamp1 = ticketNo((await h.say("c1", "r1", `报事 村口路灯坏了，我是孤寡老人，电话${PHONE}`)).text);
    now = sh("2025-12-01T10:00:00");
    lamp2 = ticketNo((await h.say("c1", "r1", "报事 村口路灯又不亮了")).text);
    await h.say("c1", "nl1", `认领 #${lamp2}`);
    // Another group's ticket is not on this group's agenda.
    const other = ticketNo((await h.say("c2", "r3", "报事 三邻水管漏水")).text);
    now = sh("2025-12-10T10:00:00");

    const r = await h.say("c1", "gl1", "@好邻 恳谈会 12月20日 19:00 村部会议室");
    expect(r.text).toContain("📣 民情恳谈会通知（东村一组）");
    expect(r.text).toContain("时间：12月20日（周六）19:00");
    expect(r.text).toContain("地点：村部会议室");
    expect(r.text).toContain("召集人：张组长（组长）");
    expect(r.text).toContain("2. 未办结工单 2 件（其中超时 2 件）");
    expect(r.text).toContain(`#${lamp1} `);
    expect(r.text).toContain(`#${lamp2} `);
    expect(r.text).not.toContain(`#${other} `);
    expect(r.text).toMatch(/3\. 反复出现的问题：一邻「[^」]+」2 次/u);
    expect(r.text).toContain("会前一天我会在群里再提醒一次");
    expectClean(r.text);

    const [m] = await meetingRows(h);
    expect(m).toMatchObject({ kind: "talk", unitId: "g1", chatId: "c1", place: "村部会议室", status: "scheduled", organizerId: "gl1" });
    expect(m?.startsAt).toEqual(sh("2025-12-20T19:00:00"));
    expect(m?.agenda).toMatchObject({ openTotal: 2, overdueTotal: 2, created: 2 });
    const events = await h.db.select().from(meetingEvents).where(eq(meetingEvents.meetingId, m?.id as number));
    expect(events.map((e) => [e.kind, e.actorId])).toEqual([["scheduled", "gl1"]]);
    const [reminder] = await reminderRows(h);
    expect(reminder).toMatchObject({ chatId: "c1", kind: "reminder", status: "pending" });
    expect(reminder?.notBefore).toEqual(sh("2025-12-19T19:00:00"));
    expect(reminder?.payload.text).toContain("明天开民情恳谈会（东村一组）");
  });

  it("a second one while one is coming is refused with how to change it; bad forms get a usage hint and change nothing", async () => {
    const cases: [string, string, string][] = [
      ["gl1", "恳谈会 12月27日 19:00 祠堂", "已经安排了 12月20日（周六）19:00 的民情恳谈会"],
      ["gl1", "恳谈会 下周五 村部", "请写上开会时间"],
      ["gl1", "恳谈会 什么时候开", "没看懂开会日期。用法：恳谈会 日期 时间 地点"],
      ["gl1", "恳谈会 12月1日 19:00 村部", "请安排三个月以内的日期"],
      ["gl1", "恳谈会 明年5月1日 19:00 村部", "请安排三个月以内的日期"],
      ["gl1", "恳谈会 取消了吗？", "没看懂开会日期"],
      ["r1", "恳谈会 12月27日 19:00 村部", "民情恳谈会由组长及以上的负责人安排"],
      ["nl1", "恳谈会 12月27日 19:00 村部", "由本组组长及以上的负责人安排和记录"],
      ["gl1", "分析会 12月26日 15:00 村委", "民情分析会由村（社区）召开，请在村群里安排"],
      ["gl2", "纪要 到会 12 人", "本群还没有安排民情恳谈会"],
    ];
    for (const [who, text, expected] of cases) {
      expect((await h.say(who === "gl2" ? "c2" : "c1", who, text)).text, text).toContain(expected);
    }
    // Group chat: a passing mention of the meeting is not a command.
    expect((await h.say("c1", "r1", "恳谈会几点开呀")).text).toBe("");
    expect(await meetingRows(h)).toHaveLength(1);
    expect(await reminderRows(h)).toHaveLength(1);
  });

  it("改期 moves it: the old reminder is cancelled and never sent, the new one waits for the new day", async () => {
    const r = await h.say("c1", "gl1", "恳谈会 改期 12月22日 19:30");
    expect(r.text).toContain("原定 12月20日（周六）19:00，改为 12月22日（周一）19:30");
    expect(r.text).toContain("地点：村部会议室");
    const [old, fresh] = await reminderRows(h);
    expect(old?.status).toBe("cancelled");
    expect(fresh).toMatchObject({ status: "pending" });
    expect(fresh?.notBefore).toEqual(sh("2025-12-21T19:30:00"));
    // Even if the old job fires, nothing goes out.
    now = sh("2025-12-19T19:00:00");
    expect(await deliverOutbox(h.runtime.delivery, old?.id as number)).toBe("gone");
    expect((await h.chatLog("c1")).filter((m) => m.text.includes("⏰"))).toEqual([]);
    const [m] = await meetingRows(h);
    expect(m?.startsAt).toEqual(sh("2025-12-22T19:30:00"));
    expect(m?.version).toBe(1);
  });

  let decided = 0;
  let noOwner = 0;
  it("纪要 and 议定 after it starts: minutes kept, a decision becomes a 议定事项 ticket of the leader it names, with its own deadline", async () => {
    now = sh("2025-12-22T21:00:00");
    expect((await h.say("c1", "nl1", "纪要 到会 15 人")).text).toContain("由本组组长及以上的负责人安排和记录");
    expect((await h.say("c1", "gl1", "纪要 到会 15 人，大家反映一邻路灯反复坏")).text).toContain("纪要（第 1 段）");
    expect((await h.say("c1", "gl1", "纪要：路灯由村里统一换新")).text).toContain("第 2 段");

    const r = await h.say("c1", "gl1", "议定 更换一邻全部路灯，王邻长负责，12月31日前完成");
    decided = ticketNo(r.text);
    expect(r.text).toContain(`已立为工单 #${decided}（议定事项）`);
    expect(r.text).toContain("负责人：王邻长（邻长）");
    expect(r.text).toContain("办结期限：12月31日 23:59");
    expect(r.mentions).toEqual(["nl1"]);
    const [m] = await meetingRows(h);
    expect(m?.status).toBe("held");
    expect(m?.minutes).toBe("到会 15 人，大家反映一邻路灯反复坏\n\n路灯由村里统一换新");
    const [t] = await h.db.select().from(tickets).where(eq(tickets.id, decided));
    expect(t).toMatchObject({
      kind: "decision",
      meetingId: m?.id,
      category: "议定事项",
      unitId: "n1",
      holderUnitId: "n1",
      assigneeId: "nl1",
      reporterId: "gl1",
      chatId: "c1",
      status: "open",
      text: "更换一邻全部路灯，王邻长负责，12月31日前完成",
    });
    expect(t?.resolveBy).toEqual(sh("2025-12-31T23:59:00"));
    expect(t?.answerDueAt).toEqual(sh("2025-12-23T01:00:00"));

    // Claimed: the resolution clock runs to the decision's own deadline, not the policy's.
    expect((await h.say("c1", "nl1", `认领 #${decided}`)).text).toContain("已认领");
    const [claimed] = await h.db.select().from(tickets).where(eq(tickets.id, decided));
    expect(claimed?.resolveDueAt).toEqual(sh("2025-12-31T23:59:00"));

    // Only noted: no ticket.
    expect((await h.say("c1", "gl1", "议定 备案 下次恳谈会一月中旬开")).text).toContain("第 2 项议定事项（备案，不立工单）");
    // Naming nobody: the meeting's own unit holds it (the 组长), with the policy's clock for 议定事项.
    noOwner = ticketNo((await h.say("c1", "gl1", "议定 修补村道坑洼")).text);
    const [own] = await h.db.select().from(tickets).where(eq(tickets.id, noOwner));
    expect(own).toMatchObject({ kind: "decision", unitId: "g1", holderUnitId: "g1", level: "group", assigneeId: "gl1", resolveBy: null });

    const events = await h.db.select().from(meetingEvents).where(eq(meetingEvents.meetingId, m?.id as number)).orderBy(asc(meetingEvents.id));
    expect(events.map((e) => e.kind)).toEqual(["scheduled", "rescheduled", "minutes", "minutes", "decided", "decided", "decided"]);
    expect(events[4]?.data).toMatchObject({ ticketId: decided });
    expect(events[5]?.data).toMatchObject({ ticketId: null });
  });

  it("a decision ticket climbs the usual ladder when nobody answers", async () => {
    now = sh("2025-12-23T02:00:00"); // past the 4-hour answer clock
    expect(await h.runtime.onDeadline(noOwner)).toBe("escalated");
    const [t] = await h.db.select().from(tickets).where(eq(tickets.id, noOwner));
    expect(t).toMatchObject({ level: "village", holderUnitId: "v", status: "open" });
    const ev = await h.db
      .select()
      .from(ticketEvents)
      .where(and(eq(ticketEvents.ticketId, noOwner), eq(ticketEvents.kind, "escalated")));
    expect(ev).toHaveLength(1);
  });

  it("取消 calls the next one off and cancels its reminder", async () => {
    now = sh("2026-01-05T10:00:00");
    expect((await h.say("c1", "gl1", "恳谈会 1月17日 19:00 祠堂")).text).toContain("时间：1月17日（周六）19:00");
    const r = await h.say("c1", "gl1", `恳谈会 取消 组长在外开会，电话${PHONE}`);
    expect(r.text).toContain("原定 1月17日（周六）19:00 的民情恳谈会（东村一组）取消了。");
    expectClean(r.text);
    const rows = await reminderRows(h);
    expect(rows.at(-1)?.status).toBe("cancelled");
    expect((await meetingRows(h)).at(-1)?.status).toBe("cancelled");
    expect((await h.say("c1", "gl1", "恳谈会 取消")).text).toContain("还没有安排民情恳谈会");
  });
});

describe("民情分析会 in the village's chat", () => {
  let h: Harness;
  let now = sh("2025-12-08T10:00:00");
  beforeAll(async () => {
    h = await createHarness({ clock: () => now, start: false });
  });
  afterAll(async () => {
    await h.close();
  });

  it("takes the same agenda at village scope: every group's open tickets", async () => {
    const a = ticketNo((await h.say("c1", "r1", "报事 村口路灯坏了")).text);
    const b = ticketNo((await h.say("c2", "r3", "报事 三邻水管漏水")).text);
    now = sh("2025-12-10T10:00:00");
    expect((await h.say("cv", "gl1", "分析会 周五 15:00 村委会议室")).text).toContain("由村干部及以上的负责人安排和记录");
    expect((await h.say("cv", "vo1", "恳谈会 12月20日 19:00 村部")).text).toContain("民情恳谈会由各村民小组召开");
    const r = await h.say("cv", "vo1", "分析会 周五 15:00 村委会议室");
    expect(r.text).toContain("📣 民情分析会通知（东村）");
    expect(r.text).toContain("时间：12月12日（周五）15:00");
    expect(r.text).toContain("召集人：陈村干（村干部）");
    expect(r.text).toContain(`#${a} `);
    expect(r.text).toContain(`#${b} `);
    const [m] = await meetingRows(h);
    expect(m).toMatchObject({ kind: "analysis", unitId: "v", chatId: "cv" });
    now = sh("2025-12-12T16:00:00");
    const d = await h.say("cv", "vo2", "议定 村里统一排查水管，郑组长负责，20号前");
    const t = ticketNo(d.text);
    const [row] = await h.db.select().from(tickets).where(eq(tickets.id, t));
    expect(row).toMatchObject({ kind: "decision", unitId: "g2", level: "group", assigneeId: "gl2", meetingId: m?.id });
    expect(row?.resolveBy).toEqual(sh("2025-12-20T23:59:00"));
  });
});

describe("the day-before reminder on BullMQ", () => {
  let h: Harness;
  // Next year's December, so that BullMQ (which waits on the wall clock) holds the reminder until the test runs it.
  const Y = new Date().getUTCFullYear() + 1;
  let now = sh(`${Y}-12-10T10:00:00`);
  beforeAll(async () => {
    h = await createHarness({ scheduler: "bullmq", clock: () => now });
  });
  afterAll(async () => {
    await h.close();
  });

  const jobKey = (id: number) => `${h.prefix}:outbox:out-${id}`;
  async function jobInRedis(id: number): Promise<boolean> {
    const c = new Redis(REDIS_URL);
    try {
      return (await c.exists(jobKey(id))) === 1;
    } finally {
      c.disconnect();
    }
  }

  it("is queued once (a redelivered command adds nothing), survives a Redis flush, and is sent exactly once", async () => {
    const first = await h.post("c1", "gl1", "恳谈会 12月20日 19:00 村部会议室", "m-schedule");
    const again = await h.post("c1", "gl1", "恳谈会 12月20日 19:00 村部会议室", "m-schedule");
    expect(again.body.replies).toEqual(first.body.replies);
    expect(await meetingRows(h)).toHaveLength(1);
    const [row] = await reminderRows(h);
    const id = row?.id as number;
    expect(await reminderRows(h)).toHaveLength(1);
    await waitFor(() => jobInRedis(id));

    // Redis loses everything: PostgreSQL still holds the reminder, and the reconciler arms it again.
    await dropPrefix(h.prefix);
    expect(await jobInRedis(id)).toBe(false);
    now = sh(`${Y}-12-19T18:55:00`);
    await h.runtime.reconcile();
    expect(await jobInRedis(id)).toBe(true);

    // Its time comes: the job runs now (promoted), and so does a second replica's attempt and another reconcile.
    now = sh(`${Y}-12-19T19:00:00`);
    const queue = new Queue("outbox", { connection: { url: REDIS_URL }, prefix: h.prefix });
    try {
      await (await queue.getJob(`out-${id}`))?.promote();
    } finally {
      await queue.close();
    }
    const sent = await waitFor(async () => {
      const [r] = await h.db.select().from(outbox).where(eq(outbox.id, id));
      return r?.status === "sent" ? r : null;
    });
    expect(sent.platform).toBe("sim");
    expect(await deliverOutbox(h.runtime.delivery, id)).toBe("gone");
    await h.runtime.reconcile();
    const log = (await h.chatLog("c1")).filter((m) => m.from === "bot" && m.text.startsWith("⏰"));
    expect(log.map((m) => m.text)).toEqual([expect.stringContaining("明天开民情恳谈会（东村一组）")]);
    expect(log[0]?.text).toContain("时间：12月20日（");
    expect(log[0]?.text).toContain("）19:00");
  });
});

describe("the 25th: groups without a 恳谈会 this month", () => {
  let h: Harness;
  let now = sh("2025-12-10T10:00:00");
  beforeAll(async () => {
    h = await createHarness({ clock: () => now, start: false });
  });
  afterAll(async () => {
    await h.close();
  });

  it("names the group to its 组长 privately once, and the monthly report counts it", async () => {
    expect((await h.say("c1", "gl1", "恳谈会 12月20日 19:00 村部会议室")).text).toContain("民情恳谈会通知");
    // Written up before the day: both go to the coming meeting, which stays scheduled (it can still be moved).
    expect((await h.say("c1", "gl1", "纪要 会前收集意见：路灯、水渠")).text).toContain("已记入 12月20日（周六）19:00 民情恳谈会的纪要（第 1 段）");
    expect((await h.say("c1", "gl1", "议定 备案 会上先议路灯")).text).toContain("已记录 12月20日（周六）19:00 民情恳谈会的第 1 项议定事项（备案");
    expect((await meetingRows(h))[0]?.status).toBe("scheduled");
    expect((await h.say("c1", "gl1", "恳谈会 12月27日 19:00 村部")).text).toContain("已经安排了 12月20日");
    // 二组 schedules one and calls it off: a cancelled meeting does not count.
    expect((await h.say("c2", "gl2", "恳谈会 12月27日 19:00 祠堂")).text).toContain("民情恳谈会通知");
    expect((await h.say("c2", "gl2", "恳谈会 取消")).text).toContain("取消了");

    const missing = () => h.db.select().from(outbox).where(like(outbox.dedupeKey, "talk-missing-%"));
    now = sh("2025-12-25T08:59:00");
    expect(await h.runtime.transact((ctx) => remindMissingTalks(ctx))).toEqual({ groups: 0, queued: 0 });
    now = sh("2025-12-25T09:00:00");
    expect(await h.runtime.transact((ctx) => remindMissingTalks(ctx))).toEqual({ groups: 1, queued: 1 });
    now = sh("2025-12-25T09:05:00");
    expect(await h.runtime.transact((ctx) => remindMissingTalks(ctx))).toEqual({ groups: 1, queued: 0 });
    const rows = await missing();
    expect(rows.map((r) => [r.dedupeKey, r.personId, r.chatId])).toEqual([["talk-missing-gl2-2025-12", "gl2", null]]);
    expect(rows[0]?.payload.text).toContain("本月（12月）东村二组还没有开民情恳谈会");

    now = sh("2025-12-28T08:00:00");
    await h.runtime.transact((ctx) => fanOutMonthlyReports(ctx));
    const [report] = await h.db.select().from(outbox).where(eq(outbox.dedupeKey, "report-vo1-2025-12"));
    expect(report?.payload.text).toContain("民情恳谈会（本月）：1/2 个组已开或已安排，共 1 次；未开：东村二组");
    expect(report?.payload.text).toContain("民情分析会（本月）：0 次");
  });
});
