/**
 * DingTalk's way out for outbox rows. Group messages: groupMessages/send (markdown for digests). Direct
 * messages: oToMessages/batchSend. Neither can @ anyone, so a message that mentions people about a ticket (an
 * escalation ping) becomes an interactive card delivered with atUserIds and 认领 / 办结 buttons.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../db/client.js";
import { postedImage } from "../../workflows/media/posted.js";
import { identities, type OutboxPayload, people } from "../../db/schema/index.js";
import { Permanent, RetryAt } from "../../scheduler/types.js";
import type { Destination, PartsSent, Sender } from "../../workflows/delivery.js";
import { cardResults } from "../../lib/metrics.js";
import { type CardDelivery, type DingTalkApi, DingTalkError, msgBody } from "./api.js";
import { encodeOutTrackId, escalationCardParams } from "./cards.js";
import { mentionBody } from "./mentions.js";
import type { SessionWebhooks } from "./sessions.js";

export type DingTalkSenderOptions = { api: DingTalkApi; logger: Logger; cardTemplateId?: string; sessions?: SessionWebhooks };

/** Do not start a session-webhook call this close to its expiry. */
export const WEBHOOK_MARGIN_MS = 60_000;

/** The DingTalk user ids and names of people, in the order given (people without a DingTalk account left out). */
export async function dingtalkUsers(db: Db, personIds: string[]): Promise<{ personId: string; userId: string; name: string }[]> {
  if (personIds.length === 0) return [];
  const rows = await db
    .select({ personId: identities.personId, userId: identities.externalId, name: people.name })
    .from(identities)
    .innerJoin(people, eq(people.id, identities.personId))
    .where(and(eq(identities.platform, "dingtalk"), inArray(identities.personId, personIds)));
  return personIds.flatMap((id) => rows.filter((r) => r.personId === id).slice(0, 1));
}

/** The group id the OpenAPI wants: recorded in chats.meta, else the conversationId we registered the chat by. */
export const openConversationId = (chat: { externalId: string; meta: Record<string, unknown> }) =>
  typeof chat.meta.openConversationId === "string" && chat.meta.openConversationId ? chat.meta.openConversationId : chat.externalId;

/** Map a DingTalk failure to what the outbox should do: wait (throttling, quota), never retry, or back off. */
export function outboxError(err: unknown, logger: Logger): Error {
  if (!(err instanceof DingTalkError)) return err as Error;
  const jitter = () => Math.floor(Math.random() * 1000);
  switch (err.kind) {
    case "throttled":
      return new RetryAt(new Date(Date.now() + (err.retryAfterMs ?? 2000) + jitter()));
    case "quota":
      // The free edition's monthly API quota: nothing will go until it resets or the org upgrades; keep the rows.
      logger.error({ code: err.code }, "dingtalk API quota exhausted (90020); messages wait");
      return new RetryAt(new Date(Date.now() + 3_600_000 + jitter()));
    case "permanent":
      return new Permanent(err.message);
    default:
      return err;
  }
}

