/** The DingTalk OpenAPI client against the fake over real HTTP: the token cache, errors, batching; and the parsers. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classify, DingTalkApi, DingTalkError, msgBody } from "../src/bot/dingtalk/api.js";
import { decodeOutTrackId, encodeOutTrackId } from "../src/bot/dingtalk/cards.js";
import { parseCardTap, robotText, robotToIncoming, tapCommand, tapMessageId } from "../src/bot/dingtalk/parse.js";
import { outboxError } from "../src/bot/dingtalk/sender.js";
import { StreamConnection } from "../src/bot/dingtalk/stream.js";
import { renderPoster } from "../src/lib/poster.js";
import { Permanent, RetryAt } from "../src/scheduler/types.js";
import { FakeDingTalk, fakeConfig } from "./fakes/dingtalk.js";
import { silent, waitFor } from "./helpers/harness.js";

let fake: FakeDingTalk;
beforeAll(async () => {
  fake = await FakeDingTalk.start();
});
afterAll(async () => {
  await fake.close();
});

const text = msgBody("你好");

describe("access token", () => {
  it("is fetched once for concurrent callers, reused, and fetched once more after it expires", async () => {
    // The token lives 2 h (the fake's default, so it never expires on the fake's wall clock); the client's clock is
    // moved past its refresh point instead of sleeping.
    let now = Date.now();
    const api = new DingTalkApi(fakeConfig(fake), silent, () => now);
    const before = fake.tokenFetches;
    await Promise.all(Array.from({ length: 8 }, () => api.sendGroup("cidA", text)));
    expect(fake.tokenFetches - before).toBe(1);
    await api.sendGroup("cidA", text);
    expect(fake.tokenFetches - before).toBe(1);
    // Refreshed shortly before expiry (a tenth of its lifetime early), so no call ever meets a 401.
    now += 7200 * 1000;
    await Promise.all(Array.from({ length: 8 }, () => api.sendGroup("cidA", text)));
    expect(fake.tokenFetches - before).toBe(2);
    expect(fake.requests.filter((r) => r.path.endsWith("#401"))).toHaveLength(0);
  });

  it("a token rejected with 401 is replaced once and the call succeeds", async () => {
    const api = new DingTalkApi(fakeConfig(fake), silent);
    await api.sendGroup("cidA", text);
    const before = fake.tokenFetches;
    fake.revokeTokens();
    await Promise.all([api.sendGroup("cidA", text), api.sendGroup("cidA", text)]);
    expect(fake.tokenFetches - before).toBe(1);
  });

  it("never sends the secret anywhere but the token endpoint, and never in a URL", async () => {
    const api = new DingTalkApi(fakeConfig(fake), silent);
    await api.sendDirect(["u1"], text);
    const others = fake.requests.filter((r) => !r.path.includes("oauth2"));
    expect(others.length).toBeGreaterThan(0);
    for (const r of fake.requests) expect(JSON.stringify(r.body) + r.path).not.toContain(fake.clientSecret);
  });
});

describe("sending", () => {
  it("a poster: uploaded for a media_id (multipart, the app token), then posted as sampleImageMsg", async () => {
    const api = new DingTalkApi(fakeConfig(fake), silent);
    const png = renderPoster({ title: "东村 · 12月好邻", subtitle: "测试", footer: "测试", people: [{ name: "王邻长", unit: "一邻", score: 96, lines: [] }] });
    const id = await api.uploadImage(png, "image/png");
    expect(fake.mediaIds.get(id)?.bytes.equals(png)).toBe(true);
    await api.sendGroup("cid-poster", { msgKey: "sampleImageMsg", msgParam: JSON.stringify({ photoURL: id }) });
    const sent = fake.calls("/v1.0/robot/groupMessages/send").at(-1);
    expect(sent?.body).toMatchObject({ msgKey: "sampleImageMsg", msgParam: JSON.stringify({ photoURL: id }) });
    // Something that is not a picture is refused by the upload, and a made-up media_id by the send.
    await expect(api.uploadImage(Buffer.from("not an image"), "image/png")).rejects.toMatchObject({ kind: "permanent", code: "40004" });
    await expect(api.sendGroup("cid-poster", { msgKey: "sampleImageMsg", msgParam: JSON.stringify({ photoURL: "@made-up" }) })).rejects.toBeInstanceOf(DingTalkError);
  });

  it("splits direct messages into calls of at most 20 users", async () => {
    const api = new DingTalkApi(fakeConfig(fake), silent);
    const before = fake.calls("/v1.0/robot/oToMessages/batchSend").length;
    const users = Array.from({ length: 45 }, (_, i) => `u${i}`);
    await api.sendDirect(users, text);
    const calls = fake.calls("/v1.0/robot/oToMessages/batchSend").slice(before);
    expect(calls.map((c) => (c.body.userIds as string[]).length)).toEqual([20, 20, 5]);
    expect(calls.flatMap((c) => c.body.userIds as string[])).toEqual(users);
  });

  it("sorts DingTalk's errors: throttling waits, permanent gives up, 5xx backs off", async () => {
    const api = new DingTalkApi(fakeConfig(fake), silent);
    fake.failNext("/v1.0/robot/groupMessages/send", { status: 429, body: { code: "Throttling.Api" }, headers: { "retry-after": "7" } });
    const err = await api.sendGroup("cidA", text).catch((e) => e);
    expect(err).toBeInstanceOf(DingTalkError);
    expect(err).toMatchObject({ kind: "throttled", status: 429, retryAfterMs: 7000 });
    const before = Date.now();
    const wait = outboxError(err, silent);
    const after = Date.now();
    expect(wait).toBeInstanceOf(RetryAt);
    // Retry-After (7 s) from the moment it was read, plus up to a second of jitter.
    expect((wait as RetryAt).at.getTime()).toBeGreaterThanOrEqual(before + 7000);
    expect((wait as RetryAt).at.getTime()).toBeLessThan(after + 8000);
    expect(outboxError(new DingTalkError("permanent", 400, "invalid.openConversationId", "x"), silent)).toBeInstanceOf(Permanent);
    expect(outboxError(new DingTalkError("quota", 403, "Forbidden.AccessDenied.ApiCountLimitForOrg", "x"), silent)).toBeInstanceOf(RetryAt);
    expect(classify(503, "")).toBe("transient");
    expect(classify(200, "130101")).toBe("throttled");
    expect(classify(403, "90020")).toBe("quota");
    expect(classify(400, "invalidParameter.robotCode.notExsit")).toBe("permanent");
  });

  it("posts to a session webhook only on DingTalk's own host", async () => {
    const api = new DingTalkApi(fakeConfig(fake), silent);
    await expect(api.replyBySession("http://evil.example/robot/sendBySession?session=x", { msgtype: "text" })).rejects.toMatchObject({ code: "untrustedWebhook" });
    await api.replyBySession(`${fake.url}/robot/sendBySession?session=ok`, { msgtype: "text", text: { content: "hi" } });
    fake.failNext("/robot/sendBySession", { status: 200, body: { errcode: 300001, errmsg: "session expired" } });
    await expect(api.replyBySession(`${fake.url}/robot/sendBySession?session=old`, { msgtype: "text" })).rejects.toMatchObject({ kind: "permanent", code: "300001" });
  });
});

describe("a server that never answers", () => {
  it("fails the call as transient (TimeoutError) once its time limit has passed", async () => {
    const hung = createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
    const api = new DingTalkApi({ ...fakeConfig(fake), oapiBase: url, timeoutMs: 300 }, silent);
    const started = Date.now();
    const err = await api.replyBySession(`${url}/robot/sendBySession?session=x`, text).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DingTalkError);
    expect((err as DingTalkError).kind).toBe("transient");
    expect((err as DingTalkError).code).toBe("TimeoutError");
    // It waited for its limit (the lower bound cannot flake: load only makes things later).
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    hung.closeAllConnections();
    await new Promise((r) => hung.close(r));
  });
});

describe("parsing", () => {
  const base = { msgId: "msgA==", conversationType: "2", conversationId: "cidG==", senderStaffId: "s1", createAt: 1718000000000 };

  it("reads text, rich text and voice, and strips the robot's name", () => {
    expect(robotText({ ...base, msgtype: "text", text: { content: " 报事  村口路灯坏了 " } })).toBe("报事 村口路灯坏了");
    expect(robotText({ ...base, msgtype: "text", text: { content: "帮助@好邻" } }, ["好邻"])).toBe("帮助");
    expect(robotText({ ...base, msgtype: "richText", content: { richText: [{ text: "@好邻 " }, { text: "报事 " }, { type: "picture" }, { text: "井盖丢了" }] } }, ["好邻"])).toBe("报事 井盖丢了");
    expect(robotText({ ...base, msgtype: "audio", content: { recognition: "报事 路灯坏了" } })).toBe("报事 路灯坏了");
    expect(robotText({ ...base, msgtype: "picture", content: {} })).toBe("");
  });

  it("maps group and direct messages", () => {
    const now = new Date();
    expect(robotToIncoming({ ...base, msgtype: "text", text: { content: "x" } }, [], now)).toEqual({
      platform: "dingtalk",
      messageId: "msgA==",
      chatExternalId: "cidG==",
      senderExternalId: "s1",
      text: "x",
      addressed: true,
      receivedAt: new Date(1718000000000),
    });
    expect(robotToIncoming({ ...base, conversationType: "1", msgtype: "text", text: { content: "待办" } }, [], now)?.chatExternalId).toBeNull();
    expect(robotToIncoming({ ...base, msgId: "", msgtype: "text" }, [], now)).toBeNull();
  });

  it("turns a card tap into the command it stands for, with a stable dedupe key", () => {
    const outTrackId = encodeOutTrackId(12, "chat", "text");
    expect(decodeOutTrackId(outTrackId)).toBe(12);
    expect(encodeOutTrackId(12, "chat", "text")).toBe(outTrackId);
    const content = (params: Record<string, string>) => JSON.stringify({ cardPrivateData: { actionIds: ["x"], params } });
    const claim = parseCardTap({ outTrackId, userId: "s1", spaceType: "IM_GROUP", spaceId: "cidG==", content: content({ action: "claim" }) });
    expect(claim && tapCommand(claim)).toBe("认领 #12");
    expect(claim && tapMessageId(claim)).toBe(`card:${outTrackId}:s1:claim`);
    expect(claim?.spaceId).toBe("cidG==");
    const resolve = parseCardTap({ outTrackId, userId: "s1", content: content({ action: "resolve", remark: "已修好" }) });
    expect(resolve && tapCommand(resolve)).toBe("办结 #12 已修好");
    expect(parseCardTap({ outTrackId: "someone-elses-card", userId: "s1", content: content({ action: "claim" }) })).toBeNull();
    expect(parseCardTap({ outTrackId, userId: "s1", content: "not json" })).toBeNull();
  });
});

describe("the stream connection on its own", () => {
  const streams: StreamConnection[] = [];
  afterAll(async () => {
    for (const s of streams) await s.stop();
  });
  const connect = (f: FakeDingTalk, watchdog: Partial<ReturnType<typeof fakeConfig>["watchdog"]>) => {
    const c = fakeConfig(f);
    const s = new StreamConnection({ clientId: c.clientId, clientSecret: c.clientSecret, gatewayUrl: c.gatewayUrl, logger: silent, callbacks: {}, watchdog: { ...c.watchdog, ...watchdog } });
    streams.push(s);
    s.start();
    return s;
  };

  it("keeps trying while the gateway is down (no giving up, no storm) and connects once it is back", async () => {
    const f = await FakeDingTalk.start();
    try {
      f.failNext("/v1.0/gateway/connections/open", { status: 503, body: { code: "ServiceUnavailable" } }, 4);
      const s = connect(f, { backoffBaseMs: 100, backoffMaxMs: 400 });
      await waitFor(async () => s.state().status === "connected");
      // Four refusals, then one success: one attempt at a time, never two paths at once.
      expect(f.gatewayCalls).toHaveLength(1);
      expect(f.totalConnections).toBe(1);
      await s.stop();
      f.dropAll();
      await waitFor(async () => f.openCount() === 0);
      // Stopped means stopped: no timer is left that could reconnect behind our back, and none did.
      const timers = s as unknown as { reconnectTimer: unknown; watchdog: unknown; connecting: boolean };
      expect({ reconnectTimer: timers.reconnectTimer, watchdog: timers.watchdog, connecting: timers.connecting }).toEqual({ reconnectTimer: null, watchdog: null, connecting: false });
      expect(f.gatewayCalls).toHaveLength(1);
      expect(f.totalConnections).toBe(1);
      expect(s.state().status).toBe("stopped");
    } finally {
      await f.close();
    }
  });

  it("reconnects after a silence even when pongs still come back, with one socket", async () => {
    const f = await FakeDingTalk.start();
    try {
      const s = connect(f, { silenceMs: 1500 });
      await waitFor(async () => f.totalConnections >= 2 && s.state().status === "connected");
      await waitFor(async () => f.openCount() === 1);
      expect(f.peakOpen).toBe(1);
      expect(f.gatewayCalls.length).toBe(f.totalConnections);
      await s.stop();
    } finally {
      await f.close();
    }
  });
});
