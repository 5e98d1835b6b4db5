/**
 * The WeCom way out: each group's 消息推送 webhook (doc 99110). Pings are `text` with real @mentions
 * (`mentioned_list` = plaintext userids, `mentioned_mobile_list` for people known only by phone); digests are
 * `markdown`. 20 messages a minute per webhook: the outbox spaces sends 3 s apart. HTTP 200 with errcode ≠ 0 is a
 * failure: 45009 / -1 retry with backoff, 93000 means the webhook is gone (the chat is marked dead, admins told).
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { and, eq, inArray } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../db/client.js";
import { identities, type OutboxPayload, people } from "../../db/schema/index.js";
import { Permanent } from "../../scheduler/types.js";
import type { Destination, PartsSent, Sender } from "../../workflows/delivery.js";
import { sendUrl, splitBytes, webhookKey } from "./webhook.js";
import { withTimeout } from "../../lib/timeout.js";
import { type AppSenderOptions, createAppDelivery } from "./app-sender.js";
import { postedImage } from "../../workflows/media/posted.js";

export const TEXT_MAX_BYTES = 2048;
export const MARKDOWN_MAX_BYTES = 4096;

export type WecomSenderOptions = {
  webhookBase: string;
  logger: Logger;
  /** Called once a webhook answered 93000: mark the chat dead and tell the admins (a workflow). */
  onDeadWebhook: (chatId: string) => Promise<void>;
  minIntervalMs?: number;
  timeoutMs?: number;
  /** The 自建应用: with it, the sender also reaches members privately (application messages). */
  app?: AppSenderOptions;
  /** Which process sent a request (default host:pid), as a header WeCom ignores: the soak attributes each copy by it. */
  replica?: string;
};

type Mentions = { userids: string[]; mobiles: string[] };

/** Person ids → WeCom userids (identities), else phone numbers (mentioned_mobile_list), in the payload's order. */
async function resolveMentions(db: Db, personIds: string[]): Promise<Mentions> {
  if (personIds.length === 0) return { userids: [], mobiles: [] };
  const ids = await db
    .select({ personId: identities.personId, externalId: identities.externalId })
    .from(identities)
    .where(and(eq(identities.platform, "wecom"), eq(identities.kind, "userid"), inArray(identities.personId, personIds)));
  const phones = await db.select({ id: people.id, phone: people.phone }).from(people).where(inArray(people.id, personIds));
  const out: Mentions = { userids: [], mobiles: [] };
  for (const pid of new Set(personIds)) {
    const userid = ids.find((i) => i.personId === pid)?.externalId;
    const phone = phones.find((p) => p.id === pid)?.phone;
    if (userid) out.userids.push(userid.toLowerCase());
    else if (phone) out.mobiles.push(phone);
  }
  return out;
}

/** The webhook messages for one outbox payload: text pieces ≤2048 bytes, markdown pieces ≤4096 bytes. */
export function webhookMessages(payload: OutboxPayload, m: Mentions): object[] {
  if (payload.format === "markdown") {
    const tags = m.userids.map((u) => `<@${u}>`).join(" ");
    const content = tags ? `${payload.text}\n${tags}` : payload.text;
    return splitBytes(content, MARKDOWN_MAX_BYTES).map((c) => ({ msgtype: "markdown", markdown: { content: c } }));
  }
  return splitBytes(payload.text, TEXT_MAX_BYTES).map((c, i) => ({
    msgtype: "text",
    text:
      i === 0 && (m.userids.length || m.mobiles.length)
        ? {
            content: c,
            ...(m.userids.length ? { mentioned_list: m.userids } : {}),
            ...(m.mobiles.length ? { mentioned_mobile_list: m.mobiles } : {}),
          }
        : { content: c },
  }));
}

/** Largest image a webhook takes (99110: 图片（base64编码前）最大不能超过2M，支持JPG,PNG格式). */
export const IMAGE_MAX_BYTES = 2 * 1024 * 1024;

/** A posted picture as a webhook `image` message: the bytes in base64 and the md5 of the bytes themselves (99110). */
async function imageMessage(db: Db, sha256: string): Promise<object> {
  const img = await postedImage(db, sha256);
  if (!img) throw new Permanent("the image to post is gone");
  if (img.data.length > IMAGE_MAX_BYTES || !/^image\/(png|jpeg)$/.test(img.mime)) throw new Permanent("image not postable by a webhook");
  return { msgtype: "image", image: { base64: img.data.toString("base64"), md5: createHash("md5").update(img.data).digest("hex") } };
}

export function createWecomSender(opts: WecomSenderOptions): Sender {
  const log = opts.logger.child({ platform: "wecom" });
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const replica = opts.replica ?? `${hostname()}:${process.pid}`;

  async function post(key: string, body: object): Promise<number> {
    let answer: { status: number; json: { errcode?: unknown } | null };
    try {
      answer = await withTimeout(timeoutMs, async (signal) => {
        const res = await fetch(sendUrl(opts.webhookBase, key), {
          method: "POST",
          headers: { "content-type": "application/json; charset=utf-8", "x-haolin-replica": replica },
          body: JSON.stringify(body),
          signal,
        });
        if (!res.ok) {
          // Let the connection go back to the pool: nobody reads an error page.
          await res.body?.cancel().catch(() => {});
          return { status: res.status, json: null };
        }
        return { status: res.status, json: (await res.json().catch(() => null)) as { errcode?: unknown } | null };
      });
    } catch (err) {
      // Never the URL (it holds the key): only the kind of failure.
      throw new Error(`webhook request failed (${(err as Error).name})`);
    }
    if (answer.status < 200 || answer.status > 299) throw new Error(`webhook HTTP ${answer.status}`);
    const { json } = answer;
    return typeof json?.errcode === "number" ? json.errcode : Number.NaN;
  }

  const toMember = opts.app ? createAppDelivery(opts.app) : null;
  const webhookInterval = opts.minIntervalMs ?? 3000;

  return {
    platform: "wecom",
    direct: toMember !== null,
    minIntervalMs: (to, payload) => (to.kind === "person" && toMember ? toMember.interval(payload) : webhookInterval),
    async send(to: Destination, payload: OutboxPayload, db: Db, parts: PartsSent) {
      if (to.kind === "person") {
        if (!toMember) throw new Permanent("a WeCom webhook cannot message a person directly");
        return toMember.send(to.externalId, payload, parts);
      }
      const chat = to.chat;
      if (chat.status === "dead") throw new Permanent("the chat's webhook is dead; bind it again");
      const key = webhookKey(chat.webhookUrl);
      if (!key) throw new Permanent("no 消息推送 webhook registered for this chat");
      const messages = payload.image
        ? [await imageMessage(db, payload.image.sha256)]
        : webhookMessages(payload, await resolveMentions(db, payload.mentions));
      // A retry starts after the parts that already reached the group (the same text splits the same way).
      for (const [i, body] of messages.entries()) {
        if (i < parts.sent) continue;
        const code = await post(key, body);
        if (code === 0) {
          if (i < messages.length - 1) await parts.record(i + 1);
          continue;
        }
        log.warn({ chatId: chat.id, errcode: code, parts: messages.length }, "webhook send refused");
        if (code === 93000) {
          await opts.onDeadWebhook(chat.id);
          throw new Permanent("webhook invalid (93000)");
        }
        if (code === 45009 || code === -1 || Number.isNaN(code)) throw new Error(`webhook errcode ${code}`);
        throw new Permanent(`webhook errcode ${code}`);
      }
    },
  };
}
