/**
 * A fake WeCom for tests, over real HTTP on 127.0.0.1.
 *
 * Callbacks: signs and encrypts exactly like WeCom (its own AES/SHA-1 code, checked against the official sample
 * vector — not @wecom/crypto, so the bot's crypto is tested against an independent implementation), posts to the
 * bot, retries a callback that is not answered in time (or fails), and checks the passive-reply envelope the way
 * WeCom would (`msgsignature`, our nonce, receiveid "").
 *
 * Webhooks: a 消息推送 server at /cgi-bin/webhook/send?key=…: 20 messages a minute per key (45009 beyond),
 * 93000 for an unknown or removed key, scripted -1 / 45009 answers, content limits, and a record of every @mention.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

// ───────────── WeCom crypto, written from the spec (doc 91144 / 101033) ─────────────

function keyOf(encodingAESKey: string) {
  const key = Buffer.from(`${encodingAESKey}=`, "base64");
  if (key.length !== 32) throw new Error("EncodingAESKey must decode to 32 bytes");
  return { key, iv: key.subarray(0, 16) };
}

export function wxSign(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return createHash("sha1").update([token, timestamp, nonce, encrypted].sort().join("")).digest("hex");
}

export function wxEncrypt(encodingAESKey: string, message: string, receiveId = "", random = randomBytes(16)): string {
  const { key, iv } = keyOf(encodingAESKey);
  const msg = Buffer.from(message, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length, 0);
  const plain = Buffer.concat([random, len, msg, Buffer.from(receiveId, "utf8")]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString("base64");
}

export function wxDecrypt(encodingAESKey: string, encrypted: string): { message: string; receiveId: string } {
  const { key, iv } = keyOf(encodingAESKey);
  const decipher = createDecipheriv("aes-256-cbc", key, iv);
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(encrypted, "base64")), decipher.final()]);
  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > 32 || !plain.subarray(plain.length - pad).every((b) => b === pad)) throw new Error("bad padding");
  const body = plain.subarray(0, plain.length - pad);
  const len = body.readUInt32BE(16);
  if (len > body.length - 20) throw new Error("bad length");
  return { message: body.subarray(20, 20 + len).toString("utf8"), receiveId: body.subarray(20 + len).toString("utf8") };
}

/** A random EncodingAESKey (43 characters, as the admin console's 随机获取 makes). */
export function randomAESKey(): string {
  for (;;) {
    const k = randomBytes(32).toString("base64").slice(0, 43);
    if (/^[A-Za-z0-9]{43}$/.test(k) && Buffer.from(`${k}=`, "base64").length === 32) return k;
  }
}

// ───────────── the fake ─────────────

export type FakeWecomOptions = { token: string; encodingAESKey: string; botId: string; perMinute?: number };

export type CallbackOptions = {
  /** How long WeCom waits for an answer before retrying (default 5 s); per attempt when a function. */
  timeoutMs?: number | ((attempt: number) => number);
  /** Retries after a timeout, a network error or a 5xx (default 3, as WeCom documents). */
  retries?: number;
  /** Awaited after each attempt (e.g. to bring the database back before WeCom retries). */
  afterAttempt?: (attempt: number, status: number | "timeout" | "error") => Promise<void> | void;
  timestamp?: number;
  nonce?: string;
  /** Sign with this token instead (a forger without the real one). */
  token?: string;
  /** Encrypt with this EncodingAESKey instead (a wrong key). */
  encodingAESKey?: string;
  /** Change the ciphertext after encryption; `resign` signs the changed text with the real token. */
  tamper?: (encrypted: string) => string;
  resign?: boolean;
  /** Send this raw body instead of {"encrypt": …}. */
  rawBody?: string;
  /** Leave out query parameters. */
  omit?: ("msg_signature" | "timestamp" | "nonce")[];
};

export type CallbackResult = {
  status: number;
  attempts: number;
  body: string;
  /** The decrypted passive reply, after checking the envelope as WeCom would; null for an empty body. */
  reply: Record<string, unknown> | null;
};

/** `replica`: the sending process as the bot names it in its x-haolin-replica header (the soak's attribution). */
export type WebhookCall = { key: string; body: Record<string, unknown>; errcode: number; at: number; replica?: string };

const replicaOf = (req: IncomingMessage) => {
  const v = req.headers["x-haolin-replica"];
  return typeof v === "string" ? v : undefined;
};

