/**
 * Keeping the directory from the dashboard: groups waiting to be bound, workbook uploads waiting for 确认导入, and the
 * history of every change made there (who, what, when).
 */
import { bigserial, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { bytes } from "./bytes.js";
import { people, type Platform } from "./directory.js";

/**
 * 待绑定: a group that spoke to the bot before it was registered. One row per platform group; the first sender and
 * time are kept as first seen, the count and last time move with every message. Deleted when the group is bound.
 */
export const pendingChats = pgTable(
  "pending_chats",
  {
    platform: text().$type<Platform>().notNull(),
    externalId: text().notNull(),
    /** The group's name where the platform tells it (DingTalk's conversationTitle); a default for the binding. */
    title: text(),
    /** The platform user id of whoever @-mentioned the bot first. */
    firstSenderExternalId: text().notNull(),
    firstSeenAt: timestamp({ withTimezone: true }).notNull(),
    lastSeenAt: timestamp({ withTimezone: true }).notNull(),
    messages: integer().notNull().default(1),
  },
  (t) => [primaryKey({ columns: [t.platform, t.externalId] }), index().on(t.lastSeenAt)],
);

export const directoryChangeKinds = ["import", "handover", "deactivate", "reactivate", "bind_chat"] as const;
export type DirectoryChangeKind = (typeof directoryChangeKinds)[number];

/** One change made on the dashboard: an import, a handover, a person (de)activated, a group bound. */
export const directoryChanges = pgTable(
  "directory_changes",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    at: timestamp({ withTimezone: true }).notNull(),
    /** The person who made it; null for the admin token. */
    actorId: text().references(() => people.id),
    /** Their name as it was then ("管理员" for the token). */
    actorName: text().notNull(),
    kind: text().$type<DirectoryChangeKind>().notNull(),
    /** The unit it concerns (a village official sees the changes in their village); null for a whole-directory import. */
    unitId: text(),
    /** What it was, in a sentence, e.g. "一邻 邻长交接：王邻长 → 李一（2 件工单转交）". */
    summary: text().notNull(),
    /** Ids and counts for whoever needs the detail (the tickets moved, the import's summary). */
    data: jsonb().$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index().on(t.at), index().on(t.unitId, t.at)],
);

/**
 * A workbook uploaded on the dashboard and previewed, waiting for 确认导入. The bytes are kept (the confirmation is a
 * second request, maybe on another replica) with the fingerprint of the rows the preview was computed against: the
 * confirmation writes only if those rows are still as they were, else it previews again.
 */
export const directoryUploads = pgTable(
  "directory_uploads",
  {
    /** Random, so an upload cannot be guessed from another's. */
    id: text().primaryKey(),
    actorId: text().references(() => people.id),
    actorName: text().notNull(),
    fileName: text().notNull(),
    data: bytes().notNull(),
    /** Of the directory rows the workbook touches, as they were when previewed (see src/workflows/directory-upload.ts). */
    fingerprint: text().notNull(),
    /** What the preview showed (counts and the records that change). */
    preview: jsonb().$type<Record<string, unknown>>().notNull(),
    status: text().$type<"previewed" | "imported">().notNull().default("previewed"),
    createdAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [index().on(t.createdAt)],
);
