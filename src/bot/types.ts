/** The one internal message shape every platform adapter translates to and from. */
import type { Platform } from "../db/schema/index.js";
import type { Attachment } from "../workflows/media/attach.js";
import type { Place } from "../workflows/media/place.js";

export type IncomingMessage = {
  platform: Platform;
  /** The platform's message id: the deduplication key. */
  messageId: string;
  /** The platform's chat id; null for a direct (one-to-one) message. */
  chatExternalId: string | null;
  /** The group's name, where the platform sends it (DingTalk's conversationTitle): shown for a group waiting to be bound. */
  chatTitle?: string;
  senderExternalId: string;
  text: string;
  /** The platform says the bot was @-mentioned (WeCom and DingTalk deliver group messages only then). */
  addressed?: boolean;
  receivedAt: Date;
  /** The earlier message this one quotes (WeCom `quote`, DingTalk `text.repliedMsg`), as far as we read it. */
  quote?: QuotedMessage;
  /** Photos sent with the message (WeCom mixed/image, DingTalk picture/richText, the simulator's attachments). */
  attachments?: Attachment[];
  /** The text is the platform's transcription of a voice message. */
  voice?: boolean;
  /** A location the sender shared. */
  location?: Place;
};

/**
 * A quoted message. Only its text for now: the command layer reads a ticket number from it (or finds the
 * report it was), so `认领` typed under the bot's ping acts on that ticket. Platforms may add more (media) later.
 */
export type QuotedMessage = { text?: string };

export type Reply = {
  text: string;
  /** Person ids to @-mention. */
  mentions: string[];
  /** The ticket this reply is about, when the sender can act on it (platforms may add buttons). */
  ticketId?: number;
  actions?: ("claim" | "resolve" | "status")[];
  /** The 通知 this reply says was sent (photos in the same message go with it). */
  circularId?: number;
};

export type HandleResult = { replies: Reply[]; duplicate: boolean };
