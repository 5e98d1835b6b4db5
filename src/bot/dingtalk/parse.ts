/**
 * Translating DingTalk's inbound payloads into our shapes. Pure functions: no I/O, no SDK.
 * Robot text arrives with the robot's own @ already removed (usually leaving a leading space); other @names stay.
 */
import { escapeRegExp } from "../../lib/regexp.js";
import { cleanText } from "../../lib/clean.js";
import { cleanIncoming } from "../clean.js";
import type { IncomingMessage } from "../types.js";
import { decodeOutTrackId } from "./cards.js";
import type { CardCallback, RobotMessage, StreamFrame } from "./types.js";

/**
 * The robot message types DingTalk documents (消息发送与接收类型 · 机器人接收消息, robot-message-type; the SDKs'
 * ChatbotMessage models): text, richText, picture, audio, video, file. There is no location message. Anything else
 * is acked and dropped (src/bot/dingtalk/inbound.ts), never guessed at.
 */
export const ROBOT_MSGTYPES: readonly string[] = ["text", "richText", "picture", "audio", "video", "file"];

/** The readable text of a robot message: text, joined rich-text parts, or DingTalk's speech recognition of audio. */
export function robotText(m: RobotMessage, botNames: string[] = []): string {
  let text = "";
  if (m.msgtype === "text") text = m.text?.content ?? "";
  else if (m.msgtype === "richText") text = (m.content?.richText ?? []).map((p) => p.text ?? "").join("");
  else if (m.msgtype === "audio") text = m.content?.recognition ?? "";
  text = text.replace(/\s+/g, " ").trim();
  // The robot's name can remain (rich text, or an @ typed after the command); strip it at either end.
  for (const n of botNames) {
    const at = `[@＠]${escapeRegExp(n)}`;
    text = text.replace(new RegExp(`^${at}\\s*|\\s*${at}$`, "gu"), "").trim();
  }
  return text;
}

export function parseFrameData<T>(frame: StreamFrame): T | null {
  try {
    return JSON.parse(frame.data) as T;
  } catch {
    return null;
  }
}

const toMs = (v: number | string | undefined): number | null => {
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : null;
};

/** A robot message as an IncomingMessage; null when it lacks what we need (no msgId, no sender). */
export function robotToIncoming(m: RobotMessage, botNames: string[], now: Date): IncomingMessage | null {
  const sender = m.senderStaffId || m.senderId;
  if (!m.msgId || !sender) return null;
  const group = m.conversationType === "2";
  if (group && !m.conversationId) return null;
  const createdAt = toMs(m.createAt);
  return cleanIncoming({
    platform: "dingtalk",
    messageId: m.msgId,
    chatExternalId: group ? m.conversationId : null,
    ...(group && m.conversationTitle ? { chatTitle: m.conversationTitle } : {}),
    senderExternalId: sender,
    text: robotText(m, botNames),
    // Groups deliver only messages that @ the robot; a direct chat is always addressed to it.
    addressed: true,
    receivedAt: createdAt ? new Date(createdAt) : now,
    ...repliedTo(m),
    ...mediaOf(m),
  });
}

/** How long a message's download code is tried for (DingTalk gives no lifetime; each try asks for a fresh URL). */
export const DINGTALK_MEDIA_VALID_MS = 60 * 60_000;

/**
 * The photos of a message (`picture`, and the picture parts of `richText`), as download codes for the photo job, and
 * the voice mark (`audio`: the text is DingTalk's recognition). `downloadCode` first, `pictureDownloadCode` else.
 */
function mediaOf(m: RobotMessage): Pick<IncomingMessage, "attachments" | "voice"> {
  const c = m.content;
  const codes =
    m.msgtype === "picture"
      ? [c?.downloadCode || c?.pictureDownloadCode]
      : m.msgtype === "richText"
        ? (c?.richText ?? []).filter((p) => p.type === "picture").map((p) => p.downloadCode || p.pictureDownloadCode)
        : [];
  const attachments = codes
    .filter((code): code is string => typeof code === "string" && code !== "" && code.length <= 4096)
    .map((downloadCode) => ({ kind: "image" as const, source: { platform: "dingtalk" as const, downloadCode }, validMs: DINGTALK_MEDIA_VALID_MS }));
  return { ...(attachments.length ? { attachments } : {}), ...(m.msgtype === "audio" ? { voice: true } : {}) };
}

/** The text of the message this one replies to (quotes), for the command layer to find its ticket. */
function repliedTo(m: RobotMessage): Pick<IncomingMessage, "quote"> {
  const c = m.text?.repliedMsg?.content;
  const text =
    typeof c === "string"
      ? c
      : typeof c?.text === "string"
        ? c.text
        : (c?.richText ?? []).map((p) => p.text ?? (p.msgType === "text" ? (p.content ?? "") : "")).join("");
  return text.trim() ? { quote: { text: text.trim() } } : {};
}

/** When the session webhook of a message stops working (ms epoch), or null if it has none. */
export const sessionExpiry = (m: RobotMessage): number | null => (m.sessionWebhook ? toMs(m.sessionWebhookExpiredTime) : null);

export type CardAction = "claim" | "resolve";
export type CardTap = { outTrackId: string; ticketId: number; action: CardAction; userId: string; remark: string; spaceId: string | null };

/** A tap on one of our escalation cards' buttons; null for anything we did not send or cannot act on. */
export function parseCardTap(cb: CardCallback): CardTap | null {
  const ticketId = decodeOutTrackId(cb.outTrackId);
  if (!ticketId || !cb.userId) return null;
  let params: Record<string, unknown> = {};
  let actionIds: string[] = [];
  try {
    const content = JSON.parse(cb.content ?? "{}") as { cardPrivateData?: { actionIds?: string[]; params?: Record<string, unknown> } };
    params = content.cardPrivateData?.params ?? {};
    actionIds = content.cardPrivateData?.actionIds ?? [];
  } catch {
    return null;
  }
  const raw = String(params.action ?? actionIds[0] ?? "");
  const action: CardAction | null = /^claim/.test(raw) ? "claim" : /^resolve/.test(raw) ? "resolve" : null;
  if (!action) return null;
  // The tap's strings reach the database before they become an IncomingMessage: cleaned here the same way.
  const remark = typeof params.remark === "string" ? cleanText(params.remark).trim() : "";
  const spaceId = cb.spaceType === "IM_GROUP" && cb.spaceId ? cleanText(cb.spaceId) : null;
  return { outTrackId: cleanText(cb.outTrackId), ticketId, action, userId: cleanText(cb.userId), remark, spaceId };
}

/** The command a tap stands for: the same words a leader would type, so the rules stay in one place. */
export const tapCommand = (t: CardTap) => (t.action === "claim" ? `认领 #${t.ticketId}` : `办结 #${t.ticketId} ${t.remark}`.trim());

/** The dedupe key of a tap: the same person pressing the same button of the same card twice changes nothing. */
export const tapMessageId = (t: CardTap) => `card:${t.outTrackId}:${t.userId}:${t.action}`;
