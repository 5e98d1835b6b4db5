/**
 * WeCom end to end against the fake WeCom, over real HTTP with real crypto, on the real runtime (BullMQ on Redis,
 * PGlite or PostgreSQL): a group @-message becomes a ticket with an encrypted reply and a card, the timed escalation
 * @-mentions the 组长 through the group's webhook, a card click claims the ticket, and retried callbacks create
 * nothing twice.
 */
import { and, count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inboundMessages, pendingChats, ticketEvents, tickets } from "../src/db/schema/index.js";
import { cardClick, groupText, newMsgId, wxDecrypt } from "./fakes/wecom.js";
import { BOT_ID, CHATID, startWecomBot } from "./fakes/wecom-bot.js";
import { waitFor } from "./helpers/harness.js";

type Bot = Awaited<ReturnType<typeof startWecomBot>>;
type StreamReply = {
  msgtype: string;
  stream: { id: string; finish: boolean; content: string };
  template_card?: { card_type: string; task_id: string; main_title: { title: string }; button_list: { text: string; key: string }[] };
};
type CardUpdate = { response_type: string; template_card: { task_id: string; sub_title_text: string; button_list: { key: string }[] } };

let bot: Bot;
let skewMs = 0; // the bot's injected clock, moved on instead of waiting
const overrides = { answerMs: 3000 };
beforeAll(async () => {
  // Workers start in the first test, once the 组's clock is set long (see there); the other tests need none.
  bot = await startWecomBot({ scheduler: "bullmq", overrides, clock: () => new Date(Date.now() + skewMs), start: false });
});
afterAll(async () => {
  await bot?.close();
});

const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
const countTickets = async () => (await bot.h.db.select({ n: count() }).from(tickets))[0]?.n ?? 0;
const inboundRows = async (msgid: string) =>
  bot.h.db.select().from(inboundMessages).where(and(eq(inboundMessages.platform, "wecom"), eq(inboundMessages.messageId, msgid)));

