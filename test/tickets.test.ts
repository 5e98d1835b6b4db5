/** Every ticket transition and permission, through the simulator API of the real app on a real database. */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inboundMessages, ticketEvents, tickets } from "../src/db/schema/index.js";
import { leaks, personalIn } from "./helpers/personal-oracle.js";
import { createHarness, type Harness } from "./helpers/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
const eventsOf = async (id: number) =>
  (await h.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, id)).orderBy(ticketEvents.id)).map((e) => e.kind);
const ticket = async (id: number) => (await h.db.select().from(tickets).where(eq(tickets.id, id)))[0];

describe("report → claim → resolve → rate", () => {
  it("opens a ticket routed to the reporter's 邻长 with number, leader and deadline", async () => {
    const r = await h.say("c1", "r1", "@好邻 报事 村口路灯坏了，晚上很黑");
    expect(r.text).toMatch(/已登记工单 #\d+/);
    expect(r.text).toContain("王邻长（邻长）");
    expect(r.text).toMatch(/请在(今天|明天) \d\d:\d\d前答复/);
    expect(r.text).toContain("进度 #");
    expect(r.mentions).toEqual(["nl1"]);
    const t = await ticket(ticketNo(r.text));
    expect(t).toMatchObject({ status: "open", level: "neighborhood", unitId: "n1", holderUnitId: "n1", assigneeId: "nl1", reporterId: "r1", householdId: "h1", chatId: "c1", category: "基础设施" });
    expect(t?.answerDueAt?.getTime()).toBeGreaterThan(Date.now() + 3.9 * 3_600_000);
    expect(await eventsOf(t?.id as number)).toEqual(["opened"]);
  });

  it("runs the whole life of a ticket with an event for every change", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 井盖松动")).text);
    const claim = await h.say("c1", "nl1", `认领 #${id}`);
    expect(claim.text).toContain(`王邻长 已认领工单 #${id}`);
    expect(claim.mentions).toEqual(["r1"]);
    expect((await ticket(id))?.status).toBe("answered");
    expect((await ticket(id))?.answerDueAt).toBeNull();
    expect((await ticket(id))?.resolveDueAt).toBeInstanceOf(Date);

    const reply = await h.say("c1", "nl1", `回复 #${id} 明天上午师傅来修`);
    expect(reply.text).toContain("明天上午师傅来修");
    expect(reply.mentions).toEqual(["r1"]);

    const done = await h.say("c1", "nl1", `办结 #${id} 井盖已更换`);
    expect(done.text).toContain(`工单 #${id} 已办结：井盖已更换`);
    expect(done.text).toContain(`满意 #${id}`);
    expect((await ticket(id))?.status).toBe("resolved");

    const rate = await h.say("c1", "r1", `满意 #${id}`);
    expect(rate.text).toContain("已关闭");
    expect(await ticket(id)).toMatchObject({ status: "closed", rating: "satisfied" });
    expect(await eventsOf(id)).toEqual(["opened", "claimed", "replied", "resolved", "rated"]);

    // Rating again after it closed: told it is closed (not "not resolved yet"), and nothing changes.
    const again = await h.say("c1", "r1", `不满意 #${id} 又松了`);
    expect(again.text).toContain(`工单 #${id} 已关闭`);
    expect(again.text).not.toContain("还没有办结");
    expect(await ticket(id)).toMatchObject({ status: "closed", rating: "satisfied" });
    expect(await eventsOf(id)).toEqual(["opened", "claimed", "replied", "resolved", "rated"]);
  });

  it("不满意 reopens the ticket and restarts the answer clock", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 垃圾没人收")).text);
    await h.say("c1", "nl1", `办结 #${id} 已联系保洁`);
    const r = await h.say("c1", "r1", `不满意 #${id} 还是没人来`);
    expect(r.text).toContain(`工单 #${id} 已重新打开`);
    expect(r.mentions).toEqual(["nl1"]);
    const t = await ticket(id);
    expect(t).toMatchObject({ status: "open", rating: "unsatisfied", reopenCount: 1 });
    expect(t?.answerDueAt?.getTime()).toBeGreaterThan(Date.now() + 3.9 * 3_600_000);
    expect(await eventsOf(id)).toEqual(["opened", "resolved", "reopened"]);
  });

  it("a category the town marks urgent makes the ticket urgent even without the word 紧急", async () => {
    const r = await h.say("c1", "r1", "报事 村口燃气管道有异味");
    expect(r.text).toContain("紧急工单");
    expect(await ticket(ticketNo(r.text))).toMatchObject({ category: "安全隐患", urgency: "urgent" });
  });

  it("reply to an open ticket stops the answer clock", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 水管漏水")).text);
    await h.say("c1", "nl1", `回复 #${id} 我下午过去看看`);
    expect(await ticket(id)).toMatchObject({ status: "answered", answerDueAt: null });
  });

  it("a vacant 邻 routes straight to the 组长", async () => {
    const r = await h.say("c1", "r2", "报事 路面有个大坑");
    expect(r.text).toContain("张组长（组长）");
    expect(await ticket(ticketNo(r.text))).toMatchObject({ unitId: "n2", holderUnitId: "g1", level: "group", assigneeId: "gl1" });
  });

  it("a leader reports on behalf of a household (代报)", async () => {
    const r = await h.say("c1", "nl1", "报事 代周奶奶：屋顶漏雨");
    const t = await ticket(ticketNo(r.text));
    expect(t).toMatchObject({ householdId: "h4", unitId: "n1", text: "屋顶漏雨", reporterId: "nl1" });
    const miss = await h.say("c1", "nl1", "报事 代不存在的人：屋顶漏雨");
    expect(miss.text).toContain("没找到");
  });
});

