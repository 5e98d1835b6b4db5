/**
 * A 报事 by voice on the real platforms (issue 18). Both deliver voice to the bot only in a single chat, already
 * transcribed: a WeCom `voice` callback (100719, `voice.content`) over real HTTP and crypto, and a DingTalk `audio`
 * robot message (`recognition`) over the real Stream client. The report opens in the reporter's home group on the
 * same platform, marked 语音 on the dashboard; the group gets the opening message (masked, @ the 邻长) once; the
 * reporter is answered privately. Someone with no registered group keeps the old answer and nothing opens.
 */
import { eq, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DingTalkBot } from "../src/bot/dingtalk/index.js";
import { chats, identities, outbox, tickets } from "../src/db/schema/index.js";
import { pino } from "pino";
import { newMsgId } from "./fakes/wecom.js";
import { BOT_ID, startWecomBot } from "./fakes/wecom-bot.js";
import { FakeDingTalk, fakeConfig } from "./fakes/dingtalk.js";
import { createHarness, type Harness, waitFor } from "./helpers/harness.js";
import { adminDashboard } from "./helpers/photos.js";

const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
const PHONE = "13912345678";

/** A single-chat voice callback as 100719 documents it: no chatid, the speech already text in voice.content. */
function singleVoice(userid: string, content: string, msgid: string) {
  return { msgid, aibotid: BOT_ID, chattype: "single", from: { userid }, response_url: "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=V", msgtype: "voice", voice: { content } };
}

describe("WeCom: a voice 报事 in the single chat", () => {
  let bot: Awaited<ReturnType<typeof startWecomBot>>;
  beforeAll(async () => {
    bot = await startWecomBot();
  });
  afterAll(async () => {
    await bot?.close();
  });
  const replyOf = (r: { reply: Record<string, unknown> | null }) => (r.reply as { stream: { content: string } } | null)?.stream.content ?? "";

  it("opens in the reporter's WeCom group, marked 语音; the group's webhook gets it masked and @ the 邻长, once", async () => {
    const msg = singleVoice("LiYi", `报事 村口的水管爆了，电话${PHONE}`, newMsgId());
    const res = await bot.fake.callback(msg);
    expect(res.status).toBe(200);
    const text = replyOf(res);
    expect(text).toContain("已登记工单");
    expect(text).toContain("已转到「东村一组企微群」");
    const id = ticketNo(text);
    const [t] = await bot.h.db.select().from(tickets).where(eq(tickets.id, id));
    expect(t).toMatchObject({ chatId: bot.chatId, reporterId: "r1", status: "open" });

    // The notice goes out through the outbox to the group's 消息推送 webhook, masked, with the 邻长 @-mentioned.
    const sent = await waitFor(async () => bot.fake.sent(bot.hook.key).find((c) => JSON.stringify(c.body).includes(`#${id}`)));
    const body = JSON.stringify(sent.body);
    expect(body).toContain("李一发来语音报事：村口的水管爆了");
    expect(body).not.toContain(PHONE);
    expect(bot.fake.mentions(bot.hook.key).map((m) => m.toLowerCase())).toContain("wanglz");

    // A redelivered callback neither opens another ticket nor posts again.
    await bot.fake.callback(msg);
    expect((await bot.h.db.select().from(tickets).where(eq(tickets.text, t?.text ?? ""))).length).toBe(1);
    const { app, cookie } = await adminDashboard(bot.h.runtime);
    const page = await (await app.request(`/dashboard/tickets/${id}`, { headers: { cookie } })).text();
    expect(page).toContain("报事（语音）");
    expect(await bot.h.db.select().from(outbox).where(like(outbox.dedupeKey, `voice-report-${id}%`))).toHaveLength(1);
  });

  it("a problem told by voice without 报事 is asked about; 是 opens it in the group, marked 语音", async () => {
    const asked = replyOf(await bot.fake.callback(singleVoice("LiYi", "村口的电线杆歪了快倒了", newMsgId())));
    expect(asked).toContain("要把这件事登记为报事吗？回复「是」即可，会登记到「东村一组企微群」");
    const before = (await bot.h.db.select().from(tickets)).length;
    const yes = replyOf(await bot.fake.callback(singleVoice("LiYi", "是", newMsgId())));
    expect(yes).toContain("已转到「东村一组企微群」");
    const id = ticketNo(yes);
    expect((await bot.h.db.select().from(tickets)).length).toBe(before + 1);
    const [t] = await bot.h.db.select().from(tickets).where(eq(tickets.id, id));
    expect(t).toMatchObject({ chatId: bot.chatId, reporterId: "r1", text: "村口的电线杆歪了快倒了" });
    await waitFor(async () => bot.fake.sent(bot.hook.key).find((c) => JSON.stringify(c.body).includes("李一发来语音报事：村口的电线杆歪了快倒了")));
    const { app, cookie } = await adminDashboard(bot.h.runtime);
    expect(await (await app.request(`/dashboard/tickets/${id}`, { headers: { cookie } })).text()).toContain("报事（语音）");
    // A second 是 answers nothing.
    expect(replyOf(await bot.fake.callback(singleVoice("LiYi", "是", newMsgId())))).not.toContain("已登记工单");
  });

  it("typed 报事 in the single chat is still sent to the group, and a voice report from someone without a group opens nothing", async () => {
    const typed = await bot.fake.callback({ ...singleVoice("LiYi", "报事 路灯坏了", newMsgId()), msgtype: "text", voice: undefined, text: { content: "报事 路灯坏了" } });
    expect(replyOf(typed)).toContain("请在所在的村、组群里报事");
    // 孙三 (r3, 东村二组) has no WeCom group above him: the old answer, nothing opened.
    await bot.h.db.insert(identities).values({ platform: "wecom", externalId: "sunsan", personId: "r3" });
    const before = (await bot.h.db.select().from(tickets)).length;
    const lone = await bot.fake.callback(singleVoice("SunSan", "报事 后山塌方了", newMsgId()));
    expect(replyOf(lone)).toContain("请在所在的村、组群里报事");
    expect((await bot.h.db.select().from(tickets)).length).toBe(before);
  });
});