describe("WeCom 智能机器人 + 消息推送 end to end", () => {
  it("answers URL verification with the decrypted echostr, bare", async () => {
    const r = await bot.fake.verifyUrl();
    expect(r.status).toBe(200);
    expect(r.text).toBe(r.echo);
  });

  it("a group @-message becomes a ticket, escalates with a real @ of the 组长, and a card click claims it", async () => {
    const msg = groupText(BOT_ID, CHATID, "LiYi", "@好邻 报事 村口路灯坏了");
    const res = await bot.fake.callback(msg);
    expect(res.status).toBe(200);
    const reply = res.reply as StreamReply;
    expect(reply.msgtype).toBe("stream_with_template_card");
    expect(reply.stream.finish).toBe(true);
    expect(reply.stream.content).toContain("已登记工单");
    expect(reply.stream.content).toContain("王邻长");
    const id = ticketNo(reply.stream.content);
    // The 组's leaders then get an hour, so the click below cannot lose a race with their clock on a slow machine;
    // the workers start only now, so the 3 s clock cannot have fired before this line.
    overrides.answerMs = 3_600_000;
    bot.h.runtime.start();

    const [t] = await bot.h.db.select().from(tickets).where(eq(tickets.id, id));
    expect(t).toMatchObject({ reporterId: "r1", chatId: bot.chatId, unitId: "n1", assigneeId: "nl1", status: "open" });
    expect(t?.text).toBe("村口路灯坏了"); // the bot's @name stripped

    const card = reply.template_card;
    expect(card?.card_type).toBe("button_interaction");
    expect(card?.task_id).toMatch(new RegExp(`^t${id}-[0-9a-f]{20}$`));
    expect(card?.button_list.map((b) => [b.text, b.key])).toEqual([
      ["认领", `claim-${id}`],
      ["进度", `status-${id}`],
    ]);

    // Nobody answers within 3 s: the ticket climbs to the 组 and the 组长 is @-mentioned through the webhook.
    const ping = await waitFor(async () => bot.fake.sent(bot.hook.key).find((c) => JSON.stringify(c.body).includes(`工单 #${id} 已上报到组级`)));
    expect(ping.body.msgtype).toBe("text");
    const pingText = ping.body.text as { content: string; mentioned_list: string[] };
    expect(pingText.mentioned_list).toEqual(["zhangzz", "liyi"]);
    expect(pingText.content).toContain("@张组长");
    expect(bot.fake.mentions(bot.hook.key)).toContain("zhangzz");
    const atGroup = (await bot.h.db.select().from(tickets).where(eq(tickets.id, id)))[0];
    expect(atGroup).toMatchObject({ level: "group", assigneeId: "gl1" });

    // 张组长 clicks 认领 on the card: the same workflow as typing 认领 #id, and the card is updated in place.
    const click = cardClick(BOT_ID, CHATID, "ZhangZZ", `claim-${id}`, card?.task_id as string);
    const clicked = await bot.fake.callback(click);
    expect(clicked.status).toBe(200);
    const update = clicked.reply as CardUpdate;
    expect(update.response_type).toBe("update_template_card");
    expect(update.template_card.task_id).toBe(card?.task_id);
    expect(update.template_card.sub_title_text).toContain(`张组长 已认领工单 #${id}`);
    expect(update.template_card.button_list.map((b) => b.key)).toEqual([`status-${id}`]);
    expect((await bot.h.db.select().from(tickets).where(eq(tickets.id, id)))[0]).toMatchObject({ status: "answered", assigneeId: "gl1" });

    // The same click delivered again (same msgid) and a second click: one claim in the 台账, the same card.
    const again = await bot.fake.callback(click);
    expect(again.reply).toEqual(update);
    const second = await bot.fake.callback(cardClick(BOT_ID, CHATID, "zhangzz", `claim-${id}`, card?.task_id as string));
    expect((second.reply as CardUpdate).template_card.task_id).toBe(card?.task_id);
    const claims = await bot.h.db.select().from(ticketEvents).where(and(eq(ticketEvents.ticketId, id), eq(ticketEvents.kind, "claimed")));
    expect(claims).toHaveLength(1);
    expect(claims[0]?.actorId).toBe("gl1");

    // The claim stopped the clock: even past the group level's deadline (by the injected clock), the deadline does
    // nothing, so no further escalation (each would be an event written with its ping) and no further ping.
    skewMs = (atGroup?.answerDueAt?.getTime() as number) - Date.now() + 60_000;
    try {
      expect(await bot.h.runtime.onDeadline(id)).not.toBe("escalated");
    } finally {
      skewMs = 0;
    }
    expect(await bot.h.db.select().from(ticketEvents).where(and(eq(ticketEvents.ticketId, id), eq(ticketEvents.kind, "escalated")))).toHaveLength(1);
    expect(bot.fake.sent(bot.hook.key).filter((c) => JSON.stringify(c.body).includes(`工单 #${id} 已上报`))).toHaveLength(1);
  });

  it("a callback retried after a timeout, and a duplicate delivery, create nothing twice", async () => {
    const before = await countTickets();
    const msg = groupText(BOT_ID, CHATID, "LiYi", "@好邻 报事 水沟堵了");
    // Hold the inbound table so the first attempt cannot answer in time; WeCom gives up on it and retries.
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked = () => {};
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = bot.h.db.transaction(async (tx) => {
      await tx.execute(sql`lock table inbound_messages in exclusive mode`);
      locked();
      await held;
    });
    await isLocked;
    const res = await bot.fake.callback(msg, {
      timeoutMs: (attempt) => (attempt === 1 ? 400 : 10_000),
      afterAttempt: (attempt) => {
        if (attempt === 1) release();
      },
    });
    await holder;
    expect(res.attempts).toBe(2);
    expect(res.status).toBe(200);
    const first = res.reply as StreamReply;
    const id = ticketNo(first.stream.content);
    expect(first.stream.content).toContain(`已登记工单 #${id}`);

    const dup = await bot.fake.callback(msg);
    const again = dup.reply as StreamReply;
    expect(again.stream.content).toBe(first.stream.content);
    expect(again.template_card?.task_id).toBe(first.template_card?.task_id);
    expect(await countTickets()).toBe(before + 1);
    expect(await inboundRows(msg.msgid)).toHaveLength(1);
  });

  it("answers 503 while the database fails, so WeCom retries, and loses nothing", async () => {
    const before = await countTickets();
    const msg = groupText(BOT_ID, CHATID, "LiYi", "@好邻 报事 桥头护栏松了");
    await bot.h.db.execute(sql`alter table inbound_messages rename to inbound_messages_away`);
    const statuses: (number | string)[] = [];
    const res = await bot.fake.callback(msg, {
      afterAttempt: async (attempt, status) => {
        statuses.push(status);
        if (attempt === 1) await bot.h.db.execute(sql`alter table inbound_messages_away rename to inbound_messages`);
      },
    });
    expect(statuses).toEqual([503, 200]);
    expect(res.status).toBe(200);
    expect((res.reply as StreamReply).stream.content).toContain("已登记工单");
    expect(await countTickets()).toBe(before + 1);
    expect(await inboundRows(msg.msgid)).toHaveLength(1);
  });

  it("unknown WeCom users may still report; userids are lower-cased; mixed messages use their text part", async () => {
    const msg = {
      ...groupText(BOT_ID, CHATID, "NewComer01", ""),
      msgtype: "mixed",
      mixed: { msg_item: [{ msgtype: "text", text: { content: "@好邻 报事 垃圾桶满了" } }, { msgtype: "image", image: { url: "https://example.invalid/x" } }] },
    } as Record<string, unknown>;
    delete msg.text;
    const res = await bot.fake.callback(msg);
    const id = ticketNo((res.reply as StreamReply).stream.content);
    const [t] = await bot.h.db.select().from(tickets).where(eq(tickets.id, id));
    expect(t).toMatchObject({ reporterId: null, reporterExternalId: "newcomer01", text: "垃圾桶满了" });
  });

  it("an unregistered group is told its chatid for binding, keeps no message, and waits on the dashboard as 待绑定", async () => {
    const msg = groupText(BOT_ID, "wrUnboundGroup9", "LiYi", "@好邻 报事 路面塌陷");
    const res = await bot.fake.callback(msg);
    const content = (res.reply as StreamReply).stream.content;
    expect(content).toContain("还没有登记");
    expect(content).toContain("本群 ID：wrUnboundGroup9");
    expect(await inboundRows(msg.msgid)).toHaveLength(0);
    expect(await bot.h.db.select().from(tickets).where(eq(tickets.text, "路面塌陷"))).toHaveLength(0);
    const [pending] = await bot.h.db.select().from(pendingChats).where(eq(pendingChats.externalId, "wrUnboundGroup9"));
    expect(pending).toMatchObject({ platform: "wecom", firstSenderExternalId: "liyi", messages: 1 });
  });

  it("a single chat works with the sender's identity; a plain reply has no card", async () => {
    const msg = { ...groupText(BOT_ID, CHATID, "WangLZ", "待办", newMsgId()), chattype: "single" } as Record<string, unknown>;
    delete msg.chatid;
    const res = await bot.fake.callback(msg);
    const reply = res.reply as StreamReply;
    expect(reply.msgtype).toBe("stream");
    expect(reply.stream.content).toMatch(/待办工单|没有待办/);
  });

  it("the logs carry ids and lengths, never message text, secrets or webhook keys", () => {
    const all = bot.logs.join("\n");
    expect(all).toContain('"platform":"wecom"');
    for (const secret of [bot.config.token, bot.config.encodingAESKey, bot.hook.key, "村口路灯坏了", "水沟堵了", "垃圾桶满了"])
      expect(all).not.toContain(secret);
  });

  it("the fake's crypto is WeCom's: the official sample vector", () => {
    // developer.work.weixin.qq.com 91144 sample (token QDG6eK, receiveid = CorpID wx5823bf96d3bd56c7).
    const echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
    expect(wxDecrypt("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", echostr)).toEqual({ message: "1616140317555161061", receiveId: "wx5823bf96d3bd56c7" });
  });
});
