/**
 * DingTalk end to end: the real dingtalk-stream DWClient (through our wrapper) against a fake DingTalk over a real
 * WebSocket and real HTTP, with the real pipeline, a real database and BullMQ on real Redis.
 */
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { DingTalkBot } from "../src/bot/dingtalk/index.js";
import { chats, identities, inboundMessages, outbox, ticketEvents, tickets } from "../src/db/schema/index.js";
import { messages } from "../src/lib/metrics.js";
import { queueMessage } from "../src/workflows/outbox.js";
import { FakeDingTalk, fakeConfig, REPUSH_MODES, TOPIC_CARD, TOPIC_ROBOT } from "./fakes/dingtalk.js";
import { createHarness, type Harness, silent, waitFor } from "./helpers/harness.js";

/**
 * DingTalk's documents disagree on whether an unacked robot message is pushed again (dingtalk.md §1.5): every
 * test here runs against both answers.
 */
describe.each(REPUSH_MODES)("DingTalk gateway that $mode", ({ redeliver }) => {
  const GROUP = "cidDongCunYiZu==";
  let fake: FakeDingTalk;
  let bot: DingTalkBot;
  let h: Harness;

  beforeAll(async () => {
    fake = await FakeDingTalk.start({ redeliver });
    bot = new DingTalkBot(fakeConfig(fake), silent);
    h = await createHarness({ scheduler: "bullmq", senders: [bot.sender], overrides: { answerMs: 60 * 60_000 } });
    // The group registered for 东村一组, and the reporter's DingTalk account (the leaders have theirs in the fixture).
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

  const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
  const getTicket = async (id: number) => (await h.db.select().from(tickets).where(eq(tickets.id, id)))[0];
  const eventKinds = async (id: number) =>
    (await h.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, id)).orderBy(ticketEvents.id)).map((e) => `${e.kind}:${e.actorId ?? ""}`);
  /** DingTalk messages the pipeline has recognised as redeliveries (a positive marker that it handled them). */
  const duplicatesHandled = async () =>
    (await messages.get()).values.find((v) => v.labels.platform === "dingtalk" && v.labels.result === "duplicate")?.value ?? 0;
  /** Server-side sockets of the fake, to count the bot's watchdog pings on one of them. */
  const liveSockets = () => [...(fake as unknown as { conns: Set<{ ws: import("ws").WebSocket }> }).conns].map((c) => c.ws);

  /** Push a group message and wait for the bot's reply through the session webhook. */
  async function say(staffId: string, text: string, group: string | null = GROUP) {
    const before = fake.sessionPosts.length;
    const data = fake.robotMessage({ text, staffId, group });
    const frameId = fake.pushRobot(data);
    const post = await waitFor(async () => fake.sessionPosts[before]);
    return { data, frameId, post, text: (post.body.text as { content: string }).content };
  }

  describe("receiving over Stream mode", () => {
    it("subscribed the robot and card topics (and nothing else) before connecting", () => {
      expect(fake.gatewayCalls[0]?.subscriptions).toEqual([
        { type: "CALLBACK", topic: TOPIC_ROBOT },
        { type: "CALLBACK", topic: TOPIC_CARD },
      ]);
    });

    it("a group @-message becomes a ticket, is acked at once, and is answered through the session webhook with a real @", async () => {
      const { data, frameId, post, text } = await say("staff-r1", "报事 村口路灯坏了");
      const id = ticketNo(text);
      expect(text).toMatch(/已登记工单 #\d+/);
      // DingTalk renders @<userId> as the name and notifies; the name itself would be plain text.
      expect(text).toContain("@staff-nl1");
      expect(text).not.toContain("@王邻长");
      expect(post.body).toMatchObject({ msgtype: "text", at: { atUserIds: ["staff-nl1"], isAtAll: false } });
      expect(post.path).toBe("/robot/sendBySession");
      expect(await getTicket(id)).toMatchObject({ chatId: "dt-g1", reporterId: "r1", assigneeId: "nl1", status: "open" });
      const acks = fake.acked(frameId);
      expect(acks).toHaveLength(1);
      expect(acks[0]).toMatchObject({ code: 200, data: JSON.stringify({ response: null }) });
      expect(acks[0]?.at).toBeLessThanOrEqual(post.at);
      const [row] = await h.db.select().from(inboundMessages).where(eq(inboundMessages.messageId, data.msgId));
      expect(row).toMatchObject({ platform: "dingtalk", chatId: "dt-g1", senderExternalId: "staff-r1" });
    });

    it("a redelivered frame (same msgId, new frame id) creates nothing and sends nothing", async () => {
      const first = await say("staff-r1", "报事 水渠堵了");
      const id = ticketNo(first.text);
      const posts = fake.sessionPosts.length;
      const handled = await duplicatesHandled();
      const again = fake.pushRobot(first.data);
      const twice = fake.pushRobot(first.data);
      await waitFor(async () => fake.acked(again).length > 0 && fake.acked(twice).length > 0);
      // The markers: the pipeline has handled both as redeliveries, and a later message has had its own answer.
      await waitFor(async () => (await duplicatesHandled()) === handled + 2);
      const later = await say("staff-r1", "帮助");
      expect(later.text).toContain("我是好邻");
      expect(fake.sessionPosts.length).toBe(posts + 1);
      const rows = await h.db.select().from(tickets).where(sql`${tickets.text} like '%水渠堵了%'`);
      expect(rows.map((t) => t.id)).toEqual([id]);
      expect(await eventKinds(id)).toEqual(["opened:r1"]);
    });

    it("a leader can use 待办 in a direct chat; nothing is tied to a group", async () => {
      await say("staff-r1", "报事 路面塌陷");
      const r = await say("staff-nl1", "待办", null);
      expect(r.text).toContain("路面塌陷");
      const [row] = await h.db.select().from(inboundMessages).where(eq(inboundMessages.messageId, r.data.msgId));
      expect(row?.chatId).toBeNull();
    });

    it("after the session webhook expired, the reply goes through groupMessages/send", async () => {
      const before = fake.calls("/v1.0/robot/groupMessages/send").length;
      const data = fake.robotMessage({ text: "帮助", staffId: "staff-r1", group: GROUP, webhookValidMs: -1000 });
      const posts = fake.sessionPosts.length;
      fake.pushRobot(data);
      const call = await waitFor(async () => fake.calls("/v1.0/robot/groupMessages/send")[before]);
      expect(call.body).toMatchObject({ robotCode: fake.clientId, openConversationId: GROUP, msgKey: "sampleText" });
      expect(JSON.parse(call.body.msgParam as string).content).toContain("我是好邻");
      expect(fake.sessionPosts.length).toBe(posts);
    });
  });

  describe("connection health", () => {
    it("reports the stream in /readyz", async () => {
      const app = createApp({ runtime: h.runtime, logger: silent, sim: false, readiness: [() => bot.readiness()] });
      const res = await app.request("/readyz");
      const body = (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean; status: string }> };
      expect(res.status).toBe(200);
      expect(body.checks.dingtalk).toMatchObject({ ok: true, status: "connected" });
      expect(JSON.stringify(body)).not.toContain(fake.clientSecret);
    });

    it("the server drops the connection: exactly one reconnect, with a fresh ticket, and one socket", async () => {
      const conns = fake.totalConnections;
      const gateway = fake.gatewayCalls.length;
      fake.dropAll();
      await waitFor(async () => fake.totalConnections === conns + 1 && bot.state()?.status === "connected");
      // No storm: the new socket lives through several of the bot's own watchdog rounds (a ping each) with no other.
      const [socket] = liveSockets();
      let pings = 0;
      socket?.on("ping", () => pings++);
      await waitFor(async () => pings >= 4);
      expect(fake.totalConnections).toBe(conns + 1);
      expect(fake.gatewayCalls.length).toBe(gateway + 1);
      expect(fake.openCount()).toBe(1);
      expect(fake.peakOpen).toBe(1);
      const r = await say("staff-r1", "帮助");
      expect(r.text).toContain("我是好邻");
    });

    it("a dead socket that never closes: the watchdog notices the missing pongs and reconnects, one socket", async () => {
      const conns = fake.totalConnections;
      const reconnects = bot.state()?.reconnects ?? 0;
      fake.freezeAll();
      await waitFor(async () => fake.totalConnections === conns + 1 && bot.state()?.status === "connected");
      expect(bot.state()?.reconnects).toBe(reconnects + 1);
      await waitFor(async () => fake.openCount() === 1);
      expect(fake.peakOpen).toBe(1);
      const r = await say("staff-r1", "帮助");
      expect(r.text).toContain("我是好邻");
    });

    it("a frame pushed while the bot is offline: redelivered after the reconnect, or (fire-and-forget) lost", async () => {
      const posts = fake.sessionPosts.length;
      const conns = fake.totalConnections;
      fake.dropAll(true);
      const data = fake.robotMessage({ text: "报事 断线时发的", staffId: "staff-r1", group: GROUP });
      const frameId = fake.pushRobot(data);
      if (redeliver) {
        await waitFor(async () => fake.sessionPosts.length > posts);
        expect(fake.acked(frameId).length).toBeGreaterThanOrEqual(1);
        expect(await h.db.select().from(tickets).where(sql`${tickets.text} like '%断线时发的%'`)).toHaveLength(1);
      } else {
        // The risk the README states: with nobody connected the platform keeps nothing, and nothing replays it.
        expect(fake.lost).toContain(frameId);
        await waitFor(async () => fake.totalConnections > conns && fake.openCount() === 1 && bot.state()?.status === "connected");
        const r = await say("staff-r1", "帮助");
        expect(r.text).toContain("我是好邻");
        expect(await h.db.select().from(tickets).where(sql`${tickets.text} like '%断线时发的%'`)).toHaveLength(0);
      }
      expect(fake.peakOpen).toBe(1);
    });

    it("a SYSTEM disconnect moves to a new connection at once", async () => {
      const conns = fake.totalConnections;
      fake.pushSystem("disconnect", { reason: "persistent connection is timeout" });
      await waitFor(async () => fake.totalConnections === conns + 1 && bot.state()?.status === "connected");
      await waitFor(async () => fake.openCount() === 1);
      expect(fake.peakOpen).toBe(1);
    });
  });

  describe("escalation card and a tap on 认领", () => {
    it("the overdue ticket's ping is a card @-ing the next leader; a tap claims it, stops the clock and updates the card", async () => {
      const { text } = await say("staff-r1", "报事 桥栏杆松了");
      const id = ticketNo(text);
      // The deadline lapses (as the timer would find it); the escalation goes through the outbox to DingTalk.
      await h.db.update(tickets).set({ answerDueAt: new Date(Date.now() - 1000) }).where(eq(tickets.id, id));
      expect(await h.runtime.onDeadline(id)).toBe("escalated");
      const card = await waitFor(async () =>
        fake.calls("/v1.0/card/instances/createAndDeliver").find((c) => (c.body.cardData as { cardParamMap: Record<string, string> }).cardParamMap.ticketId === String(id)),
      );
      expect(card.body).toMatchObject({
        cardTemplateId: "tmpl-escalation.schema",
        callbackType: "STREAM",
        openSpaceId: `dtv1.card//IM_GROUP.${GROUP}`,
        userIdType: 1,
        imGroupOpenDeliverModel: { robotCode: fake.clientId, atUserIds: { "staff-gl1": "张组长", "staff-r1": "李一" } },
      });
      const params = (card.body.cardData as { cardParamMap: Record<string, string> }).cardParamMap;
      expect(params).toMatchObject({ status: "待认领", canClaim: "true" });
      expect(params.content).toContain("已上报到组级");
      expect(Object.values(params).every((v) => typeof v === "string")).toBe(true);
      // The next leader also gets a direct message.
      const dm = await waitFor(async () => fake.calls("/v1.0/robot/oToMessages/batchSend").find((c) => (c.body.msgParam as string).includes(`#${id}`)));
      expect(dm.body.userIds).toEqual(["staff-gl1"]);

      const outTrackId = card.body.outTrackId as string;
      const tap = fake.pushCardTap({ outTrackId, userId: "staff-gl1", action: "claim", spaceId: GROUP });
      const update = await waitFor(async () => fake.calls("/v1.0/card/instances").find((c) => c.method === "PUT" && c.body.outTrackId === outTrackId));
      expect(fake.acked(tap)).toHaveLength(1);
      expect(await getTicket(id)).toMatchObject({ status: "answered", assigneeId: "gl1", level: "group" });
      expect(await eventKinds(id)).toEqual(["opened:r1", "escalated:", "claimed:gl1"]);
      const updated = (update.body.cardData as { cardParamMap: Record<string, string> }).cardParamMap;
      expect(updated).toMatchObject({ status: "处理中 · 张组长", canClaim: "false", canResolve: "true" });
      expect(updated.result).toContain(`张组长 已认领工单 #${id}`);
      // The clock now running is the resolution clock, not the answer clock.
      expect((await getTicket(id))?.answerDueAt).toBeNull();

      // The same tap again (a redelivered callback, or a double tap): handled once, the card still answered.
      const puts = fake.calls("/v1.0/card/instances").length;
      fake.pushCardTap({ outTrackId, userId: "staff-gl1", action: "claim", spaceId: GROUP });
      await waitFor(async () => fake.calls("/v1.0/card/instances").length > puts);
      expect(await eventKinds(id)).toEqual(["opened:r1", "escalated:", "claimed:gl1"]);

      // A resident's tap changes nothing; only the resident sees why.
      const before = fake.calls("/v1.0/card/instances").length;
      fake.pushCardTap({ outTrackId, userId: "staff-r1", action: "resolve", spaceId: GROUP, remark: "好了" });
      const refused = await waitFor(async () => fake.calls("/v1.0/card/instances")[before]);
      expect(refused.body.cardData).toEqual({ cardParamMap: { status: "处理中 · 张组长", canClaim: "false", canResolve: "true" } });
      expect((refused.body.privateData as Record<string, { cardParamMap: { result: string } }>)["staff-r1"]?.cardParamMap.result).toContain("负责人");
      expect((await getTicket(id))?.status).toBe("answered");
    });
  });

  describe("sending through the outbox", () => {
    it("a throttled digest is retried later and sent once, as markdown", async () => {
      fake.failNext("/v1.0/robot/groupMessages/send", { status: 403, body: { code: "Forbidden.AccessDenied.QpsLimitForApi", message: "调用频率超限" } });
      const before = fake.calls("/v1.0/robot/groupMessages/send").length;
      await h.runtime.transact((ctx) =>
        queueMessage(ctx, { dedupeKey: "digest-dt-g1-test", to: { chatId: "dt-g1" }, kind: "digest", payload: { text: "### 本周工单\n- 已办结 3", mentions: [], format: "markdown" } }),
      );
      const row = await waitFor(async () => {
        const [r] = await h.db.select().from(outbox).where(eq(outbox.dedupeKey, "digest-dt-g1-test"));
        return r?.status === "sent" ? r : null;
      });
      // Two calls reached DingTalk, but being throttled is waiting, not a failed attempt: only the send counts.
      expect(row.attempts).toBe(1);
      expect(row.lastError).toBe("throttled");
      const calls = fake.calls("/v1.0/robot/groupMessages/send").slice(before);
      expect(calls).toHaveLength(2);
      // Retried no sooner than the product chose (2 s without a Retry-After): its own recorded send time.
      expect((row.sentAt?.getTime() ?? 0) - row.createdAt.getTime()).toBeGreaterThanOrEqual(2000);
      expect(calls[1]?.body).toMatchObject({ msgKey: "sampleMarkdown", openConversationId: GROUP });
      expect(JSON.parse(calls[1]?.body.msgParam as string)).toEqual({ title: "本周工单", text: "### 本周工单\n- 已办结 3" });
    });

    it("a permanent error (robot not in the group) fails the row without retrying", async () => {
      fake.failNext("/v1.0/robot/groupMessages/send", { status: 400, body: { code: "invalidParameter.robotCode.notExsit", message: "机器人不存在" } });
      await h.runtime.transact((ctx) =>
        queueMessage(ctx, { dedupeKey: "notice-dt-perm", to: { chatId: "dt-g1" }, kind: "notice", payload: { text: "通知", mentions: [] } }),
      );
      const row = await waitFor(async () => {
        const [r] = await h.db.select().from(outbox).where(and(eq(outbox.dedupeKey, "notice-dt-perm"), eq(outbox.status, "failed")));
        return r;
      });
      expect(row.attempts).toBe(1);
      expect(row.lastError).toContain("invalidParameter.robotCode.notExsit");
    });
  });
});
