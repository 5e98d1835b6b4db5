/**
 * Binding a chat without the command line: a group that @-mentions the bot before it is registered is recorded as
 * 待绑定 (platform, chat id, first sender, when) on every path — the simulator, WeCom's callback (fake WeCom over HTTP
 * with real crypto) and DingTalk's Stream (fake DingTalk over a real WebSocket) — and an admin binds it on the
 * dashboard; the group is told, and its next report opens a ticket.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { DingTalkBot } from "../src/bot/dingtalk/index.js";
import { simSender } from "../src/bot/sim/sender.js";
import { chats, directoryChanges, pendingChats, tickets } from "../src/db/schema/index.js";
import type { Runtime } from "../src/runtime.js";
import { FakeDingTalk, fakeConfig } from "./fakes/dingtalk.js";
import { groupText, newMsgId } from "./fakes/wecom.js";
import { BOT_ID, startWecomBot } from "./fakes/wecom-bot.js";
import { createHarness, type Harness, silent, waitFor } from "./helpers/harness.js";

const TOKEN = "pending-admin-token-0123456789";
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
type StreamReply = { msgtype: string; stream: { content: string } };

/** The dashboard on a runtime, signed in as the admin. */
async function dashboard(runtime: Runtime) {
  const app = createApp({ runtime, logger: silent, sim: false, dashboard: { adminToken: TOKEN, sessionSecret: "p".repeat(40) } });
  const res = await app.request("/dashboard/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: TOKEN }).toString(),
  });
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  return {
    page: async () => (await app.request("/dashboard/directory/chats", { headers: { cookie } })).text(),
    bind: (form: Record<string, string>) =>
      app.request("/dashboard/directory/chats/bind", {
        method: "POST",
        headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form).toString(),
      }),
    history: async () => (await app.request("/dashboard/directory/history", { headers: { cookie } })).text(),
  };
}