describe("status, todo, help", () => {
  it("进度 shows level, holder and time left", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 路灯不亮")).text);
    const r = await h.say("c1", "r1", `进度 #${id}`);
    expect(r.text).toContain(`工单 #${id}`);
    expect(r.text).toContain("待答复");
    expect(r.text).toContain("层级：邻");
    expect(r.text).toContain("王邻长");
    expect(r.text).toMatch(/剩余 \d小时/);
  });

  it("待办 lists a leader's open tickets and a resident's own reports", async () => {
    const id = ticketNo((await h.say("c2", "r3", "报事 三邻路灯坏了")).text);
    expect((await h.say("c2", "nl3", "待办")).text).toContain(`#${id}`);
    expect((await h.say("c2", "r3", "我的工单")).text).toContain(`#${id}`);
    expect((await h.say("c1", "nl1", "待办")).text).not.toContain(`#${id} `);
  });

  it("帮助 is tailored to the role", async () => {
    const resident = await h.say("c1", "r1", "帮助");
    const leader = await h.say("c1", "nl1", "@好邻");
    expect(resident.text).toContain("报事");
    expect(resident.text).not.toContain("办结");
    expect(resident.text).not.toContain("我负责"); // a resident's 待办 is their own reports
    expect(resident.text).toContain("待办");
    expect(leader.text).toContain("办结");
    expect(leader.text).toContain("代");
  });

  it("走访 is logged for leaders and refused to residents; 周报 posts the digest", async () => {
    expect((await h.say("c1", "nl1", "走访 李一 身体很好")).text).toContain("已记录 1 次走访");
    expect((await h.say("c1", "r1", "走访 李一 身体很好")).text).toContain("只有邻长、组长等负责人");
    expect((await h.say("c1", "nl1", "周报")).text).toContain("东村一组 · 周报");
  });

  it("ordinary chat gets no reply; an @ with unknown words gets a hint", async () => {
    expect((await h.say("c1", "r1", "今天天气不错")).text).toBe("");
    expect((await h.say("c1", "r1", "@好邻 你好")).text).toContain("帮助");
  });
});

