/**
 * A fake DingTalk for tests, over real HTTP and a real WebSocket on 127.0.0.1:
 * - the Stream gateway (POST /v1.0/gateway/connections/open → a local endpoint and a one-time ticket) and the
 *   WebSocket behind it: pushes robot, card and system frames to one live connection at a time (round robin over
 *   several replicas), records acks, sends SYSTEM pings of its own, answers pings unless frozen, and can drop or
 *   freeze connections. Whether an unacked robot frame comes again is not settled by DingTalk's documents
 *   (dingtalk.md §1.5), so it is a switch: `redeliver` true pushes it again until acked (also after a reconnect),
 *   false is fire-and-forget (a frame with no live connection is lost, see `lost`);
 * - the session webhook (POST /robot/sendBySession);
 * - OAuth2 tokens with a configurable lifetime, robot group and 1:1 sends, card create-and-deliver and update,
 *   checking the access token and answering DingTalk's errors (injectable: throttling, permanent failures).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { cardViolation, mentionViolation } from "./dingtalk-rules.js";

export const TOPIC_ROBOT = "/v1.0/im/bot/messages/get";
export const TOPIC_CARD = "/v1.0/card/instances/callback";

export type Recorded = { method: string; path: string; headers: IncomingMessage["headers"]; body: Record<string, unknown>; at: number; session?: string };
export type Ack = { messageId: string; code: number; data: string; at: number; conn: number };
type Frame = { specVersion: string; type: string; headers: Record<string, string>; data: string };
type Pending = { frame: Frame; deliveries: number; timer: NodeJS.Timeout | null };
type Conn = { ws: WebSocket; id: number; frozen: boolean };
type Failure = { status: number; body: Record<string, unknown>; headers?: Record<string, string>; raw?: string };

export type FakeDingTalkOptions = { redeliver?: boolean; pingEveryMs?: number };

/**
 * Both answers to the question DingTalk's documents leave open (dingtalk.md §1.5): every DingTalk test file runs
 * under each, `describe.each(REPUSH_MODES)("… that $mode", ({ redeliver }) => …)`.
 */
export const REPUSH_MODES = [
  { redeliver: true, mode: "re-pushes unacked frames" },
  { redeliver: false, mode: "fire-and-forget" },
] as const;

export class FakeDingTalk {
  readonly clientId = "dingfakeclient";
  readonly clientSecret = "fake-secret-never-logged";
  url = "";
  /** Token lifetime in seconds. */
  tokenTtlS = 7200;
  /** How long before an unacked frame is pushed again. */
  redeliverMs = 1500;
  /** Push unacked frames again (true), or deliver each once, fire-and-forget (false). */
  redeliver = true;
  /** The gateway's own SYSTEM pings to each connection (0: none). */
  pingEveryMs = 0;
  /** Frames that never reached a connection (fire-and-forget with nobody connected). */
  readonly lost: string[] = [];
  /** Answers to the fake's own SYSTEM pings: the connection and the opaque data echoed. */
  readonly pingReplies: { conn: number; echoed: boolean; code: number; at: number }[] = [];
  /** createAndDeliver answers: the next ones report the card as not delivered inside a 200. */
  private undelivered: string[] = [];
  private rr = 0;
  /** Called for every session-webhook reply with its `session` query parameter (the bench times replies by it). */
  onSessionPost?: (session: string, body: Record<string, unknown>) => void;

  readonly gatewayCalls: { subscriptions: { type: string; topic: string }[]; at: number }[] = [];
  readonly requests: Recorded[] = [];
  readonly sessionPosts: Recorded[] = [];
  readonly acks: Ack[] = [];
  tokenFetches = 0;
  totalConnections = 0;
  /** The most connections that were open at the same time. */
  peakOpen = 0;

  private server!: Server;
  private wss!: WebSocketServer;
  private readonly tickets = new Set<string>();
  private readonly conns = new Set<Conn>();
  private readonly pending = new Map<string, Pending>();
  private readonly tokens = new Map<string, number>();
  private readonly failures = new Map<string, Failure[]>();
  /** More OpenAPI routes ("METHOD /path"), added by other fakes (test/fakes/dingtalk-media.ts); the token is checked first. */
  readonly routes = new Map<string, (body: Record<string, unknown>) => { status: number; body: Record<string, unknown> }>();
  private seq = 0;

  static async start(opts: FakeDingTalkOptions = {}): Promise<FakeDingTalk> {
    const f = new FakeDingTalk();
    f.redeliver = opts.redeliver ?? true;
    f.pingEveryMs = opts.pingEveryMs ?? 0;
    await f.listen();
    return f;
  }

