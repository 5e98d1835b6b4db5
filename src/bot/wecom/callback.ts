/**
 * The 智能机器人 callback (API mode, callback URL), as Web Request → Response.
 *
 * Order: body size → query parameters → signature (constant time) → timestamp freshness → decrypt → what
 * @wecom/crypto does not check (structure, receiveid "", aibotid, JSON shape) → the core pipeline → an encrypted
 * passive reply. A rejection stores nothing and logs only the reason and lengths. If the database is unavailable the
 * answer is 503 so WeCom delivers again; `msgid` dedupe makes the redelivery safe. A message the database refuses
 * for its data is answered (with an apology) by the pipeline, never with a 503 that would bring it back for ever.
 */
import { errInfo } from "../../lib/errors.js";
import { ignoredCallbacks, rejectedCallbacks } from "../../lib/metrics.js";
import type { Logger } from "pino";
import { BotNameWatch } from "../bot-name.js";
import { cleanIncoming } from "../clean.js";
import { heldMessagesFor } from "../../workflows/held-messages.js";
import { learnAlias } from "../../workflows/identity-alias.js";
import { RecentSet } from "../../lib/recent-set.js";
import type { WecomAppApi } from "./app-api.js";
import { handleIncoming, type PipelineDeps } from "../pipeline.js";
import { helpReply } from "../commands.js";
import { replies } from "../replies.js";
import type { IncomingMessage, Reply } from "../types.js";
import { commandFor, parseEventKey, taskIdFor, ticketCard, ticketOfTask, updatedCard } from "./cards.js";
import type { WecomConfig } from "./config.js";
import { CryptoError, openCiphertext, sealReply, signatureMatches } from "./crypto.js";
import { WECOM_MEDIA_VALID_MS } from "./media.js";
import { type Callback, messageImages, messageText, parseCallback, stripBotMention } from "./parse.js";

/**
 * A memory bound, not a length rule: a callback with a text longer than the pipeline takes (MAX_TEXT) must still be
 * read, so its sender hears "too long" instead of nothing. 20,000 characters sent as \u escapes, encrypted and
 * base64-encoded come to about 320 KB.
 */
export const MAX_BODY_BYTES = 512 * 1024;
/** WeCom does not specify a window; its retries arrive within seconds. Five minutes tolerates clock skew. */
export const MAX_SKEW_S = 300;
/** stream.content is limited to 20480 bytes. */
const MAX_STREAM_BYTES = 20_000;
/** The enter_chat answer is a `text` message; kept within 2048 bytes, the text limit WeCom uses elsewhere. */
const ENTER_CHAT_MAX_BYTES = 2000;

export type WecomAdapterOptions = {
  config: WecomConfig;
  pipeline: PipelineDeps;
  logger: Logger;
  /** The 自建应用, when configured: it turns an encrypted open_userid the bot reports into the directory's userid. */
  app?: WecomAppApi | null;
  /** Wall clock for timestamp freshness (seconds come from WeCom's clock, not the business clock). */
  nowMs?: () => number;
};

class Reject extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const text = (status: number, body: string) =>
  new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

/** WeCom says to URL-decode; URLSearchParams turns a literal "+" into a space, and base64 never has spaces. */
const param = (url: URL, name: string) => url.searchParams.get(name)?.replaceAll(" ", "+") ?? null;

