/**
 * 代报 and forgiving chat through the simulator pipeline: the real app, parser, command table and workflows on a real
 * database. The fixture's 一邻 has 李一's household (李一 is in the directory as resident r1) and 周四's (周奶奶, nobody
 * of it in the directory); 王邻长 (nl1) leads it.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { households, tickets, units } from "../src/db/schema/index.js";
import { CONFIRM_TTL_MS } from "../src/workflows/pending-reports.js";
import { createHarness, type Harness } from "./helpers/harness.js";

let h: Harness;
let now = new Date("2026-03-02T02:00:00Z");
beforeAll(async () => {
  h = await createHarness({ clock: () => now });
});
afterAll(async () => {
  await h.close();
});

const ticketNo = (text: string) => Number(/工单 #(\d+)/.exec(text)?.[1]);
const ticket = async (id: number) => (await h.db.select().from(tickets).where(eq(tickets.id, id)))[0];
const count = async () => (await h.db.select({ id: tickets.id }).from(tickets)).length;

describe("代报: a leader relays a household's request", () => {
  it("records the household and its 诉求人, says whose request it is without private data, and tells the household", async () => {
    const r = await h.say("c1", "nl1", "代报 李一 家里屋顶漏雨");
    const id = ticketNo(r.text);
    expect(id).toBeGreaterThan(0);
    expect(r.text).toContain("诉求户：李一家，王邻长代报");
    expect(r.text).toContain("@李一 你家的事已登记");
    expect(r.mentions).toEqual(expect.arrayContaining(["nl1", "r1"]));
    // The household's house number (1号), address and phone are in the directory; none of them is in the reply.
    expect(r.text).not.toMatch(/1号|东村一组1号|19900000101/u);
    expect(await ticket(id)).toMatchObject({
      householdId: "h1",
      onBehalf: true,
      requesterName: "李一",
      reporterId: "nl1",
      unitId: "n1",
      text: "家里屋顶漏雨",
      status: "open",
    });
  });

  it("a member named is the 诉求人; a house number names nobody and never reaches the group", async () => {
    const member = await h.say("c1", "nl1", "代报 李小一 院墙裂了");
    expect(member.text).toContain("诉求户：李小一（李一家），王邻长代报");
    const byHouse = await h.say("c1", "nl1", "代报 1号 院门坏了");
    expect(byHouse.text).toContain("诉求户：李一家，王邻长代报");
    expect(byHouse.text).not.toMatch(/1号/);
    expect((await ticket(ticketNo(byHouse.text)))?.requesterName).toBe("李一");
  });

  it("the household's resident sees it in 待办, hears its progress, and is the one asked to rate", async () => {
    const id = ticketNo((await h.say("c1", "nl1", "代报 李一 厨房水管漏水")).text);
    const todo = await h.say("c1", "r1", "待办");
    expect(todo.text).toContain(`#${id}`);
    expect(todo.text).toMatch(new RegExp(`#${id} [^\\n]*诉求户 李一家`, "u"));
    // The leader's own 待办 names the household too.
    expect((await h.say("c1", "nl1", "待办")).text).toMatch(new RegExp(`#${id} [^\\n]*诉求户 李一家`, "u"));
    const status = await h.say("c1", "r1", `进度 #${id}`);
    expect(status.text).toContain("诉求户：李一家，王邻长代报");

    // The 邻长 claims her own 代报: the household is told, not she.
    const claim = await h.say("c1", "nl1", `认领 #${id}`);
    expect(claim.text).toContain("@李一 你反映的事已有人负责");
    expect(claim.text).not.toContain("@王邻长 你反映");
    expect(claim.mentions).toEqual(["r1"]);

    const resolved = await h.say("c1", "nl1", `办结 #${id} 已换好水管`);
    expect(resolved.text).toContain(`@李一 满意请回复「满意 #${id}」`);
    expect(resolved.mentions).toEqual(["r1"]);
    // The relaying leader does not rate for a household that can rate itself.
    expect((await h.say("c1", "nl1", `满意 #${id}`)).text).toContain("只有报事人本人");
    expect((await h.say("c1", "r1", `满意 #${id}`)).text).toContain("谢谢评价");
    expect((await ticket(id))?.status).toBe("closed");
  });

  it("falls back to the relaying leader when nobody of the household is in the directory", async () => {
    const r = await h.say("c1", "nl1", "代报 周奶奶 水管爆了");
    const id = ticketNo(r.text);
    expect(await ticket(id)).toMatchObject({ householdId: "h4", onBehalf: true, requesterName: "周四" });
    expect(r.text).toContain("诉求户：周四家，王邻长代报");
    // 周四's household is tagged 孤寡老人 with house number 4号 and a phone: none of them reaches the group.
    expect(r.text).not.toMatch(/孤寡|4号|19900000104/u);
    const claim = await h.say("c1", "gl1", `认领 #${id}`);
    expect(claim.mentions).toEqual(["nl1"]);
    const resolved = await h.say("c1", "gl1", `办结 #${id} 已修好`);
    expect(resolved.mentions).toEqual(["nl1"]);
    expect((await h.say("c1", "nl1", `满意 #${id}`)).text).toContain("谢谢评价");
  });

  it("keeps 报事 代X：… as the same command", async () => {
    const r = await h.say("c1", "nl1", "报事 代李一：门口的路灯不亮");
    expect(await ticket(ticketNo(r.text))).toMatchObject({ householdId: "h1", onBehalf: true, text: "门口的路灯不亮" });
    const glued = await h.say("c1", "nl1", "代报李一家里停电了");
    expect(await ticket(ticketNo(glued.text))).toMatchObject({ householdId: "h1", onBehalf: true, text: "家里停电了" });
  });

  it("refuses a resident's 代报 with a hint, in either spelling, and opens nothing", async () => {
    const before = await count();
    for (const text of ["代报 周奶奶 水管爆了", "报事 代周奶奶：水管爆了"]) {
      const r = await h.say("c1", "r1", text);
      expect(r.text).toContain("你自己的事请直接发「报事 问题描述」");
    }
    expect(await count()).toBe(before);
  });

  it("asks again when no household matches, and never guesses", async () => {
    const before = await count();
    const r = await h.say("c1", "nl1", "代报 钱五 屋顶漏雨");
    expect(r.text).toContain("没找到“钱五”这一户，还没有登记");
    expect(await count()).toBe(before);
    // Only a name and no description: asks for it.
    expect((await h.say("c1", "nl1", "代报 李一")).text).toContain("请在户名后面写上要反映的事");
    expect(await count()).toBe(before);
  });

  it("several matches wait for a numbered pick, then open it for the household picked", async () => {
    await h.db.insert(households).values({ id: "h9", unitId: "n1", headName: "李一", members: ["李一"], houseNo: "9号" });
    const before = await count();
    const r = await h.say("c1", "nl1", "代报 李一 化粪池满了");
    expect(r.text).toContain("找到 2 户符合");
    expect(r.text).not.toContain("9号");
    expect(await count()).toBe(before);
    const picked = await h.say("c1", "nl1", "2");
    const t = await ticket(ticketNo(picked.text));
    expect(t).toMatchObject({ householdId: "h9", onBehalf: true, text: "化粪池满了" });
    expect(picked.text).toContain("诉求户：李一家，王邻长代报");
    expect(picked.text).not.toContain("9号");
    await h.db.update(households).set({ headName: "李九", members: ["李九"] }).where(eq(households.id, "h9"));
  });
});

describe("everyday chat is never an action", () => {
  it("phrases that open with a command word stay chat: no reply, nothing opened", async () => {
    const before = await count();
    for (const text of ["报事的流程能不能再讲一遍", "走访辛苦了", "投诉有用吗", "反映了好几次都没人管", "上报给镇里了没有", "求助大家，谁家有梯子"]) {
      expect((await h.say("c1", "r1", text)).text).toBe("");
    }
    for (const text of ["走访了五户，都挺好", "报修单填好了", "电联了，没人接"]) {
      expect((await h.say("c1", "nl1", text)).text).toBe("");
    }
    expect(await count()).toBe(before);
  });

  it("a ticket command glued to its ticket and text is a command", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 楼道灯坏了")).text);
    const r = await h.say("c1", "nl1", `回复${id}号电工明天到`);
    expect(r.text).toContain(`王邻长回复工单 #${id}：电工明天到`);
    expect((await ticket(id))?.status).toBe("answered");
  });

  it("a near miss gets the closest command back, and changes nothing", async () => {
    const before = await count();
    expect((await h.say("c1", "r1", "报是 村口路灯坏了")).text).toMatch(/^你是想「报事」吗？/u);
    expect((await h.say("c1", "r1", "保事 村口路灯坏了")).text).toMatch(/^你是想「报事」吗？/u);
    expect((await h.say("c1", "nl1", "办洁 #3 已修好")).text).toMatch(/^你是想「办结」吗？/u);
    expect(await count()).toBe(before);
  });
});

describe("categories and urgency from the words, and the town's own table", () => {
  it("电线垂得很低 is a safety matter and urgent; 急 / 马上 / ！！ make any report urgent", async () => {
    const wire = await h.say("c1", "r1", "报事 村口电线垂得很低，大车过不去");
    expect(wire.text).toMatch(/^🚨 已登记紧急工单 #\d+（安全隐患）/u);
    expect(await ticket(ticketNo(wire.text))).toMatchObject({ category: "安全隐患", urgency: "urgent" });
    const pump = await h.say("c1", "r1", "报事 水泵不抽水了，马上派人来");
    expect(await ticket(ticketNo(pump.text))).toMatchObject({ category: "供水", urgency: "urgent" });
    const road = await h.say("c1", "r1", "报事 水泥路裂了一条缝");
    expect(await ticket(ticketNo(road.text))).toMatchObject({ category: "道路", urgency: "normal" });
    const calm = await h.say("c1", "r1", "报事 路灯坏了，不急");
    expect(await ticket(ticketNo(calm.text))).toMatchObject({ category: "基础设施", urgency: "normal" });
  });

  it("a town's settings.categories in the directory replace the default table", async () => {
    const [town] = await h.db.select().from(units).where(eq(units.id, "t"));
    const settings = { ...(town?.settings ?? {}), categories: [{ name: "人饮工程", words: ["水泵", "水井"], urgentWords: ["没水喝"] }] };
    await h.db.update(units).set({ settings }).where(eq(units.id, "t"));
    try {
      const r = await h.say("c1", "r1", "报事 水井的水泵坏了，全组没水喝");
      expect(await ticket(ticketNo(r.text))).toMatchObject({ category: "人饮工程", urgency: "urgent" });
    } finally {
      await h.db.update(units).set({ settings: town?.settings ?? {} }).where(eq(units.id, "t"));
    }
  });
});

describe("figures that mean what they say", () => {
  it("after a town official claims a 邻 ticket, 进度 shows the claimer as 负责人", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 村口的桥栏杆松了")).text);
    expect((await h.say("c1", "r1", `进度 #${id}`)).text).toContain("负责人：王邻长（邻长）");
    await h.say("c1", "to1", `认领 #${id}`);
    const status = await h.say("c1", "r1", `进度 #${id}`);
    expect(status.text).toContain("负责人：刘镇干（镇干部）");
    expect(status.text).not.toContain("王邻长");
  });
});

describe("a problem told to the bot without a command word", () => {
  it("is asked about, and the same person's 是 within a few minutes opens it", async () => {
    const before = await count();
    const ask = await h.say("c1", "r1", "@好邻 村口路灯坏了好几天了");
    expect(ask.text).toContain("要把这件事登记为报事吗？回复「是」即可");
    expect(await count()).toBe(before);
    // Someone else's yes opens nothing.
    expect((await h.say("c1", "r2", "@好邻 是")).text).not.toContain("已登记");
    expect(await count()).toBe(before);
    const yes = await h.say("c1", "r1", "@好邻 是");
    const t = await ticket(ticketNo(yes.text));
    expect(t).toMatchObject({ reporterId: "r1", text: "村口路灯坏了好几天了", householdId: "h1", onBehalf: false });
    // Once: a second yes opens nothing more.
    expect((await h.say("c1", "r1", "是")).text).toBe("");
    expect(await count()).toBe(before + 1);
  });

  it("a late yes opens nothing; a greeting is not a problem", async () => {
    await h.say("c1", "r1", "@好邻 河边的护栏断了");
    now = new Date(now.getTime() + CONFIRM_TTL_MS + 1000);
    const before = await count();
    expect((await h.say("c1", "r1", "@好邻 是")).text).not.toContain("已登记");
    expect(await count()).toBe(before);
    expect((await h.say("c1", "r1", "@好邻 你好")).text).toContain("没太明白");
  });
});
