/**
 * Issue 16 item 5, through the simulator's HTTP route on the real pipeline and database: a refusal about another
 * village's ticket reads exactly like one about a ticket that does not exist, and a leader's 待办 / 进度 asked in a
 * group shows only that group's tickets there — the rest reach the leader privately.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chats, people, units } from "../src/db/schema/index.js";
import { createHarness, type Harness, waitFor } from "./helpers/harness.js";

let h: Harness;
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
/** A reply with its ticket number written as #N, so two refusals can be compared word for word. */
const shape = (text: string, id: number) => text.replaceAll(`#${id}`, "#N");

beforeAll(async () => {
  h = await createHarness();
  // A second village of the same town, with its own group chat, resident and group leader.
  await h.db.insert(units).values([
    { id: "w", parentId: "t", kind: "village", name: "西村" },
    { id: "wg", parentId: "w", kind: "group", name: "西村一组" },
  ]);
  await h.db.insert(people).values([
    { id: "wr", name: "钱五", role: "resident", unitId: "wg" },
    { id: "wgl", name: "冯组长", role: "group_leader", unitId: "wg" },
  ]);
  await h.db.insert(chats).values({ id: "cw", platform: "sim", externalId: "cw", unitId: "wg", name: "西村一组群" });
  await h.db.execute(sql`update directory_version set version = version + 1`);
});
afterAll(async () => {
  await h.close();
});

describe("refusals that leak nothing", () => {
  it("进度, 认领, 办结 and 满意 on another village's ticket answer exactly like a ticket that does not exist", async () => {
    const east = ticketNo((await h.say("c1", "r1", "报事 东村村口路灯坏了")).text);
    const missing = east + 100_000;
    for (const [who, cmd] of [
      ["wr", "进度"],
      ["wgl", "进度"],
      ["wgl", "认领"],
      ["wgl", "办结"],
      ["wr", "满意"],
    ] as const) {
      const extra = cmd === "办结" ? " 已修好" : "";
      const real = (await h.say("cw", who, `${cmd} #${east}${extra}`)).text;
      const none = (await h.say("cw", who, `${cmd} #${missing}${extra}`)).text;
      expect(shape(real, east), `${who} ${cmd}`).toBe(shape(none, missing));
      expect(real).not.toContain("路灯");
    }
    // The control: in the ticket's own group the refusal may say what it needs, since the ticket is seen there.
    expect((await h.say("c1", "r2", `认领 #${east}`)).text).toContain("负责人");
    expect((await h.say("c1", "r2", `进度 #${east}`)).text).toContain("路灯");
  });
});

describe("a leader's lists in a group", () => {
  it("待办 and 进度 in one group show that group's tickets; another group's go to the leader privately", async () => {
    const a = ticketNo((await h.say("c1", "r1", "报事 一组的水管漏了")).text);
    const b = ticketNo((await h.say("c2", "r3", "报事 二组的井盖丢了")).text);
    // Both climb to the village, where 陈村干 (vo1) holds them.
    await h.say("c1", "nl1", `上报 #${a} 需要组里协调`);
    await h.say("c1", "gl1", `上报 #${a} 需要村里协调`);
    await h.say("c2", "nl3", `上报 #${b} 需要组里协调`);
    await h.say("c2", "gl2", `上报 #${b} 需要村里协调`);

    const todo = (await h.say("c1", "vo1", "待办")).text;
    expect(todo).toContain(`#${a}`);
    expect(todo).not.toContain(`#${b}`);
    expect(todo).not.toContain("井盖");
    expect(todo).toContain("另有 1 条其他单位的待办工单，已私信发给你");
    const dm = await waitFor(async () => (await h.chatLog("dm-vo1")).find((m) => m.text.includes(`#${b}`) && m.text.includes(`#${a}`)));
    expect(dm.from).toBe("bot");

    const status = (await h.say("c1", "vo1", `进度 #${b}`)).text;
    expect(status).toBe(`工单 #${b} 的进度已私信发给你。`);
    await waitFor(async () => (await h.chatLog("dm-vo1")).find((m) => m.text.includes("井盖") && !m.text.includes("待办")));
    expect((await h.say("c1", "vo1", `进度 #${a}`)).text).toContain("水管");

    // In the village's own chat both belong: one list, nothing sent privately.
    const village = (await h.say("cv", "vo1", "待办")).text;
    expect(village).toContain(`#${a}`);
    expect(village).toContain(`#${b}`);
    expect(village).not.toContain("私信");
  });
});
