/**
 * Issue 16 item 1: an input that can never succeed is answered once, never redelivered for ever. Over real HTTP with
 * real crypto (the fake WeCom) on the real runtime and database: NUL and lone surrogates in a callback's text, userid
 * and msgid are cleaned at the adapter boundary; a message the database still refuses (one that bypassed the
 * adapters) is dead-lettered and answered with an apology; a 20,000-character text is answered "too long"; bad
 * dashboard and simulator parameters get 400.
 */
import { and, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { createPipeline, handleIncoming } from "../src/bot/pipeline.js";
import { replies } from "../src/bot/replies.js";
import { deadLetters, inboundMessages, tickets } from "../src/db/schema/index.js";
import { createApp } from "../src/app.js";
import { groupText, newMsgId } from "./fakes/wecom.js";
import { BOT_ID, CHATID, startWecomBot } from "./fakes/wecom-bot.js";
import { silent } from "./helpers/harness.js";
import { metricValue } from "./helpers/metrics.js";

type Bot = Awaited<ReturnType<typeof startWecomBot>>;
let bot: Bot;
beforeAll(async () => {
  bot = await startWecomBot({ scheduler: "memory" });
});
afterAll(async () => {
  await bot?.close();
});

type StreamReply = { stream: { content: string } };
const content = (r: { reply: Record<string, unknown> | null }) => (r.reply as StreamReply | null)?.stream.content ?? "";

const metric = (sample: string) => metricValue(bot.fake.botUrl, sample);

describe("poison characters at the adapter boundary", () => {
  it("a NUL and a lone surrogate in text, userid and msgid: one attempt, one answer, a ticket", async () => {
    const msgid = `${newMsgId()}\u0000\ud800`;
    // JSON.stringify writes them as \u0000 and \ud800, as any JSON encoder would, so they arrive intact.
    const msg = { ...groupText(BOT_ID, CHATID, "LiYi\u0000", "@好邻 报事 村口\u0000路灯坏了\ud800", msgid) };
    const before = (await bot.h.db.select({ n: count() }).from(tickets))[0]?.n ?? 0;
    const res = await bot.fake.callback(msg);
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(1);
    expect(content(res)).toContain("已登记工单");
    const [t] = await bot.h.db.select().from(tickets).orderBy(tickets.id).limit(1).offset(before);
    expect(t?.text).toBe("村口路灯坏了\ufffd");
    expect(t?.reporterId).toBe("r1"); // the cleaned userid is LiYi, who is in the directory
    const rows = await bot.h.db
      .select()
      .from(inboundMessages)
      .where(and(eq(inboundMessages.platform, "wecom"), eq(inboundMessages.messageId, `${msgid.slice(0, -2)}\ufffd`)));
    expect(rows).toHaveLength(1);
    // WeCom redelivers it (say our answer was lost): the same answer, nothing twice.
    const again = await bot.fake.callback(msg);
    expect(content(again)).toBe(content(res));
    expect((await bot.h.db.select({ n: count() }).from(tickets))[0]?.n).toBe(before + 1);
  });

  it("a 20,000-character text is answered 'too long' (not 413, not silence), and nothing is stored", async () => {
    const before = (await bot.h.db.select({ n: count() }).from(inboundMessages))[0]?.n;
    const res = await bot.fake.callback(groupText(BOT_ID, CHATID, "LiYi", `@好邻 报事 ${"路灯坏了".repeat(5000)}`));
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(1);
    expect(content(res)).toBe(replies.tooLong().text);
    expect((await bot.h.db.select({ n: count() }).from(inboundMessages))[0]?.n).toBe(before);
  });
});

describe("the pipeline's way out: the dead letter", () => {
  it("a message PostgreSQL refuses is recorded once, answered with an apology, its text in no log", async () => {
    // What no adapter lets through any more (each cleans), straight into the pipeline.
    const messageId = `poison-${newMsgId()}\u0000`;
    const msg = {
      platform: "wecom" as const,
      messageId,
      chatExternalId: CHATID,
      senderExternalId: "liyi",
      text: "报事 门口\u0000秘密13912345678",
      addressed: true,
      receivedAt: new Date(),
    };
    // The runtime's pipeline, logging somewhere the test can read.
    const logs: string[] = [];
    const pipeline = createPipeline({
      ...bot.h.runtime.pipeline,
      logger: pino({ level: "info" }, { write: (line: string) => void logs.push(line) }),
    });
    const sample = 'haolin_messages_total{platform="wecom",result="dead_letter"}';
    const failed = 'haolin_messages_total{platform="wecom",result="failed"}';
    const [dl0, f0] = [await metric(sample), await metric(failed)];
    const first = await handleIncoming(pipeline, msg);
    expect(first).toEqual({ replies: [replies.cannotHandle()], duplicate: false });
    const second = await handleIncoming(pipeline, msg);
    expect(second).toEqual({ replies: [replies.cannotHandle()], duplicate: true });
    const rows = await bot.h.db.select().from(deadLetters).where(eq(deadLetters.platform, "wecom"));
    const mine = rows.filter((r) => r.messageId.startsWith("poison-"));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ messageId: `${messageId.slice(0, -1)}\\u0000`, senderExternalId: "liyi", textLength: msg.text.length });
    expect(mine[0]?.error).toMatch(/ 22/); // a data exception, by SQLSTATE
    expect(await metric(sample)).toBe(dl0 + 2);
    expect(await metric(failed)).toBe(f0);
    const logged = logs.join("\n");
    expect(logged).toContain("dead-lettered");
    for (const s of ["门口", "秘密", "13912345678"]) expect(logged).not.toContain(s);
  });
});