export function createDingTalkSender(opts: DingTalkSenderOptions): Sender {
  const { api, logger } = opts;
  let warnedNoTemplate = false;

  /** The card, and once more under a new id if DingTalk says (inside its 200) that it was not delivered. */
  async function deliverCard(card: Omit<Parameters<DingTalkApi["createAndDeliverCard"]>[0], "outTrackId">, ticketId: number, parts: string[]) {
    let last: CardDelivery = { delivered: false, errors: [] };
    // The same ids on every outbox attempt (a retried send is the same card); the second try is a new card.
    const ids = [encodeOutTrackId(ticketId, ...parts), encodeOutTrackId(ticketId, ...parts, "again")];
    for (const [attempt, outTrackId] of ids.entries()) {
      try {
        last = await api.createAndDeliverCard({ ...card, outTrackId });
      } catch (err) {
        // A card DingTalk refuses outright (a template that does not exist) is replaced by text; the rest waits.
        if (!(err instanceof DingTalkError) || err.kind !== "permanent") throw err;
        return { delivered: false, errors: [err.message], attempt };
      }
      if (last.delivered) return { ...last, attempt };
    }
    return { ...last, attempt: 1 };
  }

  async function sendToChat(to: Extract<Destination, { kind: "chat" }>, payload: OutboxPayload, db: Db, parts: PartsSent) {
    const conv = openConversationId(to.chat);
    if (payload.image) {
      // A picture (the 好邻 poster): uploaded for a media_id, then posted as sampleImageMsg.
      const img = await postedImage(db, payload.image.sha256);
      if (!img) throw new Permanent("the image to post is gone");
      const mediaId = await api.uploadImage(img.data, img.mime);
      await api.sendGroup(conv, { msgKey: "sampleImageMsg", msgParam: JSON.stringify({ photoURL: mediaId }) });
      return;
    }
    if (payload.mentions.length && payload.ticketId && opts.cardTemplateId) {
      const users = await dingtalkUsers(db, payload.mentions);
      const card = await deliverCard(
        {
          templateId: opts.cardTemplateId,
          openConversationId: conv,
          params: escalationCardParams(payload.ticketId, payload.text),
          atUserIds: Object.fromEntries(users.map((u) => [u.userId, u.name])),
        },
        payload.ticketId,
        [to.chat.id, payload.text],
      );
      const log = { chatId: to.chat.id, ticketId: payload.ticketId, at: users.length };
      if (card.delivered) {
        cardResults.inc({ outcome: card.attempt === 0 ? "delivered" : "delivered_on_retry" });
        if (card.attempt > 0) await parts.note?.("card delivered on the second try");
        logger.info(log, "dingtalk card delivered");
        return;
      }
      // Not delivered: the same words as a text message, with a real @ when the group's session webhook is live.
      const realAt = await sendMentioning(conv, payload, users);
      const how = realAt ? "as text with a real @" : "as a group message without a real @ (no live session webhook)";
      cardResults.inc({ outcome: realAt ? "text_with_at" : "text_without_at" });
      await parts.note?.(`card not delivered (${card.errors.join("; ")}); sent ${how}`);
      logger.warn({ ...log, errors: card.errors }, `dingtalk card not delivered; sent ${how}`);
      return;
    }
    if (payload.mentions.length) {
      if (!opts.cardTemplateId && !warnedNoTemplate) {
        warnedNoTemplate = true;
        logger.warn("DINGTALK_CARD_TEMPLATE_ID is not set: pings @ people only while their group's session webhook is live");
      }
      await sendMentioning(conv, payload, await dingtalkUsers(db, payload.mentions));
      return;
    }
    await api.sendGroup(conv, msgBody(payload.text, payload.format));
  }

  /**
   * A message that mentions people, as text: through the group's live session webhook with `@<userId>` (a real @),
   * else as a group message, where the names stay plain text (the OpenAPI cannot @). True when it was a real @.
   */
  async function sendMentioning(conv: string, payload: OutboxPayload, users: { userId: string; name: string }[]): Promise<boolean> {
    const live = opts.sessions?.live(conv, Date.now(), WEBHOOK_MARGIN_MS);
    if (live) {
      try {
        await api.replyBySession(live, mentionBody(payload.text, users, payload.format));
        return true;
      } catch (err) {
        logger.warn({ err: (err as Error).message }, "dingtalk: session webhook failed; sending as a group message");
      }
    }
    await api.sendGroup(conv, msgBody(payload.text, payload.format));
    return false;
  }

  async function sendToPerson(to: Extract<Destination, { kind: "person" }>, payload: OutboxPayload) {
    const r = await api.sendDirect([to.externalId], msgBody(payload.text, payload.format));
    if (r.invalid.includes(to.externalId)) throw new Permanent("dingtalk: not a staff id of this organisation");
    if (r.flowControlled.includes(to.externalId)) throw new DingTalkError("throttled", 200, "flowControlledStaffIdList", "batchSend");
  }

  return {
    platform: "dingtalk",
    direct: true,
    // DingTalk publishes no per-group limit; a second between two messages to one place keeps bursts polite.
    minIntervalMs: 1000,
    async send(to: Destination, payload: OutboxPayload, db: Db, parts: PartsSent) {
      try {
        if (to.kind === "chat") await sendToChat(to, payload, db, parts);
        else await sendToPerson(to, payload);
      } catch (err) {
        throw outboxError(err, logger);
      }
    },
  };
}
