/** Tickets (工单) and their audit trail (台账). */
import { sql } from "drizzle-orm";
import { bigserial, boolean, index, integer, jsonb, pgTable, serial, text, timestamp } from "drizzle-orm/pg-core";
import type { UnitKind } from "./directory.js";
import { chats, households, people, units } from "./directory.js";
import { meetings } from "./meetings.js";

/** report — a 报事 (or 代报); decision — a 议定事项 a 恳谈会 / 分析会 decided, with its own resolution deadline. */
export type TicketKind = "report" | "decision";

/**
 * open      — waiting for a first answer at the current level (answer clock running)
 * answered  — claimed or replied to (resolution clock running)
 * resolved  — the handler gave a result; waiting for the reporter's rating
 * closed    — the reporter was satisfied (or it was closed administratively)
 */
export const ticketStatuses = ["open", "answered", "resolved", "closed"] as const;
export type TicketStatus = (typeof ticketStatuses)[number];
export type Urgency = "normal" | "urgent";

export const tickets = pgTable(
  "tickets",
  {
    /** Shown to people as #12. */
    id: serial().primaryKey(),
    reporterId: text().references(() => people.id),
    /** Platform user id of a reporter who is not in the directory. */
    reporterExternalId: text(),
    /** 诉求户: the household the request is for (the reporter's own, or the one a leader reports for). */
    householdId: text().references(() => households.id),
    /**
     * 代报: a leader (the reporter, 经办人) relayed the household's request. Its residents then see it in 待办, hear
     * its progress and rate it; the leader does only when nobody of the household is in the directory.
     */
    onBehalf: boolean().notNull().default(false),
    /** 诉求人: who in the household asked, as the leader named them (a head's or member's name); null if unnamed. */
    requesterName: text(),
    chatId: text().references(() => chats.id),
    /** Where the matter arose (the reporter's 邻 where known, else the chat's unit). */
    unitId: text()
      .notNull()
      .references(() => units.id),
    /** The unit currently responsible on the ladder. */
    holderUnitId: text()
      .notNull()
      .references(() => units.id),
    level: text().$type<UnitKind>().notNull(),
    category: text().notNull(),
    urgency: text().$type<Urgency>().notNull().default("normal"),
    text: text().notNull(),
    kind: text().$type<TicketKind>().notNull().default("report"),
    /** The meeting that decided it (kind decision). */
    meetingId: integer().references(() => meetings.id),
    /** A deadline fixed when it was opened (议定 … 12月31日前): the resolution clock runs to it, not the policy's. */
    resolveBy: timestamp({ withTimezone: true }),
    status: text().$type<TicketStatus>().notNull().default("open"),
    assigneeId: text().references(() => people.id),
    answerDueAt: timestamp({ withTimezone: true }),
    /**
     * The answer clock it was given when opened (also on its opened event): figures judge it by this, not by today's
     * policy. Null for tickets opened before the clock was recorded (today's clock applies).
     */
    givenAnswerDueAt: timestamp({ withTimezone: true }),
    resolveDueAt: timestamp({ withTimezone: true }),
    answeredAt: timestamp({ withTimezone: true }),
    firstAnsweredAt: timestamp({ withTimezone: true }),
    resolvedAt: timestamp({ withTimezone: true }),
    closedAt: timestamp({ withTimezone: true }),
    rating: text().$type<"satisfied" | "unsatisfied">(),
    reopenCount: integer().notNull().default(0),
    /** Times it went one level up (timed or 上报); the export's 上报次数. */
    escalationCount: integer().notNull().default(0),
    /** Reminders at the top of the ladder since it got there (the first is 第 1 次提醒). */
    reminderCount: integer().notNull().default(0),
    /** Bumped on every change: the compare-and-set token for timers and concurrent commands. */
    version: integer().notNull().default(0),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index().on(t.status, t.answerDueAt),
    index().on(t.status, t.resolveDueAt),
    index().on(t.holderUnitId, t.status),
    index().on(t.unitId, t.createdAt),
    // Digests: overdue and unconfirmed tickets per unit.
    index().on(t.unitId, t.status),
    index().on(t.chatId, t.createdAt),
    index().on(t.reporterId),
    index().on(t.assigneeId, t.status),
    // 待办 of a household's residents: the 代报 tickets of their household.
    index().on(t.householdId, t.status),
    // The open tickets alone (the dashboard's overdue and unanswered lists, per unit): every column those lists rank
    // and count by, so a town's open tickets are read from the index without the rows or the closed history.
    index("tickets_open_idx").on(t.unitId, t.createdAt, t.firstAnsweredAt, t.status, t.id).where(sql`status in ('open', 'answered')`),
    // Tickets by when they were opened, with what the dashboard's charts and per-unit table count them by: a window
    // of a county's tickets is read from the index alone (the admin's overview read every ticket).
    index("tickets_created_idx").on(t.createdAt, t.unitId, t.status, t.level, t.firstAnsweredAt, t.givenAnswerDueAt),
  ],
);

export const ticketEventKinds = [
  "opened",
  "claimed",
  "replied",
  "resolved",
  "rated",
  "reopened",
  "escalated",
  "repinged",
  /** A photo was kept (data: mediaId, role); "photo_failed": one could not be (text: why). */
  "photo",
  "photo_failed",
  /** The place of the matter (data: latitude, longitude, name). */
  "located",
  /** A 邻长 handover moved it to the new 邻长 (data: from, to — person ids; actor: who made the handover). */
  "handed_over",
] as const;
export type TicketEventKind = (typeof ticketEventKinds)[number];

export const ticketEvents = pgTable(
  "ticket_events",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    ticketId: integer()
      .notNull()
      .references(() => tickets.id),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** null when the bot itself acted (timed escalation). */
    actorId: text().references(() => people.id),
    kind: text().$type<TicketEventKind>().notNull(),
    fromStatus: text().$type<TicketStatus>(),
    toStatus: text().$type<TicketStatus>(),
    level: text().$type<UnitKind>(),
    text: text(),
    data: jsonb().$type<Record<string, unknown>>(),
  },
  (t) => [index().on(t.ticketId, t.at), index().on(t.kind, t.at)],
);
