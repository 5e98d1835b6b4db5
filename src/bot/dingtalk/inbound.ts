/**
 * What happens to a frame once it is acked: a robot message goes through the shared pipeline and the replies
 * go back through the session webhook (or the OpenAPI once it has expired); a card tap becomes the command it
 * stands for, goes through the same pipeline, and the card is updated. Business rules stay in the workflows.
 */
import { cleanText } from "../../lib/clean.js";
import { errInfo } from "../../lib/errors.js";
import { ignoredCallbacks } from "../../lib/metrics.js";
import type { Logger } from "pino";
import type { BotNameWatch } from "../bot-name.js";
import { cleanIncoming } from "../clean.js";
import { handleIncoming, type PipelineDeps } from "../pipeline.js";
import type { Reply } from "../types.js";
import { findChat, getPerson } from "../../workflows/directory.js";
import { getTicket } from "../../workflows/tickets.js";
import { type DingTalkApi, msgBody } from "./api.js";
import { cardParamsFor } from "./cards.js";
import { parseCardTap, parseFrameData, ROBOT_MSGTYPES, robotToIncoming, sessionExpiry, tapCommand, tapMessageId } from "./parse.js";
import { mentionBody } from "./mentions.js";
import { dingtalkUsers, WEBHOOK_MARGIN_MS } from "./sender.js";
import type { SessionWebhooks } from "./sessions.js";
import type { CardCallback, RobotMessage, StreamFrame } from "./types.js";


/**
 * Frames are acked before they are processed, so DingTalk will not redeliver them: if the database is down, keep
 * trying here (about ten minutes, backing off) instead of dropping the message. The msgId dedupe makes retries safe.
 */
async function persistently<T>(deps: InboundDeps, what: string, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= 14) throw err;
      const wait = Math.min(60_000, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      deps.logger.warn({ attempt, waitMs: Math.round(wait), ...errInfo(err) }, `dingtalk: ${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

export type InboundDeps = {
  pipeline: PipelineDeps;
  api: DingTalkApi;
  logger: Logger;
  botNames: string[];
  sessions?: SessionWebhooks;
  /** The robot's own @name when the town renamed it (bot-name.ts). */
  names?: BotNameWatch;
};

export async function onRobotFrame(deps: InboundDeps, frame: StreamFrame): Promise<void> {
  const m = parseFrameData<RobotMessage>(frame);
  if (m && !ROBOT_MSGTYPES.includes(m.msgtype)) {
    // A type DingTalk does not document (a location, say, if it ever sends one): already acked, so dropped here —
    // counted, logged by its type only (its content may be an address), no reply, nothing stored.
    ignoredCallbacks.inc({ platform: "dingtalk", reason: "unknown_msgtype" });
    deps.logger.warn({ frameId: frame.headers.messageId, msgtype: cleanText(String(m.msgtype)).slice(0, 32) }, "dingtalk: robot message of an unknown type ignored");
    return;
  }
  const parsed = m && robotToIncoming(m, deps.botNames, deps.pipeline.clock());
  // DingTalk removes the robot's own @ from text messages; rich text can keep it, under a name we may not know.
  const msg = parsed && m?.msgtype === "richText" && deps.names ? { ...parsed, text: await deps.names.strip(parsed.text, deps.pipeline) } : parsed;
  if (!m || !msg) {
    deps.logger.warn({ frameId: frame.headers.messageId }, "dingtalk: robot frame without msgId or sender");
    return;
  }
  const expires = sessionExpiry(m);
  if (m.conversationType === "2" && m.sessionWebhook && expires) deps.sessions?.remember(m.conversationId, m.sessionWebhook, expires);
  // A message from an unregistered group is logged by the pipeline with its conversationId (what an admin needs
  // to register the group, README: 接入钉钉).
  const result = await persistently(deps, "message", () => handleIncoming(deps.pipeline, msg));
  // A redelivery: the first delivery already answered.
  if (result.duplicate) return;
  for (const r of result.replies) await sendReply(deps, m, r);
}

async function sendReply(deps: InboundDeps, m: RobotMessage, reply: Reply): Promise<void> {
  if (!reply.text) return;
  const log = deps.logger.child({ msgId: m.msgId, length: reply.text.length });
  // Mentions are the same few leaders again and again: kept with the directory cache until the directory changes.
  const users = await deps.pipeline.directory.memo(`dingtalk-users:${reply.mentions.join(",")}`, () =>
    dingtalkUsers(deps.pipeline.db, reply.mentions),
  );
  const expires = sessionExpiry(m);
  if (m.sessionWebhook && expires && expires - WEBHOOK_MARGIN_MS > Date.now()) {
    try {
      await deps.api.replyBySession(m.sessionWebhook, mentionBody(reply.text, users));
      return;
    } catch (err) {
      log.warn({ err: (err as Error).message }, "dingtalk: session webhook failed; using the OpenAPI");
    }
  }
  // The proactive API cannot @ anyone; the names stay in the text.
  try {
    if (m.conversationType === "2") await deps.api.sendGroup(m.conversationId, msgBody(reply.text));
    else if (m.senderStaffId) await deps.api.sendDirect([m.senderStaffId], msgBody(reply.text));
  } catch (err) {
    log.error({ err: (err as Error).message }, "dingtalk: reply could not be sent");
  }
}

export async function onCardFrame(deps: InboundDeps, frame: StreamFrame): Promise<void> {
  const cb = parseFrameData<CardCallback>(frame);
  const tap = cb && parseCardTap(cb);
  if (!tap) {
    deps.logger.info({ frameId: frame.headers.messageId }, "dingtalk: card callback ignored");
    return;
  }
  const { db } = deps.pipeline;
  const result = await persistently(deps, "card tap", async () => {
    const chat = tap.spaceId ? await findChat(db, "dingtalk", tap.spaceId) : null;
    return handleIncoming(deps.pipeline, cleanIncoming({
      platform: "dingtalk",
      messageId: tapMessageId(tap),
      chatExternalId: chat ? chat.externalId : null,
      senderExternalId: tap.userId,
      text: tapCommand(tap),
      addressed: true,
      receivedAt: deps.pipeline.clock(),
    }));
  });
  const reply = result.replies[0];
  const ticket = await getTicket(db, tap.ticketId);
  if (!ticket) return;
  const assignee = ticket.assigneeId ? await getPerson(db, ticket.assigneeId) : null;
  // A reply about the ticket means it acted (refusals carry no ticketId): everyone sees it; a refusal only the tapper.
  const acted = reply?.ticketId !== undefined;
  const params = cardParamsFor(ticket.status, assignee?.name ?? null, acted && reply ? reply.text : "");
  if (!acted) delete params.result;
  try {
    await deps.api.updateCard(tap.outTrackId, params, reply ? { userId: tap.userId, params: { result: reply.text } } : undefined);
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message, ticketId: tap.ticketId }, "dingtalk: card update failed");
  }
}
