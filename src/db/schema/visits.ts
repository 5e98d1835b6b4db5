/**
 * Visits (走访) and contacts (电联 / 微信联系) logged by leaders. The numbered choices waiting for a leader's pick
 * when a name matched several households are pending questions (questions.ts). The care plan itself lives on
 * households.careLevel.
 */
import { sql } from "drizzle-orm";
import { bigserial, index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { chats, households, people, units } from "./directory.js";
import { tickets } from "./tickets.js";

/** visit — a home visit (入户走访); contact — a phone call or WeChat message (常态化联系). */
export const visitKinds = ["visit", "contact"] as const;
export type VisitKind = (typeof visitKinds)[number];
export type VisitChannel = "home" | "phone" | "wechat" | "other";
/** matched — tied to a household; unmatched — nobody matched the typed name: kept for an admin to resolve. */
export type VisitStatus = "matched" | "unmatched";

export const visits = pgTable(
  "visits",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    /** Null while unmatched. */
    householdId: text().references(() => households.id),
    /** Who made the visit or contact. */
    leaderId: text()
      .notNull()
      .references(() => people.id),
    /** The household's 邻 when matched, else the leader's own unit (where an admin will look for it). */
    unitId: text()
      .notNull()
      .references(() => units.id),
    kind: text().$type<VisitKind>().notNull(),
    channel: text().$type<VisitChannel>().notNull(),
    /** What the leader wrote after the name; private (never echoed into a group). */
    note: text(),
    /** The name / house number / nickname the leader typed. */
    query: text().notNull(),
    status: text().$type<VisitStatus>().notNull(),
    /** A request found on the visit (诉求：…) opened this ticket on behalf of the household. */
    ticketId: integer().references(() => tickets.id),
    /** Where it was logged (null for a direct message). */
    chatId: text().references(() => chats.id),
    /** When the visit or contact happened (the time it was logged). */
    at: timestamp({ withTimezone: true }).notNull(),
    /** Set when an admin matched an unmatched visit to a household. */
    resolvedById: text().references(() => people.id),
    resolvedAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Due lists, coverage and reminders: the latest visit / contact of each household.
    index().on(t.householdId, t.kind, t.at),
    // Per-unit activity (digests, the dashboard) and a leader's own log.
    index().on(t.unitId, t.at),
    index().on(t.leaderId, t.at),
    // The admin's queue of visits to resolve.
    index("visits_unmatched_idx").on(t.unitId, t.at).where(sql`status = 'unmatched'`),
  ],
);

/**
 * Each household's latest matched home visit and latest matched visit or contact, kept by triggers on visits (every
 * insert, update and delete, whichever code path makes it; migration 0019), so coverage of a county's households
 * reads one row per household instead of aggregating a year of visits (src/workflows/visits/coverage.ts). A table of
 * its own, not columns of households: a write to households bumps the directory version (every directory cache) and
 * changes the rows a workbook upload's preview fingerprints. A function of the visits table: rebuilt from it by the
 * migration and by the benchmarks' bulk seed.
 */
export const householdVisitMarks = pgTable("household_visit_marks", {
  householdId: text()
    .primaryKey()
    .references(() => households.id, { onDelete: "cascade" }),
  lastVisitAt: timestamp({ withTimezone: true }),
  lastTouchAt: timestamp({ withTimezone: true }),
});
