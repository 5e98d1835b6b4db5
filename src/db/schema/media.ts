/** Photos attached to tickets: the cleaned images (one row per content, shared by every ticket that has it) and the links. */
import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { bytes } from "./bytes.js";
import { circulars } from "./circulars.js";
import { tickets } from "./tickets.js";

/**
 * An image as kept: re-encoded without EXIF or any other metadata (GPS above all), and a small thumbnail. Keyed by
 * the sha256 of the bytes as they arrived, so the same photo sent twice (or to two tickets) is stored once.
 */
export const media = pgTable("media", {
  sha256: text().primaryKey(),
  mime: text().notNull(),
  width: integer().notNull(),
  height: integer().notNull(),
  size: integer().notNull(),
  data: bytes().notNull(),
  thumb: bytes().notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

/** Where a photo came from, enough to fetch it later (a WeCom URL lives 5 minutes; a DingTalk code is exchanged for one). */
export type MediaSource =
  | { platform: "wecom"; url: string }
  | { platform: "dingtalk"; downloadCode: string }
  | { platform: "sim"; fileName?: string };

export type MediaRole = "report" | "result";
/**
 * pending — to be fetched and cleaned (the durable job: the reconciler re-queues pending rows)
 * stored  — `sha256` names the image
 * failed  — never could be kept; `error` says why (the ticket's 台账 says so too)
 * dropped — a held photo (no ticket yet: the sender was asked whether to report with it) the sender declined or
 *           left unanswered; its image is deleted unless another ticket has it
 */
export type MediaStatus = "pending" | "stored" | "failed" | "dropped";

export const ticketMedia = pgTable(
  "ticket_media",
  {
    /** Shown in /dashboard/media/<id>. */
    id: bigserial({ mode: "number" }).primaryKey(),
    ticketId: integer().references(() => tickets.id),
    /** A photo sent with a 通知 (never held, never a ticket's): posted to the notice's groups once it is kept. */
    circularId: integer().references(() => circulars.id),
    role: text().$type<MediaRole>().notNull().default("report"),
    status: text().$type<MediaStatus>().notNull().default("pending"),
    source: jsonb().$type<MediaSource>().notNull(),
    /** The simulator's bytes until the job has cleaned them (then cleared). */
    inline: bytes(),
    sha256: text().references(() => media.sha256),
    /** Who sent it where (chats.id, the platform user id): a photo that cannot be kept is reported to that chat. */
    chatId: text(),
    senderExternalId: text().notNull(),
    /** The download link stops working then: no attempt after it. */
    notAfter: timestamp({ withTimezone: true }).notNull(),
    attempts: integer().notNull().default(0),
    error: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index().on(t.ticketId),
    index().on(t.circularId),
    // An image is deleted when no row uses it any more: that check looks rows up by their image.
    index().on(t.sha256),
    index("ticket_media_pending_idx").on(t.notAfter).where(sql`status = 'pending'`),
    // Held photos (no ticket yet: a pending question names them), swept when left unanswered.
    index("ticket_media_held_idx").on(t.chatId, t.senderExternalId, t.createdAt).where(sql`ticket_id is null`),
  ],
);