async function readLimited(req: Request, max: number): Promise<string> {
  const length = req.headers.get("content-length");
  if (Number(length ?? "0") > max) throw new Reject(413, "body too large");
  // With a length (WeCom always sends one) the HTTP server ends the body there, so it is read at once. On
  // @hono/node-server, text() reads node's own request and builds no web Request: that one's AbortSignal and body
  // stream outlived the young-generation GCs and were promoted, one set per callback (docs/performance.md).
  if (length !== null) return req.text();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new Reject(413, "body too large");
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export class WecomAdapter {
  private readonly log: Logger;
  private readonly nowMs: () => number;
  /** Sender ids already known, or that resolved to nobody: not looked up again. */
  private readonly unresolvable = new RecentSet<string>(10_000);

  /** The bot's own @name when the town renamed it (see bot-name.ts); shown on /readyz. */
  readonly botNames: BotNameWatch;

  constructor(private readonly opts: WecomAdapterOptions) {
    this.log = opts.logger.child({ platform: "wecom" });
    this.botNames = new BotNameWatch("wecom", opts.config.botNames, this.log);
    this.nowMs = opts.nowMs ?? Date.now;
  }

  async handleCallback(req: Request): Promise<Response> {
    try {
      if (req.method === "GET") return this.verifyUrl(new URL(req.url));
      if (req.method === "POST") return await this.receive(req);
      return text(405, "method not allowed");
    } catch (err) {
      if (err instanceof Reject) {
        this.log.warn({ status: err.status, reason: err.reason }, "callback rejected");
        rejectedCallbacks.inc({ platform: "wecom", status: String(err.status) });
        return text(err.status, err.reason);
      }
      throw err;
    }
  }

  /** Signature, then freshness, then the ciphertext: returns the plaintext. */
  private open(url: URL, ciphertext: string): string {
    const { token, encodingAESKey } = this.opts.config;
    const signature = param(url, "msg_signature");
    const timestamp = param(url, "timestamp");
    const nonce = param(url, "nonce");
    if (!signature || !timestamp || !nonce) throw new Reject(400, "missing query parameters");
    if (!/^\d{1,12}$/.test(timestamp) || nonce.length > 128) throw new Reject(400, "bad query parameters");
    if (!signatureMatches(token, timestamp, nonce, ciphertext, signature)) throw new Reject(401, "bad signature");
    if (Math.abs(this.nowMs() / 1000 - Number(timestamp)) > MAX_SKEW_S) throw new Reject(401, "stale timestamp");
    try {
      return openCiphertext(encodingAESKey, ciphertext, "");
    } catch (err) {
      if (err instanceof CryptoError) throw new Reject(400, `undecryptable: ${err.message}`);
      throw err;
    }
  }

  /** URL verification (保存 in the admin console): the decrypted echostr as bare text, within a second. */
  private verifyUrl(url: URL): Response {
    const echostr = param(url, "echostr");
    if (!echostr) throw new Reject(400, "missing query parameters");
    const plain = this.open(url, echostr);
    this.log.info("callback URL verified");
    return text(200, plain);
  }

  private async receive(req: Request): Promise<Response> {
    const raw = await readLimited(req, MAX_BODY_BYTES);
    const url = new URL(req.url);
    if (!param(url, "msg_signature") || !param(url, "timestamp") || !param(url, "nonce"))
      throw new Reject(400, "missing query parameters");
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new Reject(400, "body is not JSON");
    }
    const ciphertext = (body as { encrypt?: unknown } | null)?.encrypt;
    if (typeof ciphertext !== "string") throw new Reject(400, "no encrypt field");
    const plain = this.open(url, ciphertext);
    const parsed = parseCallback(plain, this.opts.config.botId);
    if (!parsed.ok) {
      if (parsed.reason === "wrong_bot") throw new Reject(403, "aibotid mismatch");
      // Signed with our token and sealed with our key, so it is WeCom's: a shape or type we do not act on is
      // answered 200 and dropped. Any other answer only makes WeCom deliver it again (and it never changes).
      this.log.warn({ reason: parsed.reason, length: plain.length }, "callback ignored");
      ignoredCallbacks.inc({ platform: "wecom", reason: parsed.reason });
      return new Response(null, { status: 200 });
    }
    const m = parsed.callback;
    const nonce = param(url, "nonce") as string;
    this.log.info({ msgid: m.msgid, msgtype: m.msgtype, chattype: m.chattype, length: plain.length }, "callback");

    try {
      await this.knowSender(m.from.userid);
      if (m.msgtype === "event") return await this.onEvent(m, nonce);
      const content = messageText(m);
      const images = messageImages(m);
      if (content === null && images.length === 0) {
        if (m.msgtype === "stream") return new Response(null, { status: 200 });
        return this.reply(nonce, streamReply(m.msgid, "暂时只能处理文字和图片。请用文字描述，或发图文混排消息并 @我。"));
      }
      const text = content === null ? "" : await this.botNames.strip(stripBotMention(content, this.opts.config.botNames), this.opts.pipeline);
      const result = await handleIncoming(this.opts.pipeline, { ...this.incoming(m, text), ...mediaOf(m, images) });
      const out = this.withChatId(m, result.replies);
      const answer = out.map((r) => r.text).join("\n\n");
      // In the member's own single chat, what waits for them comes along (a town without a 自建应用).
      const held = m.chattype === "single" ? await this.held(m, MAX_STREAM_BYTES - Buffer.byteLength(answer) - 4) : null;
      if (out.length === 0 && !held) return new Response(null, { status: 200 });
      const one = out.length === 1 && !held ? out[0] : undefined;
      const card = one ? ticketCard(one, taskIdFor(one.ticketId ?? 0, m.msgid)) : null;
      return this.reply(nonce, streamReply(m.msgid, [answer, held].filter(Boolean).join("\n\n"), card));
    } catch (err) {
      // Database (or pipeline) failure: WeCom retries a callback that fails, and the msgid dedupe makes that safe.
      this.log.error({ msgid: m.msgid, ...errInfo(err) }, "callback not processed; asking WeCom to retry");
      return text(503, "temporarily unavailable");
    }
  }

  private incoming(m: Callback, text: string): IncomingMessage {
    return cleanIncoming({
      platform: "wecom",
      messageId: m.msgid,
      chatExternalId: m.chattype === "group" ? (m.chatid ?? null) : null,
      senderExternalId: m.from.userid.toLowerCase(),
      text,
      addressed: true,
      receivedAt: this.opts.pipeline.clock(),
      ...quoteOf(m),
    });
  }

  /** An unregistered group is told its chatid, which the admin needs to bind it (`npm run wecom:bind`). */
  private withChatId(m: Callback, out: Reply[]): Reply[] {
    const unregistered = replies.unregisteredChat().text;
    if (m.chattype !== "group" || out.length !== 1 || out[0]?.text !== unregistered) return out;
    return [{ ...(out[0] as Reply), text: `${unregistered}\n本群 ID：${m.chatid}（登记时使用）` }];
  }

  private async onEvent(m: Extract<Callback, { msgtype: "event" }>, nonce: string): Promise<Response> {
    const ev = m.event;
    if (ev.eventtype === "enter_chat") {
      const held = await this.held(m, ENTER_CHAT_MAX_BYTES);
      return this.reply(nonce, { msgtype: "text", text: { content: held ?? helpReply(null).text } });
    }
    // feedback_event allows only an empty answer (101031); other events we do not act on get the same.
    if (ev.eventtype !== "template_card_event" || !ev.template_card_event) return new Response(null, { status: 200 });
    const { event_key, task_id } = ev.template_card_event;
    const click = event_key ? parseEventKey(event_key) : null;
    // Only our own cards: the key and the task_id must name the same ticket.
    if (!click || !task_id || ticketOfTask(task_id) !== click.ticketId) {
      this.log.warn({ msgid: m.msgid }, "card event with a key we did not make");
      return new Response(null, { status: 200 });
    }
    // The same workflow as typing the command; the event's msgid is the dedupe key, so a repeat changes nothing.
    const result = await handleIncoming(this.opts.pipeline, this.incoming(m, commandFor(click.action, click.ticketId)));
    const answer = result.replies[0] ?? { text: "已收到。", mentions: [] };
    return this.reply(nonce, updatedCard(click.ticketId, answer, task_id));
  }

  /**
   * A sender the directory does not know may be a member given as an open_userid (doc 101521): with the 自建应用, ask
   * once which userid it is and remember it. Ids that resolve to nobody are not asked about again in this process.
   */
  private async knowSender(given: string): Promise<void> {
    const api = this.opts.app;
    // Kept lower-cased like every WeCom sender id; asked about as given (an open_userid is case-sensitive).
    const id = given.toLowerCase();
    if (!api || this.unresolvable.has(id)) return;
    const resolve = async () => (await api.openUseridsToUserids([given])).get(given) ?? null;
    try {
      const learned = await learnAlias(this.opts.pipeline.db, { platform: "wecom", id, kind: "open_userid", resolve });
      if (learned) this.log.info("a member's open_userid linked to their userid");
      else this.unresolvable.add(id);
    } catch (err) {
      this.log.warn(errInfo(err), "open_userid could not be resolved");
    }
  }

  /** The private messages waiting for this member (delivery could not push them), marked as delivered by this reply. */
  private held(m: Callback, maxBytes: number): Promise<string | null> {
    const { db, clock } = this.opts.pipeline;
    return heldMessagesFor(db, { platform: "wecom", externalId: m.from.userid.toLowerCase(), msgid: m.msgid, now: clock(), maxBytes });
  }

  private reply(nonce: string, plaintext: unknown): Response {
    const { token, encodingAESKey } = this.opts.config;
    const envelope = sealReply(token, encodingAESKey, JSON.stringify(plaintext), nonce, Math.floor(this.nowMs() / 1000));
    return new Response(JSON.stringify(envelope), { status: 200, headers: { "content-type": "application/json" } });
  }
}