  private async listen() {
    // Pongs are answered by hand, so a frozen connection can play dead without closing.
    this.wss = new WebSocketServer({ noServer: true, autoPong: false });
    this.server = createServer((req, res) => void this.http(req, res));
    this.server.on("upgrade", (req, socket, head) => {
      const u = new URL(req.url ?? "/", "http://x");
      const ticket = u.searchParams.get("ticket") ?? "";
      if (u.pathname !== "/connect" || !this.tickets.delete(ticket)) {
        socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close() {
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    for (const c of this.conns) c.ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // ---- Stream side ----

  private accept(ws: WebSocket) {
    const conn: Conn = { ws, id: ++this.totalConnections, frozen: false };
    this.conns.add(conn);
    this.peakOpen = Math.max(this.peakOpen, this.openCount());
    const pings = new Map<string, string>();
    const pinger = this.pingEveryMs > 0 ? setInterval(() => {
      if (conn.frozen || ws.readyState !== WebSocket.OPEN) return;
      const messageId = `sysping-${++this.seq}`;
      const data = JSON.stringify({ opaque: randomUUID() });
      pings.set(messageId, data);
      ws.send(JSON.stringify({ specVersion: "1.0", type: "SYSTEM", headers: { contentType: "application/json", messageId, time: String(Date.now()), topic: "ping" }, data }));
    }, this.pingEveryMs) : null;
    ws.on("ping", (data) => {
      if (!conn.frozen) ws.pong(data);
    });
    ws.on("message", (raw) => {
      if (conn.frozen) return;
      const msg = JSON.parse(String(raw)) as { code: number; headers: { messageId: string }; data: string };
      const sent = pings.get(msg.headers.messageId);
      if (sent !== undefined) {
        pings.delete(msg.headers.messageId);
        // The protocol: answer a ping with code 200 and its data echoed (dingtalk.md §1.4).
        this.pingReplies.push({ conn: conn.id, echoed: msg.data === sent, code: msg.code, at: Date.now() });
      }
      this.acks.push({ messageId: msg.headers.messageId, code: msg.code, data: msg.data, at: Date.now(), conn: conn.id });
      const p = this.pending.get(msg.headers.messageId);
      if (p) {
        if (p.timer) clearTimeout(p.timer);
        this.pending.delete(msg.headers.messageId);
      }
    });
    ws.on("close", () => {
      if (pinger) clearInterval(pinger);
      this.conns.delete(conn);
    });
    // Frames that were waiting for a connection go out now (only when redelivering: otherwise they were lost).
    for (const p of this.pending.values()) if (p.deliveries === 0) this.deliver(p);
  }

  /** The ids of the connections open right now, oldest first. */
  connectionIds(): number[] {
    return [...this.conns].filter((c) => c.ws.readyState === WebSocket.OPEN).map((c) => c.id);
  }

  /** The server cuts one connection (TCP, no close frame). */
  dropConnection(id: number) {
    for (const c of this.conns) if (c.id === id) c.ws.terminate();
  }

  /** Connections open right now. */
  openCount(): number {
    return [...this.conns].filter((c) => c.ws.readyState === WebSocket.OPEN).length;
  }

  /** One live connection, taking turns: the gateway gives each message to one of the app's connections. */
  private live(): Conn | undefined {
    const open = [...this.conns].filter((c) => c.ws.readyState === WebSocket.OPEN && !c.frozen);
    return open.length ? open[this.rr++ % open.length] : undefined;
  }

  private deliver(p: Pending) {
    const c = this.live();
    if (c) {
      p.deliveries += 1;
      c.ws.send(JSON.stringify(p.frame));
    }
    if (p.timer) clearTimeout(p.timer);
    if (this.redeliver) {
      p.timer = setTimeout(() => this.deliver(p), this.redeliverMs);
      return;
    }
    // Fire-and-forget: pushed once to whoever is connected now; nobody connected means the frame is gone.
    p.timer = null;
    if (!c) this.lost.push(p.frame.headers.messageId ?? "");
    this.pending.delete(p.frame.headers.messageId ?? "");
  }

  /** Push a CALLBACK frame; it is pushed again until acked. Returns the frame's messageId. */
  pushCallback(topic: string, data: unknown, messageId = `fm-${++this.seq}-${randomUUID().slice(0, 8)}`): string {
    const frame: Frame = {
      specVersion: "1.0",
      type: "CALLBACK",
      headers: { appId: "fake-app", connectionId: "fake-conn", contentType: "application/json", messageId, time: String(Date.now()), topic },
      data: JSON.stringify(data),
    };
    const p: Pending = { frame, deliveries: 0, timer: null };
    this.pending.set(messageId, p);
    this.deliver(p);
    return messageId;
  }

  pushRobot(data: Record<string, unknown>, messageId?: string): string {
    return this.pushCallback(TOPIC_ROBOT, data, messageId);
  }

  pushCardTap(opts: { outTrackId: string; userId: string; action: string; spaceId?: string; remark?: string }, messageId?: string): string {
    return this.pushCallback(
      TOPIC_CARD,
      {
        type: "actionCallback",
        outTrackId: opts.outTrackId,
        corpId: "dingcorpfake",
        userId: opts.userId,
        userIdType: 1,
        spaceType: opts.spaceId ? "IM_GROUP" : "IM_ROBOT",
        spaceId: opts.spaceId ?? "",
        extension: "{}",
        content: JSON.stringify({
          cardPrivateData: { actionIds: [`${opts.action}_btn`], params: { action: opts.action, ...(opts.remark ? { remark: opts.remark } : {}) } },
        }),
      },
      messageId,
    );
  }

  /** A SYSTEM frame (ping, disconnect) to every live connection. */
  pushSystem(topic: string, data: unknown = {}) {
    const frame = { specVersion: "1.0", type: "SYSTEM", headers: { contentType: "application/json", messageId: `sys-${++this.seq}`, time: String(Date.now()), topic }, data: JSON.stringify(data) };
    for (const c of this.conns) if (!c.frozen && c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(frame));
  }

  /** The server closes every connection (a normal close frame, or cutting TCP when `abrupt`). */
  dropAll(abrupt = false) {
    for (const c of this.conns) (abrupt ? c.ws.terminate() : c.ws.close(1001, "going away"));
  }

  /** Every open connection goes silent: no frames, no pongs, no acks read, and no close. */
  freezeAll() {
    for (const c of this.conns) c.frozen = true;
  }

  acked(messageId: string): Ack[] {
    return this.acks.filter((a) => a.messageId === messageId);
  }

  /** A robot message as DingTalk would send it, with a session webhook on this fake. */
  robotMessage(opts: { text: string; staffId: string; group?: string | null; nick?: string; msgId?: string; webhookValidMs?: number; quote?: string }) {
    const now = Date.now();
    const group = opts.group ?? null;
    return {
      msgtype: "text",
      text: {
        content: ` ${opts.text}`,
        ...(opts.quote !== undefined
          ? { isReplyMsg: true, repliedMsg: { msgType: "text", msgId: `msgQuoted${++this.seq}==`, senderId: "$:LWCP_v1:$quoted", content: { text: opts.quote } } }
          : {}),
      },
      msgId: opts.msgId ?? `msg${randomUUID().replaceAll("-", "").slice(0, 12)}==`,
      createAt: now,
      conversationType: group ? "2" : "1",
      conversationId: group ?? `cidDirect${opts.staffId}`,
      ...(group ? { conversationTitle: "测试群" } : {}),
      senderId: `$:LWCP_v1:$${opts.staffId}`,
      senderStaffId: opts.staffId,
      senderNick: opts.nick ?? opts.staffId,
      senderCorpId: "dingcorpfake",
      chatbotUserId: "$:LWCP_v1:$robot",
      robotCode: this.clientId,
      isInAtList: true,
      atUsers: [{ dingtalkId: "$:LWCP_v1:$robot" }],
      sessionWebhook: `${this.url}/robot/sendBySession?session=s${++this.seq}`,
      sessionWebhookExpiredTime: now + (opts.webhookValidMs ?? 5_400_000),
    };
  }

  // ---- HTTP side ----

  /** Answer the next `count` calls to `path` with an error (after the token check). */
  failNext(path: string, failure: Failure, count = 1) {
    const list = this.failures.get(path) ?? [];
    for (let i = 0; i < count; i++) list.push(failure);
    this.failures.set(path, list);
  }

  /** The next `count` cards are answered 200 with a delivery result that failed (card_1_0 deliverResults). */
  failCardDelivery(errorMsg: string, count = 1) {
    for (let i = 0; i < count; i++) this.undelivered.push(errorMsg);
  }

  /** Forget the errors still queued for `path` (the gateway comes back, say). */
  clearFailures(path: string) {
    this.failures.delete(path);
  }

  /** media_ids handed out by /media/upload, and what was uploaded under each. */
  readonly mediaIds = new Map<string, { type: string; bytes: Buffer }>();

  /**
   * The old API's upload (upload-media-files): `POST /media/upload?access_token=…&type=image`, multipart field `media`;
   * answers `{errcode: 0, errmsg, type, media_id, created_at}` with HTTP 200, errors as errcode ≠ 0. An image must be
   * JPG/GIF/PNG/BMP; the fake keeps the strictest size reading found (1 MB) and answers 40004 for anything else.
   */
  private async mediaUpload(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const u = new URL(req.url ?? "/", this.url);
    const token = u.searchParams.get("access_token") ?? "";
    const exp = this.tokens.get(token);
    this.requests.push({ method: req.method ?? "", path: u.pathname, headers: req.headers, body: { type: u.searchParams.get("type") }, at: Date.now() });
    if (!exp || exp < Date.now()) return send(res, 200, { errcode: 40014, errmsg: "不合法的access_token" });
    if (req.method !== "POST" || u.searchParams.get("type") !== "image") return send(res, 200, { errcode: 40004, errmsg: "不合法的媒体文件类型" });
    let file: Blob | null = null;
    try {
      const form = await new Request(`${this.url}${u.pathname}`, { method: "POST", headers: { "content-type": String(req.headers["content-type"] ?? "") }, body: new Uint8Array(raw) }).formData();
      const media = form.get("media");
      file = media instanceof Blob ? media : null;
    } catch {
      file = null;
    }
    if (!file) return send(res, 200, { errcode: 40004, errmsg: "缺少媒体文件 media" });
    const bytes = Buffer.from(await file.arrayBuffer());
    const kinds: [string, number[]][] = [["png", [0x89, 0x50, 0x4e, 0x47]], ["jpg", [0xff, 0xd8, 0xff]], ["gif", [0x47, 0x49, 0x46]], ["bmp", [0x42, 0x4d]]];
    const known = kinds.some(([, sig]) => sig.every((b, i) => bytes[i] === b));
    if (!known || bytes.length === 0 || bytes.length > 1024 * 1024) return send(res, 200, { errcode: 40004, errmsg: "不合法的媒体文件类型" });
    const id = `@lA${randomUUID().replaceAll("-", "")}`;
    this.mediaIds.set(id, { type: "image", bytes });
    return send(res, 200, { errcode: 0, errmsg: "ok", type: "image", media_id: id, created_at: Date.now() });
  }

  /** Every token issued so far stops working (as after a secret reset). */
  revokeTokens() {
    this.tokens.clear();
  }

  calls(path: string): Recorded[] {
    return this.requests.filter((r) => r.path === path);
  }

  private async http(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if ((req.url ?? "").startsWith("/media/upload")) return this.mediaUpload(req, res, Buffer.concat(chunks));
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return send(res, 400, { code: "invalidParameter", message: "body is not JSON" });
    }
    const u = new URL(req.url ?? "/", this.url);
    const rec: Recorded = { method: req.method ?? "", path: u.pathname, headers: req.headers, body, at: Date.now() };

    if (u.pathname === "/v1.0/gateway/connections/open") {
      const down = this.failures.get(u.pathname)?.shift();
      if (down) return send(res, down.status, down.body);
      if (body.clientId !== this.clientId || body.clientSecret !== this.clientSecret) return send(res, 401, { code: "InvalidAuthentication" });
      if (req.headers.accept !== "application/json") return send(res, 406, { code: "notAcceptable" });
      this.gatewayCalls.push({ subscriptions: body.subscriptions as { type: string; topic: string }[], at: Date.now() });
      const ticket = randomUUID();
      this.tickets.add(ticket);
      return send(res, 200, { endpoint: `${this.url.replace("http", "ws")}/connect`, ticket });
    }
    if (u.pathname === "/v1.0/oauth2/accessToken") {
      if (body.appKey !== this.clientId || body.appSecret !== this.clientSecret) return send(res, 400, { code: "invalidClientIdOrSecret", message: "无效的clientId或clientSecret" });
      this.tokenFetches += 1;
      // A little latency, so concurrent callers really are concurrent.
      await new Promise((r) => setTimeout(r, 50));
      const token = `tok-${++this.seq}-${randomUUID().slice(0, 8)}`;
      this.tokens.set(token, Date.now() + this.tokenTtlS * 1000);
      return send(res, 200, { accessToken: token, expireIn: this.tokenTtlS });
    }
    if (u.pathname === "/robot/sendBySession") {
      this.sessionPosts.push({ ...rec, session: u.searchParams.get("session") ?? "" });
      this.onSessionPost?.(u.searchParams.get("session") ?? "", body);
      const f = this.failures.get(u.pathname)?.shift();
      if (f) return answer(res, f);
      const broken = mentionViolation(body);
      if (broken) return send(res, 200, { errcode: 400, errmsg: `fake: ${broken}` });
      return send(res, 200, { errcode: 0, errmsg: "ok" });
    }

    const token = String(req.headers["x-acs-dingtalk-access-token"] ?? "");
    const exp = this.tokens.get(token);
    if (!exp || exp < Date.now()) {
      this.requests.push({ ...rec, path: `${u.pathname}#401` });
      return send(res, 401, { code: "InvalidAuthentication", message: "不合法的access_token", requestid: randomUUID() });
    }
    this.requests.push(rec);
    const f = this.failures.get(u.pathname)?.shift();
    if (f) return answer(res, { ...f, body: { requestid: randomUUID(), ...f.body } });

    const key = `${req.method} ${u.pathname}`;
    switch (key) {
      case "POST /v1.0/robot/groupMessages/send":
        if (body.robotCode !== this.clientId) return send(res, 400, { code: "invalidParameter.robotCode.notExsit", message: "机器人不存在" });
        if (typeof body.msgParam !== "string") return send(res, 400, { code: "invalidParameter.msgParam.invalid", message: "msgParam 必须是 JSON 字符串" });
        if (body.msgKey === "sampleImageMsg") {
          // photoURL: a picture's URL or the media_id of an upload (robot message types: sampleImageMsg).
          const photo = String((JSON.parse(body.msgParam) as { photoURL?: unknown }).photoURL ?? "");
          if (!this.mediaIds.has(photo) && !/^https?:\/\//.test(photo)) return send(res, 400, { code: "invalidParameter.photoURL", message: "photoURL 无效" });
        }
        return send(res, 200, { processQueryKey: `pqk-${++this.seq}` });
      case "POST /v1.0/robot/oToMessages/batchSend": {
        const ids = (body.userIds as string[] | undefined) ?? [];
        if (ids.length > 20) return send(res, 400, { code: "invalidParameter.userIds.overMax", message: "userIds 最多 20 个" });
        return send(res, 200, { processQueryKey: `pqk-${++this.seq}`, invalidStaffIdList: [], flowControlledStaffIdList: [] });
      }
      case "POST /v1.0/card/instances/createAndDeliver": {
        const broken = cardViolation(body);
        if (broken) return send(res, 400, { code: "invalidParameter", message: broken, requestid: randomUUID() });
        const spaceId = String(body.openSpaceId ?? "").split(".").slice(1).join(".");
        const failed = this.undelivered.shift();
        const result = failed === undefined ? { spaceType: "IM_GROUP", spaceId, success: true, carrierId: `car-${++this.seq}` } : { spaceType: "IM_GROUP", spaceId, success: false, errorMsg: failed };
        return send(res, 200, { success: true, result: { outTrackId: body.outTrackId, deliverResults: [result] } });
      }
      case "PUT /v1.0/card/instances":
        return send(res, 200, { success: true, result: true });
      default: {
        const route = this.routes.get(key);
        if (route) {
          const r = route(body);
          return send(res, r.status, r.body);
        }
        return send(res, 404, { code: "notFound", message: key });
      }
    }
  }
}

function answer(res: ServerResponse, f: Failure) {
  if (f.raw === undefined) return send(res, f.status, f.body, f.headers);
  res.writeHead(f.status, { "content-type": "text/html; charset=utf-8", ...f.headers });
  res.end(f.raw);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** Adapter configuration pointing every DingTalk URL at the fake, with a watchdog quick enough for tests. */
export function fakeConfig(f: FakeDingTalk, extra: { cardTemplateId?: string } = {}) {
  return {
    clientId: f.clientId,
    clientSecret: f.clientSecret,
    robotCode: f.clientId,
    botNames: ["好邻"],
    cardTemplateId: extra.cardTemplateId ?? "tmpl-escalation.schema",
    apiBase: f.url,
    oapiBase: f.url,
    gatewayUrl: `${f.url}/v1.0/gateway/connections/open`,
    // Generous for a loaded 2-core machine: a pong has 2 s to come back; silence is not tested here.
    watchdog: { intervalMs: 250, pongTimeoutMs: 2000, silenceMs: 120_000, connectTimeoutMs: 5000, backoffBaseMs: 100, backoffMaxMs: 1000, stableMs: 30_000 },
  };
}
