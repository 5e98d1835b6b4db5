/**
 * DingTalk as its documents have it, against both answers to the re-push question (dingtalk.md §1.5): the robot
 * payloads of the receive-message tables (test/fixtures/platforms/dingtalk/) over the real WebSocket, replies with
 * `@<userId>` for each id in atUserIds, card delivery results read (retry, then text with the same mentions, the
 * outcome recorded on the outbox row), non-JSON answers never taken for success, the gateway's own SYSTEM pings,
 * and quoting.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DingTalkApi, DingTalkError } from "../src/bot/dingtalk/api.js";
import { DingTalkBot } from "../src/bot/dingtalk/index.js";
import { chats, identities, outbox, tickets } from "../src/db/schema/index.js";
import { queueMessage } from "../src/workflows/outbox.js";
import { FakeDingTalk, fakeConfig, REPUSH_MODES } from "./fakes/dingtalk.js";
import { platformFixture } from "./helpers/fixtures.js";
import { createHarness, type Harness, silent, waitFor } from "./helpers/harness.js";

const GROUP = "cidDocsGroup01==";
const QUIET_GROUP = "cidDocsQuiet02==";

describe.each(REPUSH_MODES)("DingTalk gateway that $mode", ({ redeliver }) => {
  let fake: FakeDingTalk;
  let bot: DingTalkBot;
  let h: Harness;

  beforeAll(async () => {
    fake = await FakeDingTalk.start({ redeliver, pingEveryMs: 300 });
    bot = new DingTalkBot(fakeConfig(fake), silent);
    h = await createHarness({ scheduler: "memory", senders: [bot.sender] });
    await h.db.insert(chats).values([
      { id: "dd-g1", platform: "dingtalk", externalId: GROUP, unitId: "g1", name: "东村一组钉钉群", meta: {} },
      { id: "dd-g2", platform: "dingtalk", externalId: QUIET_GROUP, unitId: "g1", name: "东村一组二群", meta: {} },
    ]);
    await h.db.insert(identities).values({ platform: "dingtalk", externalId: "staff-r1", personId: "r1" });
    bot.start(h.runtime.pipeline);
    await waitFor(async () => bot.state()?.status === "connected");
  });
  afterAll(async () => {
    await bot?.stop();
    await h?.close();
    await fake?.close();
  });

  /** A documented payload with our ids, its session webhook on the fake, valid for the documented 90 minutes. */
  const doc = (file: string, values: Record<string, string>) => {
    const data = platformFixture(`dingtalk/${file}`, {
      BOTNAME: "好邻",
      ...values,
      ROBOTCODE: fake.clientId,
      SESSIONWEBHOOK: `${fake.url}/robot/sendBySession?session=doc${Math.random().toString(36).slice(2)}`,
    });
    return { ...data, createAt: Date.now(), sessionWebhookExpiredTime: Date.now() + 5_400_000 };
  };
  /** Push a robot message and wait for the first answer through its own session webhook. */
  const answerTo = async (data: Record<string, unknown>) => {
    const session = new URL(String(data.sessionWebhook)).searchParams.get("session");
    fake.pushRobot(data);
    const post = await waitFor(async () => fake.sessionPosts.find((p) => p.session === session), 15_000);
    return post.body as { msgtype: string; text: { content: string }; at?: { atUserIds: string[] } };
  };
  const say = (staffId: string, text: string, quote?: string, group = GROUP) => answerTo(fake.robotMessage({ text, staffId, group, quote }));

  describe("the receive-message payloads, over the real WebSocket", () => {
    it("text in a group and in a single chat, rich text with the robot's name left in, audio by its recognition", async () => {
      const cases: [string, Record<string, string>][] = [
        ["robot-text-group.json", { CONVERSATIONID: GROUP, STAFFID: "staff-r1" }],
        ["robot-text-single.json", { CONVERSATIONID: "cidSingleR1", STAFFID: "staff-r1" }],
        // (A sender of its own: the picture in the rich text leaves a photo question open for its sender.)
        ["robot-richtext-group.json", { CONVERSATIONID: GROUP, STAFFID: "staff-gl1" }],
        ["robot-audio-single.json", { CONVERSATIONID: "cidSingleR1", STAFFID: "staff-r1" }],
      ];
      for (const [file, values] of cases) {
        const body = await answerTo(doc(file, values));
        expect(body.msgtype, file).toBe("text");
        expect(body.text.content, file).toContain("我是好邻");
      }
    });

    it("rich text that @-mentions the robot by a name DINGTALK_BOT_NAMES lacks: accepted, shown on /readyz", async () => {
      const body = await answerTo(doc("robot-richtext-group.json", { CONVERSATIONID: GROUP, STAFFID: "staff-nl1", BOTNAME: "青禾小助手" }));
      expect(body.text.content).toContain("我是好邻");
      expect(bot.readiness().detail.otherBotNamesSeen).toEqual(["青禾小助手"]);
    });

    it("a picture (single chat) is answered, not dropped", async () => {
      const body = await answerTo(doc("robot-picture-single.json", { CONVERSATIONID: "cidSingleR1", STAFFID: "staff-r1" }));
      expect(body.text.content.length).toBeGreaterThan(0);
    });

    it("a card tap in the callback's documented shape is acked with a card response", async () => {
      const frame = fake.pushCallback("/v1.0/card/instances/callback", platformFixture("dingtalk/card-callback.json", { OUTTRACKID: "not-ours", CONVERSATIONID: GROUP, STAFFID: "staff-gl1" }));
      const [ack] = await waitFor(async () => (fake.acked(frame).length ? fake.acked(frame) : null));
      expect(ack?.code).toBe(200);
      expect(JSON.parse(ack?.data ?? "{}")).toHaveProperty("response.cardUpdateOptions");
    });
  });

  describe("@-mentions as @<userId>", () => {
    it("a reply @-ing the 邻长 carries @staff-nl1 in the content and in at.atUserIds", async () => {
      const body = await say("staff-r1", "报事 水塘护栏断了");
      expect(body.at?.atUserIds).toEqual(["staff-nl1"]);
      expect(body.text.content).toContain("@staff-nl1");
    });

    it("the fake refuses a webhook body whose atUserIds are not in the content as @<userId>", async () => {
      const url = `${fake.url}/robot/sendBySession?session=rule`;
      const post = (content: string) =>
        fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ msgtype: "text", text: { content }, at: { atUserIds: ["staff-nl1"] } }) }).then((r) => r.json());
      expect(await post("请 @王邻长 处理")).toMatchObject({ errcode: 400 });
      expect(await post("请 @staff-nl1 处理")).toMatchObject({ errcode: 0 });
    });
  });

  describe("escalation cards: the delivery result inside the 200", () => {
    const ping = async (key: string, chatId: string) => {
      await h.runtime.transact((ctx) =>
        queueMessage(ctx, { dedupeKey: key, to: { chatId }, kind: "ping", payload: { text: "⏰ 工单 #1 已上报到组级，请 @张组长 处理。", mentions: ["gl1"], ticketId: 1 } }),
      );
      return waitFor(async () => {
        const [r] = await h.db.select().from(outbox).where(eq(outbox.dedupeKey, key));
        return r?.status === "sent" || r?.status === "failed" ? r : null;
      });
    };
    const cards = () => fake.calls("/v1.0/card/instances/createAndDeliver");

    it("delivered: one card, @ by atUserIds {userId: name}", async () => {
      const before = cards().length;
      const row = await ping(`card-ok-${redeliver}`, "dd-g1");
      expect(row).toMatchObject({ status: "sent", lastError: null });
      expect(cards().slice(before)).toHaveLength(1);
      expect(cards()[before]?.body.imGroupOpenDeliverModel).toMatchObject({ atUserIds: { "staff-gl1": "张组长" } });
    });

    it("not delivered once: a second card under a new id, and the row says so", async () => {
      const before = cards().length;
      fake.failCardDelivery("robot not in group");
      const row = await ping(`card-retry-${redeliver}`, "dd-g1");
      const tries = cards().slice(before);
      expect(tries).toHaveLength(2);
      expect(tries[0]?.body.outTrackId).not.toBe(tries[1]?.body.outTrackId);
      expect(row).toMatchObject({ status: "sent", lastError: "card delivered on the second try" });
    });

    it("not delivered twice: the same words as text through the group's live session webhook, with a real @", async () => {
      await say("staff-r1", "帮助"); // the group's session webhook is now known
      fake.failCardDelivery("system error", 2);
      const posts = fake.sessionPosts.length;
      const row = await ping(`card-text-${redeliver}`, "dd-g1");
      const post = fake.sessionPosts.slice(posts).find((p) => JSON.stringify(p.body).includes("工单 #1"));
      expect(post?.body).toMatchObject({ msgtype: "text", at: { atUserIds: ["staff-gl1"] } });
      expect((post?.body.text as { content?: string } | undefined)?.content).toContain("@staff-gl1");
      expect(row.status).toBe("sent");
      expect(row.lastError).toContain("card not delivered (system error)");
      expect(row.lastError).toContain("with a real @");
    });

    it("a real escalation whose card is not delivered: the ping carries @<userId> for every person it mentions", async () => {
      const opened = (await say("staff-r1", "报事 健身器材松动")).text.content;
      const id = Number(/#(\d+)/.exec(opened)?.[1]);
      fake.failCardDelivery("system error", 2);
      await h.db.update(tickets).set({ answerDueAt: new Date(Date.now() - 1000) }).where(eq(tickets.id, id));
      expect(await h.runtime.onDeadline(id)).toBe("escalated");
      const post = await waitFor(async () => fake.sessionPosts.find((p) => JSON.stringify(p.body).includes(`#${id} 已上报`)));
      const body = post.body as { text: { content: string }; at: { atUserIds: string[] } };
      expect(body.at.atUserIds).toEqual(expect.arrayContaining(["staff-gl1", "staff-r1"]));
      for (const userId of body.at.atUserIds) expect(body.text.content).toContain(`@${userId}`);
    });

    it("not delivered, no live session webhook: a group message with the names, and the row says no real @", async () => {
      fake.failCardDelivery("system error", 2);
      const sends = fake.calls("/v1.0/robot/groupMessages/send").length;
      const row = await ping(`card-group-${redeliver}`, "dd-g2");
      const sent = fake.calls("/v1.0/robot/groupMessages/send").slice(sends);
      expect(sent.map((c) => c.body.openConversationId)).toEqual([QUIET_GROUP]);
      expect(JSON.parse(sent[0]?.body.msgParam as string).content).toContain("@张组长");
      expect(row.lastError).toContain("without a real @");
    });
  });

  describe("smaller conformance points", () => {
    it("a session webhook answering an HTML page (IP throttling) is not a success: the reply goes by the OpenAPI", async () => {
      fake.failNext("/robot/sendBySession", { status: 200, body: {}, raw: "<html><body>访问过于频繁</body></html>" });
      const sends = fake.calls("/v1.0/robot/groupMessages/send").length;
      fake.pushRobot(fake.robotMessage({ text: "帮助", staffId: "staff-r1", group: GROUP }));
      const call = await waitFor(async () => fake.calls("/v1.0/robot/groupMessages/send")[sends], 15_000);
      expect(JSON.parse(call.body.msgParam as string).content).toContain("我是好邻");
    });

    it("an OpenAPI call answered with HTML is a throttling error, never a result", async () => {
      const api = new DingTalkApi(fakeConfig(fake), silent);
      fake.failNext("/v1.0/robot/groupMessages/send", { status: 200, body: {}, raw: "<html>blocked</html>" });
      const err = await api.sendGroup(GROUP, { msgKey: "sampleText", msgParam: "{}" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DingTalkError);
      expect(err).toMatchObject({ kind: "throttled", code: "nonJsonBody" });
    });

    it("the gateway's own SYSTEM pings are answered with code 200 and their data echoed", async () => {
      const seen = fake.pingReplies.length;
      await waitFor(async () => fake.pingReplies.length >= seen + 2, 10_000);
      expect(fake.pingReplies.slice(seen).every((p) => p.echoed && p.code === 200)).toBe(true);
    });
  });

  describe("quoting (text.repliedMsg)", () => {
    it("quoting the bot's answer and typing 认领 claims that ticket; quoting the report and typing 进度 answers about it", async () => {
      const opened = (await say("staff-r1", "报事 桥头路灯不亮")).text.content;
      const id = Number(/#(\d+)/.exec(opened)?.[1]);
      expect((await say("staff-nl1", "认领", opened)).text.content).toContain(`已认领工单 #${id}`);
      expect((await say("staff-nl1", "进度", "@好邻 报事 桥头路灯不亮")).text.content).toContain(`#${id}`);
      expect((await say("staff-nl1", "办结 已换灯泡", opened)).text.content).toContain(`#${id}`);
    });

    it("a quote without a ticket gets the usual usage hint", async () => {
      expect((await say("staff-nl1", "认领", "今晚开会")).text.content).toContain("用法：认领 #单号");
    });
  });
});
