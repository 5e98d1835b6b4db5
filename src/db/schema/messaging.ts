/** Messages in and out: inbound dedupe, the outbox, per-destination send pacing, and the simulator's chat log. */
import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import type { Platform } from "./directory.js";

export type StoredReply = { text: string; mentions: string[] };

export const inboundMessages = pgTable(
  "inbound_messages",
  {
    platform: text().$type<Platform>().notNull(),
    messageId: text().notNull(),
    chatId: text(),
    senderExternalId: text(),
    textLength: integer().notNull().default(0),
    /** The replies given the first time, so a redelivery gets the same answer. */
    replies: jsonb().$type<StoredReply[]>().notNull().default([]),
    receivedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.messageId] }), index().on(t.receivedAt)],
);

export type OutboxTarget = { chatId: string } | { personId: string };
export type OutboxPayload = {
  text: string;
  /** Person ids to @-mention. */
  mentions: string[];
  format?: "text" | "markdown";
  ticketId?: number;
  /** Interactive actions the platform may render as buttons (认领 / 办结). */
  actions?: ("claim" | "resolve" | "status")[];
  /**
   * An image to post instead of the text (the 好邻 poster): a `media` row. The text is its caption where a platform
   * shows one (the simulator); WeCom and DingTalk groups get the picture alone.
   */
  image?: { sha256: string };
};

export const outbox = pgTable(
  "outbox",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    /** What caused this message, e.g. "esc-12-group-1"; a retried cause never queues it twice. */
    dedupeKey: text().notNull().unique(),
    chatId: text(),
    personId: text(),
    kind: text().$type<"ping" | "notice" | "reminder" | "digest" | "report">().notNull(),
    payload: jsonb().$type<OutboxPayload>().notNull(),
    /**
     * "skipped": the destination has no channel on the configured platforms (e.g. a direct message on WeCom).
     * "cancelled": its cause went away before it was due (a meeting's reminder after 改期 / 取消).
     */
    status: text().$type<"pending" | "sending" | "sent" | "failed" | "skipped" | "cancelled">().notNull().default("pending"),
    attempts: integer().notNull().default(0),
    /** Of a message the platform takes in parts (a long WeCom digest), how many have gone: a retry sends the rest. */
    partsSent: integer().notNull().default(0),
    /** While "sending": another worker may take the row over only after this. */
    leaseUntil: timestamp({ withTimezone: true }),
    /** Which platform delivered it (set when sent). */
    platform: text(),
    /** Quiet hours: not delivered before this time. */
    notBefore: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastError: text(),
    /**
     * A private message no platform could push (WeCom without a 自建应用) waits as "skipped" until the person opens the
     * bot's single chat; then the passive reply carries it and this is that callback's msgid (a redelivery repeats it).
     */
    pulledBy: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** When the send that delivered it began (for a paced destination: the send slot it took). */
    sentAt: timestamp({ withTimezone: true }),
  },
  (t) => [index("outbox_pending_idx").on(t.notBefore).where(sql`status in ('pending', 'sending')`)],
);

/** One row per destination: the earliest time the next message may go (platform rate limits). */
export const sendSlots = pgTable("send_slots", {
  destination: text().primaryKey(),
  nextAt: timestamp({ withTimezone: true }).notNull(),
});

/** The simulator's chat log: what a group (or a person's private chat, "dm-<personId>") would show. */
export const simMessages = pgTable(
  "sim_messages",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    chatId: text().notNull(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    fromId: text().notNull(),
    text: text().notNull(),
    mentions: text()
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
  },
  (t) => [index().on(t.chatId, t.id)],
);

/**
 * Messages the pipeline could not handle for a reason retrying cannot fix (PostgreSQL refused their data): each is
 * answered once with an apology instead of failing (and being redelivered) for ever. No text is kept, only the ids
 * as received — escaped as in JSON, so a NUL or a lone surrogate in them is stored as `\u0000` / `\ud800`.
 */
export const deadLetters = pgTable(
  "dead_letters",
  {
    platform: text().$type<Platform>().notNull(),
    messageId: text().notNull(),
    chatExternalId: text(),
    senderExternalId: text(),
    textLength: integer().notNull().default(0),
    /** The error's name and SQLSTATE, e.g. "PostgresError 22P05". */
    error: text().notNull(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.messageId] }), index().on(t.at)],
);
