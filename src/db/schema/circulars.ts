/**
 * 政策传达: a notice (通知) an official sends down to every group of their subtree, who is to pass it on (the 邻长,
 * or a vacant 邻's 组长, as of the moment it was sent), their confirmations (已传达) and the one reminder each gets,
 * and the notice's 台账.
 */
import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, primaryKey, serial, text, timestamp } from "drizzle-orm/pg-core";
import { chats, people, units } from "./directory.js";

export const circulars = pgTable(
  "circulars",
  {
    /** Shown to people as 通知 #3. */
    id: serial().primaryKey(),
    senderId: text()
      .notNull()
      .references(() => people.id),
    /** The subtree it went to: the sender's own unit. */
    unitId: text()
      .notNull()
      .references(() => units.id),
    /** Where it was sent from (null: a private chat with the bot). */
    chatId: text().references(() => chats.id),
    title: text().notNull(),
    body: text().notNull().default(""),
    /** How many groups it went to, and how many photos came with it (as sent). */
    groups: integer().notNull().default(0),
    photos: integer().notNull().default(0),
    /** Who has not confirmed by then is reminded privately, once (3 days after it was sent). */
    remindAt: timestamp({ withTimezone: true }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.unitId, t.createdAt), index().on(t.remindAt)],
);

/** One row per person who is to pass a notice on to their households. */
export const circularRecipients = pgTable(
  "circular_recipients",
  {
    circularId: integer()
      .notNull()
      .references(() => circulars.id),
    personId: text()
      .notNull()
      .references(() => people.id),
    /** The person's unit when the notice went out: the 传达率 of a unit counts the people placed in its subtree. */
    unitId: text()
      .notNull()
      .references(() => units.id),
    confirmedAt: timestamp({ withTimezone: true }),
    remindedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.circularId, t.personId] }),
    index().on(t.personId),
    // The reminder task: who still waits (neither confirmed nor reminded), notice by notice.
    index("circular_recipients_waiting_idx").on(t.circularId).where(sql`confirmed_at is null and reminded_at is null`),
  ],
);

/**
 * photo: a photo sent with it was kept and posted to its groups (data: mediaId); photo_failed: one could not be;
 * handed_over: a recipient's leader role was handed over and the successor is to pass it on (data: personId, from).
 */
export const circularEventKinds = ["sent", "confirmed", "reminded", "photo", "photo_failed", "handed_over"] as const;
export type CircularEventKind = (typeof circularEventKinds)[number];

/** The 台账 of a notice: sent, each confirmation, each reminder, its photos. */
export const circularEvents = pgTable(
  "circular_events",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    circularId: integer()
      .notNull()
      .references(() => circulars.id),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** null when the bot itself acted (a reminder). */
    actorId: text().references(() => people.id),
    kind: text().$type<CircularEventKind>().notNull(),
    data: jsonb().$type<Record<string, unknown>>(),
  },
  (t) => [index().on(t.circularId, t.at)],
);