describe("bad parameters get 400, not 500", () => {
  const TOKEN = "poison-admin-token-0123456789";
  let app: ReturnType<typeof createApp>;
  let cookie = "";
  beforeAll(async () => {
    app = createApp({ runtime: bot.h.runtime, logger: silent, sim: true, dashboard: { adminToken: TOKEN, sessionSecret: "p".repeat(40) } });
    const res = await app.request("/dashboard/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
    expect(res.status).toBe(303);
  });

  for (const path of [
    "/dashboard/tickets?unit=%00",
    "/dashboard/tickets?category=%00",
    "/dashboard/tickets?status=%00",
    "/dashboard/export.csv?unit=%00",
    "/dashboard/scorecards?month=9999-99",
    "/dashboard/scorecards?month=2026-13",
    "/dashboard/scorecards?month=%00",
    "/dashboard/tickets/%00",
    "/sim/chats/%00/messages",
    "/sim/chats/%ZZ/messages",
  ]) {
    it(`GET ${path} → 400`, async () => {
      const res = await app.request(path, { headers: { cookie } });
      expect(res.status).toBe(400);
    });
  }

  it("the control: good parameters still work", async () => {
    expect((await app.request("/dashboard/tickets?unit=v1&category=%E8%B7%AF%E7%81%AF", { headers: { cookie } })).status).toBe(200);
    expect((await app.request("/dashboard/scorecards?month=2026-03", { headers: { cookie } })).status).toBe(200);
    expect((await app.request("/sim/chats/c1/messages")).status).toBe(200);
  });

  it("a simulator message with a NUL in its ids and text is cleaned like any platform's", async () => {
    const res = await app.request("/sim/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chatId: "c1\u0000", userId: "r1\u0000", text: "帮助\u0000", messageId: `m${newMsgId()}\ud800` }),
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain("我是好邻");
  });
});

describe("DingTalk uses the same cleaning", () => {
  it("a robot message's and a card tap's strings come out clean", async () => {
    const { robotToIncoming, parseCardTap } = await import("../src/bot/dingtalk/parse.js");
    const { encodeOutTrackId } = await import("../src/bot/dingtalk/cards.js");
    const m = robotToIncoming(
      { msgId: "m\u0000", senderStaffId: "u\ud800", conversationType: "2", conversationId: "cid\u0000", msgtype: "text", text: { content: " 进度 #1\u0000" } } as never,
      [],
      new Date(),
    );
    expect(m).toMatchObject({ messageId: "m", senderExternalId: "u\ufffd", chatExternalId: "cid", text: "进度 #1" });
    const tap = parseCardTap({
      outTrackId: encodeOutTrackId(7),
      userId: "u\u0000",
      spaceType: "IM_GROUP",
      spaceId: "cid\u0000",
      content: JSON.stringify({ cardPrivateData: { actionIds: ["resolve"], params: { action: "resolve", remark: "好了\u0000" } } }),
    } as never);
    expect(tap).toMatchObject({ userId: "u", spaceId: "cid", remark: "好了" });
  });
});

describe("cleanIncoming covers every string of a message", () => {
  it("quote, place name and photo sources too", async () => {
    const { cleanIncoming } = await import("../src/bot/clean.js");
    const out = cleanIncoming({
      platform: "wecom",
      messageId: "m",
      chatExternalId: null,
      senderExternalId: "u",
      text: "t",
      receivedAt: new Date(),
      quote: { text: "q\u0000" },
      location: { latitude: 30, longitude: 120, name: "村口\u0000\udc00" },
      attachments: [{ kind: "image", source: { platform: "wecom", url: "https://x/\u0000" }, validMs: 1 }],
    });
    expect(out.quote?.text).toBe("q");
    expect(out.location?.name).toBe("村口\ufffd");
    expect(out.attachments?.[0]?.source).toEqual({ platform: "wecom", url: "https://x/" });
  });
});
