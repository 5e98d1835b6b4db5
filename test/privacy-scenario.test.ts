/**
 * The privacy rule end to end, as a new user meets it: a report with a phone, an ID number, a room address and a
 * 留守儿童 mention, then 进度, 待办 (resident and leader), 上报 with a number in the reason, 回复 with a number and an
 * address, 周报 — through the simulator, WeCom (callback replies, cards, the group webhook) and DingTalk (session
 * replies, group sends, cards). Every group-visible text is judged by the independent oracle; 3号桥 stays 3号桥; the
 * dashboard (in scope) and the leader's private message keep the full text.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { DingTalkBot } from "../src/bot/dingtalk/index.js";
import { Signer } from "../src/dashboard/auth.js";
import { chats, identities } from "../src/db/schema/index.js";
import { FakeDingTalk, fakeConfig } from "./fakes/dingtalk.js";
import { groupText } from "./fakes/wecom.js";
import { BOT_ID, CHATID, startWecomBot } from "./fakes/wecom-bot.js";
import { createHarness, type Harness, silent, waitFor } from "./helpers/harness.js";
import { leaks, personalIn, type Secret } from "./helpers/personal-oracle.js";

const REPORT = "3号桥边上的房子漏水，电话138 1234 5678，身份证330102199001011234，住18栋2单元301室，家里有留守儿童";
const SECRETS: Secret[] = [
  { kind: "number", value: "13812345678" },
  { kind: "number", value: "330102199001011234" },
  { kind: "word", value: "301室" },
  { kind: "word", value: "2单元301" },
  { kind: "word", value: "留守儿童" },
  { kind: "number", value: "13712345678" },
  { kind: "number", value: "13987654321" },
  { kind: "word", value: "住18栋" },
];
const ESCALATE = "需要组里协调，他儿子电话13712345678";
const REPLY = "明天上门，他电话139-8765-4321，住18栋";

const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);

function expectClean(texts: string[]) {
  expect(texts.length).toBeGreaterThan(0);
  for (const t of texts) {
    expect(leaks(t, SECRETS), t).toEqual([]);
    expect(personalIn(t), t).toEqual([]);
  }
}

/** Every string in a platform request body, with JSON-in-a-string (DingTalk's msgParam, card data) opened up. */
function strings(x: unknown): string[] {
  if (typeof x === "string") {
    try {
      const inner = JSON.parse(x) as unknown;
      if (inner && typeof inner === "object") return strings(inner);
    } catch {
      // not JSON
    }
    return [x];
  }
  if (Array.isArray(x)) return x.flatMap(strings);
  if (x && typeof x === "object") return Object.values(x).flatMap(strings);
  return [];
}

describe("the simulator, as a new user", () => {
  let h: Harness;
  let id: number;
  const groupReplies: string[] = [];
  beforeAll(async () => {
    h = await createHarness();
    const say = async (chat: string, who: string, text: string) => {
      const r = await h.say(chat, who, text);
      groupReplies.push(r.text);
      return r.text;
    };
    id = ticketNo(await say("c1", "r1", `报事 ${REPORT}`));
    await say("c1", "r1", `进度 #${id}`);
    await say("c1", "r1", "待办");
    await say("c1", "nl1", "待办");
    await say("c1", "nl1", `上报 #${id} ${ESCALATE}`);
    await say("c1", "gl1", `回复 #${id} ${REPLY}`);
    await say("c1", "nl1", "周报");
    // The escalation ping to the group and the private message to the 组长 go through the outbox.
    await waitFor(async () => (await h.chatLog("dm-gl1")).some((m) => m.text.includes(`#${id}`)));
  });
  afterAll(async () => {
    await h.close();
  });

  it("no group message shows the phone, the ID number, the room or the tag; 3号桥 stays", async () => {
    const log = (await h.chatLog("c1")).filter((m) => m.from === "bot").map((m) => m.text);
    expect(log.some((t) => t.includes("已上报到组级"))).toBe(true);
    expectClean([...groupReplies, ...log]);
    const status = groupReplies[1] as string;
    expect(status).toContain("3号桥");
    expect(status).toContain("【手机号】");
    const reply = groupReplies[5] as string;
    expect(reply).toContain("【手机号】");
    expect(reply).toContain("住【门牌】");
    // The oracle would have caught them: the typed text holds every one.
    expect(leaks(`${REPORT}${ESCALATE}${REPLY}`, SECRETS)).toHaveLength(SECRETS.length);
  });

  it("the leader's private message and the dashboard (in scope) keep the full text", async () => {
    const dm = (await h.chatLog("dm-gl1")).map((m) => m.text).find((t) => t.includes(`#${id}`)) as string;
    expect(dm).toContain("138 1234 5678");
    expect(dm).toContain("18栋2单元301室");
    const app = createApp({ runtime: h.runtime, logger: silent, sim: true, dashboard: { adminToken: "t".repeat(24), sessionSecret: "s".repeat(40) } });
    const link = new Signer("s".repeat(40), undefined).sign("link", { sub: "gl1", exp: Date.now() + 60_000 });
    const login = await app.request(`/dashboard/login/link?k=${link}`);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const page = await (await app.request(`/dashboard/tickets/${id}`, { headers: { cookie } })).text();
    for (const full of ["138 1234 5678", "330102199001011234", "18栋2单元301室", "留守儿童", "13712345678", "139-8765-4321"]) {
      expect(page).toContain(full);
    }
  });
});

