/**
 * Every WeCom 智能机器人 callback the documents show (100719 messages, 101027 events), in the documents' shape
 * (test/fixtures/platforms/wecom/), through the real HTTP path with real crypto: each gets 200 and the answer
 * the passive-reply document allows for it (101031). Then quoting: `认领` / `办结 …` / `进度` typed under a quoted
 * message act on the ticket it names.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tickets } from "../src/db/schema/index.js";
import { BOT_ID, CHATID, startWecomBot } from "./fakes/wecom-bot.js";
import { platformFixture } from "./helpers/fixtures.js";

type Bot = Awaited<ReturnType<typeof startWecomBot>>;
type StreamReply = { msgtype: string; stream: { content: string; finish: boolean }; template_card?: { task_id: string; button_list: { key: string }[] } };

let bot: Bot;
beforeAll(async () => {
  bot = await startWecomBot({ scheduler: "memory" });
});
afterAll(async () => {
  await bot?.close();
});

const doc = (file: string, values: Record<string, string> = {}) =>
  platformFixture(`wecom/${file}`, {
    AIBOTID: BOT_ID,
    CHATID,
    USERID: "LiYi",
    BOTNAME: "好邻",
    RESPONSEURL: "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=DOC",
    ...values,
  });
const streamOf = (r: { reply: Record<string, unknown> | null }) => r.reply as StreamReply;
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);

describe("the documents' callbacks, through the real path", () => {
  it("text in a group, quoting a message without a ticket (100719 文本 + 引用): the menu as a finished stream", async () => {
    const r = await bot.fake.callback(doc("text-group-quote.json"));
    expect(r.status).toBe(200);
    expect(streamOf(r)).toMatchObject({ msgtype: "stream", stream: { finish: true } });
    expect(streamOf(r).stream.content).toContain("我是好邻");
  });

  it("text in a single chat (no chatid), mixed in a group, voice (already transcribed)", async () => {
    for (const file of ["text-single.json", "mixed-group.json", "voice-single.json"]) {
      const r = await bot.fake.callback(doc(file));
      expect(r.status, file).toBe(200);
      expect(streamOf(r).stream.content, file).toContain("我是好邻");
    }
  });

  it("image and file (single chat only): answered, never refused", async () => {
    for (const file of ["image-single.json", "file-single.json"]) {
      const r = await bot.fake.callback(doc(file, { IMAGEURL: "https://example.invalid/i", FILEURL: "https://example.invalid/f" }));
      expect(r.status, file).toBe(200);
      expect(streamOf(r).msgtype, file).toBe("stream");
    }
  });

  it("a stream refresh (流式消息刷新) is answered with an empty 200: our streams are always finished", async () => {
    const r = await bot.fake.callback(doc("stream-refresh.json", { STREAMID: "s-1" }));
    expect(r).toMatchObject({ status: 200, body: "", reply: null });
  });

  it("enter_chat, which carries no chattype (101027): the welcome as text, the reply 101031 allows", async () => {
    const body = doc("event-enter-chat.json");
    expect(body).not.toHaveProperty("chattype");
    const r = await bot.fake.callback(body);
    expect(r.status).toBe(200);
    expect(r.reply).toMatchObject({ msgtype: "text", text: { content: expect.stringContaining("我是好邻") } });
  });

  it("feedback_event: only an empty answer is allowed (101031)", async () => {
    const r = await bot.fake.callback(doc("event-feedback.json"));
    expect(r).toMatchObject({ status: 200, body: "" });
  });

  it("template_card_event of a card we did not make, and one without task_id or event_key: 200, nothing changes", async () => {
    const foreign = await bot.fake.callback(doc("event-template-card.json", { EVENTKEY: "vote-1", TASKID: "task-1" }));
    expect(foreign).toMatchObject({ status: 200, body: "" });
    const bare = doc("event-template-card.json", { EVENTKEY: "claim-1", TASKID: "x" }) as { event: { template_card_event: Record<string, unknown> } };
    delete bare.event.template_card_event.task_id;
    delete bare.event.template_card_event.event_key;
    expect(await bot.fake.callback(bare)).toMatchObject({ status: 200, body: "" });
    const unknownEvent = { ...doc("event-enter-chat.json"), event: { eventtype: "some_future_event" } };
    expect(await bot.fake.callback(unknownEvent)).toMatchObject({ status: 200, body: "" });
  });

  it("our own card's click in the documented shape claims the ticket and updates the card", async () => {
    const opened = streamOf(await bot.fake.callback(doc("text-group-quote.json", { "帮助": "报事 祠堂屋顶漏雨" })));
    const id = ticketNo(opened.stream.content);
    const taskId = opened.template_card?.task_id as string;
    const r = await bot.fake.callback(doc("event-template-card.json", { USERID: "WangLZ", EVENTKEY: `claim-${id}`, TASKID: taskId }));
    expect(r.reply).toMatchObject({ response_type: "update_template_card", template_card: { task_id: taskId } });
    expect((await bot.h.db.select().from(tickets).where(eq(tickets.id, id)))[0]).toMatchObject({ status: "answered", assigneeId: "nl1" });
  });
});

describe("quoting (100719 引用)", () => {
  const say = async (userid: string, content: string, quoted?: string) => {
    const body = doc("text-group-quote.json", { USERID: userid }) as Record<string, unknown>;
    body.text = { content };
    if (quoted === undefined) delete body.quote;
    else body.quote = { msgtype: "text", text: { content: quoted } };
    return streamOf(await bot.fake.callback(body)).stream.content;
  };
  const ticket = async (id: number) => (await bot.h.db.select().from(tickets).where(eq(tickets.id, id)))[0];

  it("quoting the bot's answer and typing 认领, then 办结 with a result, acts on that ticket", async () => {
    const opened = await say("LiYi", "@好邻 报事 井盖丢了");
    const id = ticketNo(opened);
    expect(await say("WangLZ", "@好邻 认领", opened)).toContain(`已认领工单 #${id}`);
    expect(await ticket(id)).toMatchObject({ status: "answered", assigneeId: "nl1" });
    expect(await say("WangLZ", "@好邻 办结 已经补上了", opened)).toContain(`#${id}`);
    expect(await ticket(id)).toMatchObject({ status: "resolved" });
  });

  it("quoting a resident's report and typing 进度 answers about the ticket it opened", async () => {
    const id = ticketNo(await say("LiYi", "@好邻 报事 路口积水很深"));
    const status = await say("WangLZ", "@好邻 进度", "@好邻 报事 路口积水很深");
    expect(status).toContain(`#${id}`);
    expect(status).not.toContain("用法");
  });

  it("a quote that names no ticket gets the usual usage hint, and a typed number still wins", async () => {
    expect(await say("WangLZ", "@好邻 认领", "大家晚上好")).toContain("用法：认领 #单号");
    const a = ticketNo(await say("LiYi", "@好邻 报事 广场灯不亮"));
    const b = ticketNo(await say("LiYi", "@好邻 报事 广场椅子坏了"));
    expect(await say("WangLZ", `@好邻 进度 #${b}`, `工单 #${a}`)).toContain(`#${b}`);
  });
});

describe("a renamed bot (another display name than WECOM_BOT_NAMES)", () => {
  it("a message @-ing the bot by another name is accepted, the name logged once and shown on /readyz", async () => {
    const logStart = bot.logs.length;
    const body = (content: string) => ({ ...doc("text-single.json"), chatid: CHATID, chattype: "group", text: { content } });
    const r = await bot.fake.callback(body("@青禾小助手\u2005报事 路边大树倒了"));
    expect(streamOf(r).stream.content).toContain("已登记工单");
    await bot.fake.callback(body("@青禾小助手 帮助"));
    const warnings = bot.logs.slice(logStart).filter((l) => l.includes("the settings do not list"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("青禾小助手");
    const ready = (await (await fetch(new URL("/readyz", bot.fake.botUrl))).json()) as { checks: Record<string, { otherNamesSeen?: string[] }> };
    expect(ready.checks["wecom-bot-names"]?.otherNamesSeen).toEqual(["青禾小助手"]);
  });

  it("a leading @ of a person in the directory is not taken for the bot", async () => {
    const body = { ...doc("text-single.json"), chatid: CHATID, chattype: "group", text: { content: "@王邻长 帮我看看 @好邻" } };
    expect(streamOf(await bot.fake.callback(body)).stream.content).toContain("没太明白");
    const ready = (await (await fetch(new URL("/readyz", bot.fake.botUrl))).json()) as { checks: Record<string, { otherNamesSeen?: string[] }> };
    expect(ready.checks["wecom-bot-names"]?.otherNamesSeen).not.toContain("王邻长");
  });
});