export class FakeWecom {
  botUrl = "";
  /** Every webhook request, accepted or not, in order. */
  readonly calls: WebhookCall[] = [];
  private readonly keys = new Set<string>();
  private readonly scripted = new Map<string, number[]>();
  private server: Server | null = null;
  url = "";

  constructor(readonly opts: FakeWecomOptions) {}

  static async start(opts: FakeWecomOptions): Promise<FakeWecom> {
    const fake = new FakeWecom(opts);
    await fake.listen();
    return fake;
  }

  private listen(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://fake");
        const reply = (errcode: number, errmsg: string) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ errcode, errmsg }));
        };
        if (req.method !== "POST" || url.pathname !== "/cgi-bin/webhook/send") {
          res.writeHead(404).end();
          return;
        }
        const key = url.searchParams.get("key") ?? "";
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          this.calls.push({ key, body, errcode: 40001, at: Date.now(), replica: replicaOf(req) });
          return reply(40001, "invalid json");
        }
        const errcode = this.judge(key, body);
        this.calls.push({ key, body, errcode, at: Date.now(), replica: replicaOf(req) });
        reply(errcode, errcode === 0 ? "ok" : `fake error ${errcode}`);
      });
    });
    this.server = server;
    return new Promise((resolve) => {
      server.listen(0, "127.0.0.1", () => {
        this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        resolve();
      });
    });
  }

  private judge(key: string, body: Record<string, unknown>): number {
    if (!this.keys.has(key)) return 93000;
    const next = this.scripted.get(key)?.shift();
    if (next !== undefined) return next;
    const minuteAgo = Date.now() - 60_000;
    const recent = this.calls.filter((c) => c.key === key && c.errcode === 0 && c.at > minuteAgo).length;
    if (recent >= (this.opts.perMinute ?? 20)) return 45009;
    const type = body.msgtype;
    if (type === "image") return judgeImage(body.image);
    const content = (body[type as string] as { content?: unknown } | undefined)?.content;
    if ((type !== "text" && type !== "markdown") || typeof content !== "string") return 40008;
    if (Buffer.byteLength(content) > (type === "text" ? 2048 : 4096)) return 40058;
    return 0;
  }

  /** A new 消息推送 webhook: the URL an admin would copy from the group (official host). */
  addWebhook(): { key: string; url: string } {
    const key = `${randomBytes(4).toString("hex")}-${randomBytes(4).toString("hex")}-${randomBytes(8).toString("hex")}`;
    this.keys.add(key);
    return { key, url: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${key}` };
  }

  /** The group's webhook was removed: every send now answers 93000. */
  removeWebhook(key: string): void {
    this.keys.delete(key);
  }

  /** Answer the next sends to this key with these error codes (e.g. -1, 45009). */
  script(key: string, ...codes: number[]): void {
    this.scripted.set(key, [...(this.scripted.get(key) ?? []), ...codes]);
  }

  /** Accepted messages (errcode 0), optionally for one key. */
  sent(key?: string): WebhookCall[] {
    return this.calls.filter((c) => c.errcode === 0 && (key === undefined || c.key === key));
  }

  /** Every userid @-mentioned through mentioned_list in accepted messages, in order. */
  mentions(key?: string): string[] {
    return this.sent(key).flatMap((c) => ((c.body.text as { mentioned_list?: string[] } | undefined)?.mentioned_list ?? []));
  }

  /** The 保存 click in the admin console: GET with an encrypted echostr; the bot must answer the plaintext. */
  async verifyUrl(opts: Pick<CallbackOptions, "timestamp" | "token" | "encodingAESKey"> = {}) {
    const echo = randomBytes(10).readBigUInt64BE().toString();
    const echostr = wxEncrypt(opts.encodingAESKey ?? this.opts.encodingAESKey, echo, "");
    const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
    const nonce = randomBytes(6).toString("hex");
    const q = new URLSearchParams({
      msg_signature: wxSign(opts.token ?? this.opts.token, timestamp, nonce, echostr),
      timestamp,
      nonce,
      echostr,
    });
    const res = await fetch(`${this.botUrl}?${q}`, { signal: AbortSignal.timeout(1000) });
    return { status: res.status, text: await res.text(), echo };
  }

  /** One callback, the way WeCom delivers it (with its retries). */
  async callback(plaintext: object | string, o: CallbackOptions = {}): Promise<CallbackResult> {
    const message = typeof plaintext === "string" ? plaintext : JSON.stringify(plaintext);
    let encrypted = wxEncrypt(o.encodingAESKey ?? this.opts.encodingAESKey, message, "");
    const timestamp = String(o.timestamp ?? Math.floor(Date.now() / 1000));
    const nonce = o.nonce ?? randomBytes(6).toString("hex");
    let signature = wxSign(o.token ?? this.opts.token, timestamp, nonce, encrypted);
    if (o.tamper) {
      encrypted = o.tamper(encrypted);
      if (o.resign) signature = wxSign(this.opts.token, timestamp, nonce, encrypted);
    }
    const params: Record<string, string> = { msg_signature: signature, timestamp, nonce };
    for (const k of o.omit ?? []) delete params[k];
    const target = `${this.botUrl}?${new URLSearchParams(params)}`;
    const body = o.rawBody ?? JSON.stringify({ encrypt: encrypted });
    const retries = o.retries ?? 3;
    for (let attempt = 1; ; attempt++) {
      let outcome: number | "timeout" | "error";
      let text = "";
      try {
        const res = await fetch(target, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(typeof o.timeoutMs === "function" ? o.timeoutMs(attempt) : (o.timeoutMs ?? 5000)),
        });
        text = await res.text();
        outcome = res.status;
      } catch (err) {
        outcome = (err as Error).name === "TimeoutError" ? "timeout" : "error";
      }
      await o.afterAttempt?.(attempt, outcome);
      const failed = typeof outcome !== "number" || outcome >= 500;
      if (!failed || attempt > retries) {
        if (typeof outcome !== "number") throw new Error(`callback not answered after ${attempt} attempts (${outcome})`);
        return { status: outcome, attempts: attempt, body: text, reply: outcome === 200 ? this.openReply(text, nonce) : null };
      }
    }
  }

  /** Check a passive reply like WeCom: exact envelope keys, our nonce, a valid msgsignature, receiveid "". */
  private openReply(text: string, nonce: string): Record<string, unknown> | null {
    if (text === "") return null;
    const env = JSON.parse(text) as Record<string, unknown>;
    const keys = Object.keys(env).sort().join(",");
    if (keys !== "encrypt,msgsignature,nonce,timestamp") throw new Error(`reply envelope keys: ${keys}`);
    if (env.nonce !== nonce) throw new Error("reply nonce is not the callback's nonce");
    if (typeof env.timestamp !== "number") throw new Error("reply timestamp must be a number of seconds");
    const sig = wxSign(this.opts.token, String(env.timestamp), nonce, String(env.encrypt));
    if (env.msgsignature !== sig) throw new Error("reply msgsignature does not verify");
    const { message, receiveId } = wxDecrypt(this.opts.encodingAESKey, String(env.encrypt));
    if (receiveId !== "") throw new Error("reply receiveid must be empty");
    return JSON.parse(message) as Record<string, unknown>;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

// ───────────── callback bodies (decrypted), as WeCom documents them ─────────────

let seq = 0;
export const newMsgId = () => `fakemsg${Date.now().toString(36)}${(seq++).toString(36)}${randomBytes(4).toString("hex")}`;

export function groupText(botId: string, chatid: string, userid: string, content: string, msgid = newMsgId()) {
  return {
    msgid,
    aibotid: botId,
    chatid,
    chattype: "group",
    from: { userid },
    response_url: "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=FAKE",
    msgtype: "text",
    text: { content },
  };
}

export function cardClick(botId: string, chatid: string, userid: string, eventKey: string, taskId: string, msgid = newMsgId()) {
  return {
    msgid,
    create_time: Math.floor(Date.now() / 1000),
    aibotid: botId,
    chatid,
    chattype: "group",
    from: { userid },
    response_url: "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=FAKE2",
    msgtype: "event",
    event: { eventtype: "template_card_event", template_card_event: { card_type: "button_interaction", event_key: eventKey, task_id: taskId } },
  };
}

/**
 * An `image` message as 99110 describes it: `base64` of the picture and `md5` of the picture before encoding, at most
 * 2 MB, JPG or PNG. The document gives no error code for a broken one; the fake answers 301019 for an md5 that does
 * not match (the code WeCom users report for "media md5 not match") and 40009 (invalid image size) for the rest.
 */
export function judgeImage(image: unknown): number {
  const { base64, md5 } = (image ?? {}) as { base64?: unknown; md5?: unknown };
  if (typeof base64 !== "string" || typeof md5 !== "string") return 40008;
  const bytes = Buffer.from(base64, "base64");
  if (createHash("md5").update(bytes).digest("hex") !== md5) return 301019;
  const png = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const jpg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (bytes.length === 0 || bytes.length > 2 * 1024 * 1024 || !(png || jpg)) return 40009;
  return 0;
}