describe("WeCom: callback replies, cards and the group webhook", () => {
  it("shows none of it in the group", async () => {
    const bot = await startWecomBot({ scheduler: "memory" });
    try {
      const texts: string[] = [];
      const send = async (user: string, text: string) => {
        const res = await bot.fake.callback(groupText(BOT_ID, CHATID, user, `@好邻 ${text}`));
        texts.push(...strings(res.reply));
        return strings(res.reply).join("\n");
      };
      const id = ticketNo(await send("LiYi", `报事 ${REPORT}`));
      await send("LiYi", `进度 #${id}`);
      await send("LiYi", "待办");
      await send("WangLZ", "待办");
      await send("WangLZ", `上报 #${id} ${ESCALATE}`);
      await send("zhangzz", `回复 #${id} ${REPLY}`);
      const ping = await waitFor(async () => bot.fake.sent(bot.hook.key).find((c) => JSON.stringify(c.body).includes("已上报到组级")));
      texts.push(...bot.fake.sent(bot.hook.key).flatMap((c) => strings(c.body)));
      expect(strings(ping.body).join("")).toContain("【手机号】");
      expect(texts.join("\n")).toContain("3号桥");
      expectClean(texts.filter((t) => /[\u4e00-\u9fff]/.test(t)));
    } finally {
      await bot.close();
    }
  });
});

describe("DingTalk: session replies, group messages and cards", () => {
  it("shows none of it in the group; the 组长's private message has the full text", async () => {
    const GROUP = "cidPrivacyGroup==";
    const fake = await FakeDingTalk.start();
    const bot = new DingTalkBot(fakeConfig(fake), silent);
    const h = await createHarness({ senders: [bot.sender] });
    try {
      await h.db.insert(chats).values({ id: "dt-g1", platform: "dingtalk", externalId: GROUP, unitId: "g1", name: "东村一组钉钉群", meta: { openConversationId: GROUP } });
      await h.db.insert(identities).values({ platform: "dingtalk", externalId: "staff-r1", personId: "r1" });
      bot.start(h.runtime.pipeline);
      await waitFor(async () => bot.state()?.status === "connected");
      const say = async (staffId: string, text: string) => {
        const before = fake.sessionPosts.length;
        fake.pushRobot(fake.robotMessage({ text, staffId, group: GROUP }));
        const post = await waitFor(async () => fake.sessionPosts[before]);
        return strings(post.body).join("\n");
      };
      const id = ticketNo(await say("staff-r1", `报事 ${REPORT}`));
      await say("staff-r1", `进度 #${id}`);
      await say("staff-r1", "待办");
      await say("staff-nl1", "待办");
      await say("staff-nl1", `上报 #${id} ${ESCALATE}`);
      await say("staff-gl1", `回复 #${id} ${REPLY}`);
      const isPrivate = (path: string) => path.includes("oToMessages");
      const dm = await waitFor(async () => fake.requests.find((r) => isPrivate(r.path) && JSON.stringify(r.body).includes(`#${id}`)));
      expect(strings(dm.body).join("")).toContain("138 1234 5678");
      await waitFor(async () => fake.requests.some((r) => !isPrivate(r.path) && JSON.stringify(r.body).includes("已上报到组级")));
      const group = [...fake.sessionPosts, ...fake.requests.filter((r) => !isPrivate(r.path))].flatMap((r) => strings(r.body));
      expect(group.join("\n")).toContain("3号桥");
      expectClean(group.filter((t) => /[\u4e00-\u9fff]/.test(t)));
    } finally {
      await bot.stop();
      await h.close();
      await fake.close();
    }
  });
});
