/**
 * The one cleaning step every adapter applies when it builds an IncomingMessage (WeCom, DingTalk, the simulator):
 * every string a platform gave us — text, message id, chat id, user id — goes through cleanText, so a NUL or a lone
 * surrogate can never make PostgreSQL refuse the message (and the platform redeliver it for ever).
 */
import { cleanText } from "../lib/clean.js";
import type { IncomingMessage } from "./types.js";

export function cleanIncoming(msg: IncomingMessage): IncomingMessage {
  return {
    ...msg,
    messageId: cleanText(msg.messageId),
    chatExternalId: msg.chatExternalId === null ? null : cleanText(msg.chatExternalId),
    senderExternalId: cleanText(msg.senderExternalId),
    text: cleanText(msg.text),
    ...(msg.quote?.text !== undefined ? { quote: { ...msg.quote, text: cleanText(msg.quote.text) } } : {}),
    ...(msg.location ? { location: { ...msg.location, name: cleanText(msg.location.name) } } : {}),
  };
}