describe("permissions and bad input", () => {
  it("a resident cannot resolve, claim or escalate", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 楼道灯坏了")).text);
    for (const cmd of [`办结 #${id} 好了`, `认领 #${id}`, `上报 #${id} 太慢`]) {
      const r = await h.say("c1", "r1", cmd);
      expect(r.text).toContain("需由所在邻、组、村的负责人办理");
    }
    expect((await ticket(id))?.status).toBe("open");
  });

  it("a leader of another branch cannot act; a leader above can", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 排水沟堵了")).text);
    expect((await h.say("c1", "nl3", `认领 #${id}`)).text).toContain("需由所在邻、组、村的负责人办理");
    expect((await h.say("c1", "gl2", `认领 #${id}`)).text).toContain("需由所在邻、组、村的负责人办理");
    expect((await h.say("c1", "vo1", `认领 #${id}`)).text).toContain("陈村干 已认领");
  });

  it("only the reporter may rate, and only after resolution", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 狗叫扰民")).text);
    expect((await h.say("c1", "r1", `满意 #${id}`)).text).toContain("还没有办结");
    await h.say("c1", "nl1", `办结 #${id} 已上门沟通`);
    expect((await h.say("c1", "r2", `满意 #${id}`)).text).toContain("只有报事人本人");
    expect((await ticket(id))?.status).toBe("resolved");
  });

  it("two leaders claiming at once: exactly one wins, the other is told who has it", async () => {
    for (let i = 0; i < 5; i++) {
      const id = ticketNo((await h.say("c1", "r1", `报事 同时认领 ${i}`)).text);
      const [a, b] = await Promise.all([h.say("c1", "nl1", `认领 #${id}`), h.say("c1", "gl1", `认领 #${id}`)]);
      const winners = [a, b].filter((r) => r.text.includes("已认领工单"));
      const losers = [a, b].filter((r) => r.text.includes("已由"));
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      const t = await ticket(id);
      expect(losers[0]?.text).toContain(`已由 ${t?.assigneeId === "nl1" ? "王邻长" : "张组长"} 认领`);
      expect((await eventsOf(id)).filter((k) => k === "claimed")).toHaveLength(1);
    }
  });

  it("claiming a claimed ticket says who has it", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 化粪池满了")).text);
    await h.say("c1", "nl1", `认领 #${id}`);
    expect((await h.say("c1", "gl1", `认领 #${id}`)).text).toContain("已由 王邻长 认领");
  });

  it("an unknown ticket number gets 找不到工单 #N", async () => {
    expect((await h.say("c1", "nl1", "认领 #99999")).text).toContain("找不到工单 #99999");
    expect((await h.say("c1", "r1", "进度 #99999")).text).toContain("找不到工单 #99999");
  });

  it("a malformed command gets a usage hint and changes nothing", async () => {
    const before = (await h.db.select().from(tickets)).length;
    const r = await h.say("c1", "nl1", "办结 #1");
    expect(r.text).toContain("用法");
    expect((await h.db.select().from(tickets)).length).toBe(before);
  });

  it("an unregistered chat is told how to register, and nothing is stored", async () => {
    const before = (await h.db.select().from(inboundMessages)).length;
    const r = await h.say("no-such-chat", "r1", "报事 路灯坏了", "m-unreg-1");
    expect(r.text).toContain("还没有登记");
    expect((await h.db.select().from(inboundMessages)).length).toBe(before);
  });

  it("text over 2,000 characters is refused politely", async () => {
    const before = (await h.db.select().from(tickets)).length;
    const r = await h.say("c1", "r1", `报事 ${"很长".repeat(1001)}`);
    expect(r.text).toContain("太长");
    expect((await h.db.select().from(tickets)).length).toBe(before);
  });

  it("the same messageId twice gives the same reply and one ticket", async () => {
    const before = (await h.db.select().from(tickets)).length;
    const a = await h.say("c1", "r1", "报事 桥栏杆松了", "dup-1");
    const b = await h.say("c1", "r1", "报事 桥栏杆松了", "dup-1");
    expect(b).toEqual(a);
    expect((await h.db.select().from(tickets)).length).toBe(before + 1);
    const log = await h.chatLog("c1");
    expect(log.filter((m) => m.text === "报事 桥栏杆松了")).toHaveLength(1);
  });

  it("a malformed HTTP request gets a 400 with a clear message", async () => {
    const bad = await h.app.request("/sim/messages", { method: "POST", body: "not json" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("JSON");
    const missing = await h.post("c1", "", "报事 x");
    expect(missing.status).toBe(400);
    expect(missing.body.error).toContain("userId");
    const unknown = await h.post("c1", "nobody", "报事 x");
    expect(unknown.status).toBe(400);
  });

  it("never echoes a phone number, address or household tag into the group", async () => {
    const r = await h.say("c1", "r1", "报事 1号孤寡老人家漏水 19900000104");
    const id = ticketNo(r.text);
    const status = await h.say("c1", "r1", `进度 #${id}`);
    for (const text of [r.text, status.text]) {
      expect(personalIn(text), text).toEqual([]);
      expect(leaks(text, [{ kind: "number", value: "19900000104" }, { kind: "word", value: "孤寡老人" }]), text).toEqual([]);
    }
    expect(status.text).toContain("【手机号】");
  });
});

describe("the bot's own fixed words", () => {
  it("help texts for every role pass the privacy check (no house number, tag or phone in examples)", async () => {
    const { helpReply } = await import("../src/bot/commands.js");
    for (const role of [null, "resident", "neighbor_leader", "group_leader", "area_leader", "village_official", "town_official", "admin"] as const) {
      expect(personalIn(helpReply(role).text)).toEqual([]);
    }
  });
});
