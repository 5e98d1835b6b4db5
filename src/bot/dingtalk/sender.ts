/**
 * DingTalk's way out for outbox rows. Group messages: groupMessages/send (markdown for digests). Direct
 * messages: oToMessages/batchSend. Neither can @ anyone, so a message that mentions people about a ticket (an
 * escalation ping) becomes an interactive card delivered with atUserIds and 认领 / 办结 buttons.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../db/client.js";
import { identities, type OutboxPayload, people } from "../../db/schema/index.js";
import { Permanent, RetryAt } from "../../scheduler/types.js";
import type { Destination, Sender } from "../../workflows/delivery.js";
import { type DingTalkApi, DingTalkError, msgBody } from "./api.js";
import { encodeOutTrackId, escalationCardParams } from "./cards.js";

export type DingTalkSenderOptions = { api: DingTalkApi; logger: Logger; cardTemplateId?: string };

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

  async function sendToChat(to: Extract<Destination, { kind: "chat" }>, payload: OutboxPayload, db: Db) {
    const conv = openConversationId(to.chat);
    if (payload.mentions.length && payload.ticketId && opts.cardTemplateId) {
      const users = await dingtalkUsers(db, payload.mentions);
      const outTrackId = encodeOutTrackId(payload.ticketId, to.chat.id, payload.text);
      await api.createAndDeliverCard({
        templateId: opts.cardTemplateId,
        outTrackId,
        openConversationId: conv,
        params: escalationCardParams(payload.ticketId, payload.text),
        atUserIds: Object.fromEntries(users.map((u) => [u.userId, u.name])),
      });
      logger.info({ chatId: to.chat.id, ticketId: payload.ticketId, at: users.length }, "dingtalk card delivered");
      return;
    }
    if (payload.mentions.length && !opts.cardTemplateId && !warnedNoTemplate) {
      warnedNoTemplate = true;
      logger.warn("DINGTALK_CARD_TEMPLATE_ID is not set: escalation pings go as plain group messages without a real @");
    }
    await api.sendGroup(conv, msgBody(payload.text, payload.format));
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
    async send(to: Destination, payload: OutboxPayload, db: Db) {
      try {
        if (to.kind === "chat") await sendToChat(to, payload, db);
        else await sendToPerson(to, payload);
      } catch (err) {
        throw outboxError(err, logger);
      }
    },
  };
}
