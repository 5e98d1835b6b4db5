/**
 * The one cleaning step every adapter applies when it builds an IncomingMessage (WeCom, DingTalk, the simulator):
 * every string a platform gave us — text, message id, chat id, user id, the quoted text, a place's name, a photo's
 * URL or download code — goes through cleanText, so a NUL or a lone surrogate can never make PostgreSQL refuse the
 * message (and the platform redeliver it for ever).
 */
import type { MediaSource } from "../db/schema/index.js";
import { cleanText } from "../lib/clean.js";
import type { IncomingMessage } from "./types.js";

function cleanSource(s: MediaSource): MediaSource {
  if (s.platform === "wecom") return { ...s, url: cleanText(s.url) };
  if (s.platform === "dingtalk") return { ...s, downloadCode: cleanText(s.downloadCode) };
  return s.fileName === undefined ? s : { ...s, fileName: cleanText(s.fileName) };
}

export function cleanIncoming(msg: IncomingMessage): IncomingMessage {
  const out: IncomingMessage = {
    ...msg,
    messageId: cleanText(msg.messageId),
    chatExternalId: msg.chatExternalId === null ? null : cleanText(msg.chatExternalId),
    senderExternalId: cleanText(msg.senderExternalId),
    text: cleanText(msg.text),
  };
  if (msg.chatTitle !== undefined) out.chatTitle = cleanText(msg.chatTitle);
  if (msg.quote?.text !== undefined) out.quote = { ...msg.quote, text: cleanText(msg.quote.text) };
  if (msg.location) out.location = { ...msg.location, name: cleanText(msg.location.name) };
  if (msg.attachments) out.attachments = msg.attachments.map((a) => ({ ...a, source: cleanSource(a.source) }));
  return out;
}