describe("the simulator", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  }, 120_000);
  afterAll(async () => h?.close());

  it("records an unregistered group, lists it, binds it from the dashboard and then takes its reports", async () => {
    const first = await h.say("c-new", "r3", "@好邻 报事 桥栏杆松了");
    expect(first.text).toContain("还没有登记");
    await h.say("c-new", "r1", "@好邻 在吗");
    const [row] = await h.db.select().from(pendingChats).where(eq(pendingChats.externalId, "c-new"));
    expect(row).toMatchObject({ platform: "sim", firstSenderExternalId: "r3", messages: 2 });
    expect(row?.lastSeenAt.getTime()).toBeGreaterThanOrEqual(row?.firstSeenAt.getTime() ?? Infinity);
    expect(await h.db.select().from(tickets)).toHaveLength(0);

    const d = await dashboard(h.runtime);
    const page = await d.page();
    expect(page).toMatch(/<tr data-chat="c-new"><td>模拟器<\/td><td><code>c-new<\/code><\/td>\s*<td>孙三<br>/u);

    // A bad choice is answered and binds nothing.
    const bad = await d.bind({ platform: "sim", externalId: "c-new", unitId: "nowhere", name: "东村二组新群" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("找不到单位");
    const hook = await d.bind({ platform: "sim", externalId: "c-new", unitId: "g2", name: "东村二组新群", webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdefgh12" });
    expect(hook.status).toBe(400);
    expect(await h.db.select().from(chats).where(eq(chats.externalId, "c-new"))).toHaveLength(0);

    const res = await d.bind({ platform: "sim", externalId: "c-new", unitId: "g2", name: "东村二组新群" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard/directory/chats?bound=new");
    const [chat] = await h.db.select().from(chats).where(eq(chats.externalId, "c-new"));
    expect(chat).toMatchObject({ platform: "sim", unitId: "g2", name: "东村二组新群", status: "active" });
    expect(await h.db.select().from(pendingChats)).toHaveLength(0);
    expect(await d.page()).toContain("现在没有待绑定的群");

    // The group hears it is bound, and its next report is a ticket of 东村二组.
    const told = await waitFor(async () => (await h.chatLog("c-new")).find((m) => m.from === "bot" && m.text.includes("已登记到好邻")));
    expect(told.text).toContain("对应单位：东村二组");
    const id = ticketNo((await h.say("c-new", "r3", "@好邻 报事 桥栏杆松了")).text);
    expect((await h.db.select().from(tickets).where(eq(tickets.id, id)))[0]).toMatchObject({ chatId: chat?.id, reporterId: "r3" });
    expect(await d.history()).toContain("绑定模拟器群「东村二组新群」→ 东村二组");
  });
});

describe("WeCom", () => {
  let bot: Awaited<ReturnType<typeof startWecomBot>>;
  beforeAll(async () => {
    bot = await startWecomBot();
  }, 120_000);
  afterAll(async () => bot?.close());

  it("a group's @-mention is recorded with its first sender; binding takes the 消息推送 address and never shows it back", async () => {
    const chatid = "wrNewGroup02";
    const res = await bot.fake.callback(groupText(BOT_ID, chatid, "LiYi", "@好邻 报事 路面塌陷"));
    expect((res.reply as StreamReply).stream.content).toContain(`本群 ID：${chatid}`);
    const [row] = await bot.h.db.select().from(pendingChats).where(eq(pendingChats.externalId, chatid));
    expect(row).toMatchObject({ platform: "wecom", firstSenderExternalId: "liyi", messages: 1 });

    const d = await dashboard(bot.h.runtime);
    const page = await d.page();
    expect(page).toMatch(new RegExp(`<tr data-chat="${chatid}"><td>企业微信</td>.*?李一<br>`, "su"));
    expect(page).toContain('type="password" name="webhook"');

    // A pasted address that is not one is refused without being repeated.
    const wrong = await d.bind({ platform: "wecom", externalId: chatid, unitId: "g2", name: "东村二组企微群", webhook: "not-a-webhook secret-words" });
    expect(wrong.status).toBe(400);
    const wrongText = await wrong.text();
    expect(wrongText).toContain("消息推送地址格式不对");
    expect(wrongText).not.toContain("secret-words");

    const hook = bot.fake.addWebhook();
    const ok = await d.bind({ platform: "wecom", externalId: chatid, unitId: "g2", name: "东村二组企微群", webhook: hook.url });
    expect(ok.status).toBe(303);
    const [chat] = await bot.h.db.select().from(chats).where(eq(chats.externalId, chatid));
    expect(chat).toMatchObject({ unitId: "g2", webhookUrl: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${hook.key}` });
    const after = await d.page();
    expect(after).toContain(`已保存（…${hook.key.slice(-4)}）`);
    expect(after).not.toContain(hook.key);
    expect(await d.history()).not.toContain(hook.key);

    // The notice goes out through the group's own webhook; then the group reports.
    const sent = await waitFor(async () => bot.fake.sent(hook.key).find((c) => JSON.stringify(c.body).includes("已登记到好邻")));
    expect(JSON.stringify(sent.body)).toContain("东村二组");
    const again = await bot.fake.callback(groupText(BOT_ID, chatid, "LiYi", "@好邻 报事 路面塌陷", newMsgId()));
    const id = ticketNo((again.reply as StreamReply).stream.content);
    expect((await bot.h.db.select().from(tickets).where(eq(tickets.id, id)))[0]).toMatchObject({ chatId: chat?.id, unitId: "n1" });
    expect(bot.logs.join("\n")).not.toContain(hook.key);
  });
});

describe("DingTalk", () => {
  let fake: FakeDingTalk;
  let bot: DingTalkBot;
  let h: Harness;
  beforeAll(async () => {
    fake = await FakeDingTalk.start();
    bot = new DingTalkBot(fakeConfig(fake), silent);
    h = await createHarness({ senders: [bot.sender, simSender] });
    bot.start(h.runtime.pipeline);
    await waitFor(async () => bot.state()?.status === "connected");
  }, 120_000);
  afterAll(async () => {
    await bot?.stop();
    await h?.close();
    await fake?.close();
  });

  it("a group's @-mention is recorded with its title and first sender, bound on the dashboard, and told through the OpenAPI", async () => {
    const group = "cidXiCunXinQun==";
    const before = fake.sessionPosts.length;
    fake.pushRobot(fake.robotMessage({ text: "报事 路灯不亮", staffId: "staff-gl1", group }));
    const reply = await waitFor(async () => fake.sessionPosts[before]);
    expect((reply.body.text as { content: string }).content).toContain("还没有登记");
    const [row] = await waitFor(async () => {
      const rows = await h.db.select().from(pendingChats).where(eq(pendingChats.externalId, group));
      return rows.length ? rows : null;
    });
    expect(row).toMatchObject({ platform: "dingtalk", title: "测试群", firstSenderExternalId: "staff-gl1" });

    const d = await dashboard(h.runtime);
    const page = await d.page();
    expect(page).toMatch(/<code>cidXiCunXinQun==<\/code><br>测试群<\/td>\s*<td>张组长<br>/u);
    expect(page).toContain('value="测试群"'); // the title is the name proposed
    expect((await d.bind({ platform: "dingtalk", externalId: group, unitId: "g1", name: "东村一组钉钉新群" })).status).toBe(303);

    const sent = await waitFor(async () => fake.calls("/v1.0/robot/groupMessages/send").find((c) => String(c.body.msgParam).includes("已登记到好邻")));
    expect(sent.body.openConversationId).toBe(group);
    const kinds = (await h.db.select().from(directoryChanges)).map((c) => c.kind);
    expect(kinds).toEqual(["bind_chat"]);
  });
});