/**
 * Photos (fetched and decrypted by the photo job after the reply, within the URL's five minutes) and the voice mark:
 * a voice message's text is WeCom's transcription.
 */
function mediaOf(m: Callback, images: string[]): Pick<IncomingMessage, "attachments" | "voice"> {
  return {
    ...(images.length
      ? { attachments: images.map((url) => ({ kind: "image" as const, source: { platform: "wecom" as const, url }, validMs: WECOM_MEDIA_VALID_MS })) }
      : {}),
    ...(m.msgtype === "voice" ? { voice: true } : {}),
  };
}

/** The quoted message's text (100719 引用), for the command layer to find the ticket it is about. */
function quoteOf(m: Callback): Pick<IncomingMessage, "quote"> {
  const q = m.msgtype === "event" ? undefined : m.quote;
  const text = q ? messageText(q) : null;
  return text ? { quote: { text } } : {};
}

function clipBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = "";
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max - 3) break;
    out += ch;
  }
  return `${out}…`;
}

/** One finished `stream` reply (markdown); with a card it is `stream_with_template_card` (doc 101031). */
function streamReply(msgid: string, content: string, card?: object | null) {
  const stream = { id: `s-${taskIdFor(0, msgid).slice(3)}`, finish: true, content: clipBytes(content, MAX_STREAM_BYTES) };
  return card ? { msgtype: "stream_with_template_card", stream, template_card: card } : { msgtype: "stream", stream };
}
