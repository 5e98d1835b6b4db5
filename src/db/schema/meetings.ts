/**
 * 民情恳谈会 (a 组's monthly meeting) and 民情分析会 (the village's, on the Friday 群众工作日 and the 28th): the meeting,
 * its 台账 (every change is an event), and the 好邻 list each village gets from the monthly scorecards.
 */
import { bigserial, index, integer, jsonb, pgTable, primaryKey, serial, text, timestamp } from "drizzle-orm/pg-core";
import { chats, people, units } from "./directory.js";

/** talk — 民情恳谈会 of a 组; analysis — 民情分析会 of a village. */
export const meetingKinds = ["talk", "analysis"] as const;
export type MeetingKind = (typeof meetingKinds)[number];
/** scheduled — announced, not yet recorded; held — minutes or decisions recorded; cancelled — called off. */
export type MeetingStatus = "scheduled" | "held" | "cancelled";

/** What the notice put on the agenda (a snapshot: the dashboard shows what the meeting was given). */
export type AgendaSnapshot = {
  from: string;
  to: string;
  created: number;
  resolved: number;
  open: { id: number; category: string; overdue: boolean }[];
  openTotal: number;
  overdueTotal: number;
  repeated: { unitId: string; name: string; category: string; count: number }[];
};

export const meetings = pgTable(
  "meetings",
  {
    id: serial().primaryKey(),
    kind: text().$type<MeetingKind>().notNull(),
    /** The 组 (恳谈会) or village (分析会) it is held for: its agenda is this unit's subtree. */
    unitId: text()
      .notNull()
      .references(() => units.id),
    /** The group chat it was announced in (notices and the reminder go there). */
    chatId: text().references(() => chats.id),
    startsAt: timestamp({ withTimezone: true }).notNull(),
    /** As the organiser typed it; masked in every group message. */
    place: text().notNull(),
    status: text().$type<MeetingStatus>().notNull().default("scheduled"),
    organizerId: text().references(() => people.id),
    /** 纪要: every 纪要 message, in order, one paragraph each. */
    minutes: text(),
    agenda: jsonb().$type<AgendaSnapshot>(),
    /** The outbox dedupe key of the pending day-before reminder (cancelled on 改期 / 取消). */
    reminderKey: text(),
    /** Bumped on every change (compare-and-set, and part of the notices' dedupe keys). */
    version: integer().notNull().default(0),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.unitId, t.startsAt), index().on(t.kind, t.startsAt)],
);

export const meetingEventKinds = ["scheduled", "rescheduled", "cancelled", "minutes", "decided"] as const;
export type MeetingEventKind = (typeof meetingEventKinds)[number];

/** The meeting's 台账. A decision's event names its ticket (data.ticketId) when it became one. */
export const meetingEvents = pgTable(
  "meeting_events",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    meetingId: integer()
      .notNull()
      .references(() => meetings.id),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    actorId: text().references(() => people.id),
    kind: text().$type<MeetingEventKind>().notNull(),
    text: text(),
    data: jsonb().$type<Record<string, unknown>>(),
  },
  (t) => [index().on(t.meetingId, t.at)],
);

/** One 邻长 on a village's 好邻 list: their scorecard figures as the monthly report had them. */
export type GoodNeighborEntry = {
  personId: string;
  name: string;
  unitName: string;
  score: number;
  tickets: number;
  answeredInTime: number;
  answerDecided: number;
  satisfied: number;
  rated: number;
  visited: number | null;
  visitsDue: number | null;
};

/**
 * A village's 好邻 list of a month (the report month, "2026-03"), made once on the report day from the monthly
 * scorecards; `entries` may be empty (nobody scored high enough). The dashboard's history reads these rows.
 */
export const goodNeighborLists = pgTable(
  "good_neighbor_lists",
  {
    month: text().notNull(),
    villageId: text()
      .notNull()
      .references(() => units.id),
    entries: jsonb().$type<GoodNeighborEntry[]>().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.month, t.villageId] })],
);