describe("DingTalk: a voice 报事 in the single chat", () => {
  let fake: FakeDingTalk;
  let bot: DingTalkBot;
  let h: Harness;
  const GROUP = "cidDongCunYiZuVoice==";
  beforeAll(async () => {
    fake = await FakeDingTalk.start();
    bot = new DingTalkBot(fakeConfig(fake), pino({ level: "silent" }));
    h = await createHarness({ senders: [bot.sender] });
    await h.db.insert(chats).values({ id: "dt-g1", platform: "dingtalk", externalId: GROUP, unitId: "g1", name: "东村一组钉钉群", meta: { openConversationId: GROUP } });
    await h.db.insert(identities).values({ platform: "dingtalk", externalId: "staff-r1", personId: "r1" });
    bot.start(h.runtime.pipeline);
    await waitFor(async () => bot.state()?.status === "connected");
  });
  afterAll(async () => {
    await bot?.stop();
    await h?.close();
    await fake?.close();
  });

  it("an audio message's recognition opens in the DingTalk group, marked 语音; the group is told through the OpenAPI", async () => {
    const before = fake.sessionPosts.length;
    const { text: _text, ...base } = fake.robotMessage({ text: "", staffId: "staff-r1", group: null });
    fake.pushRobot({ ...base, msgtype: "audio", content: { downloadCode: "dc-voice", recognition: "报事 桥头的护栏断了" } });
    const post = await waitFor(async () => fake.sessionPosts[before]);
    const text = (post.body.text as { content: string }).content;
    expect(text).toContain("已转到「东村一组钉钉群」");
    const id = ticketNo(text);
    const [t] = await h.db.select().from(tickets).where(eq(tickets.id, id));
    expect(t).toMatchObject({ chatId: "dt-g1", reporterId: "r1" });
    // With its 认领 button: an interactive card delivered to the group (or a plain group message without cards).
    const sent = await waitFor(async () => fake.requests.find((c) => JSON.stringify(c.body).includes("语音报事")));
    expect(sent.path).toMatch(/card|groupMessages/);
    expect(JSON.stringify(sent.body)).toContain(GROUP);
    expect(JSON.stringify(sent.body)).toContain("李一发来语音报事：桥头的护栏断了");
    const { app, cookie } = await adminDashboard(h.runtime);
    expect(await (await app.request(`/dashboard/tickets/${id}`, { headers: { cookie } })).text()).toContain("报事（语音）");
  });
});
