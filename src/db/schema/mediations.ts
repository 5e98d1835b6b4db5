/**
 * 矛盾调解: mediation cases and their 台账. Private by nature: the 事由, the parties and every result stay here, on the
 * dashboard (for the responsible leaders and above) and in private messages; a group only ever hears that a case was
 * recorded, and the monthly report only counts them.
 */
import { bigserial, index, integer, jsonb, pgTable, serial, text, timestamp } from "drizzle-orm/pg-core";
import { chats, people, type UnitKind, units } from "./directory.js";

/**
 * mediating — being mediated at its current level (`holderUnitId`)
 * settled   — 已调解: an agreement was reached
 * failed    — 调解不成 at the top of the ladder (every lower level failed first and handed it up)
 */
export const mediationStatuses = ["mediating", "settled", "failed"] as const;
export type MediationStatus = (typeof mediationStatuses)[number];

export const mediations = pgTable(
  "mediations",
  {
    /** Shown to the leaders as 调解 #5. */
    id: serial().primaryKey(),
    openerId: text()
      .notNull()
      .references(() => people.id),
    /** Where the dispute arose: the opener's unit, or the group's when that is narrower. */
    unitId: text()
      .notNull()
      .references(() => units.id),
    /** The unit now mediating it, and its level on the ladder. */
    holderUnitId: text()
      .notNull()
      .references(() => units.id),
    level: text().$type<UnitKind>().notNull(),
    /** Where it was opened (null: a private chat); never told anything but "已记录一件调解". */
    chatId: text().references(() => chats.id),
    /** 事由: private. */
    summary: text().notNull(),
    status: text().$type<MediationStatus>().notNull().default("mediating"),
    /** The outcome's words (the agreement, or why it failed at the top): private. */
    result: text(),
    /** Times it went one level up (调解不成 below the top). */
    escalationCount: integer().notNull().default(0),
    /** Compare-and-set token, as on tickets. */
    version: integer().notNull().default(0),
    closedAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.holderUnitId, t.status), index().on(t.unitId, t.createdAt), index().on(t.openerId)],
);

/** `reminded`: the case lay at its level for days (reminders.ts); data.version is the stay it was for. */
export const mediationEventKinds = ["opened", "settled", "escalated", "failed", "reminded"] as const;
export type MediationEventKind = (typeof mediationEventKinds)[number];

export const mediationEvents = pgTable(
  "mediation_events",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    mediationId: integer()
      .notNull()
      .references(() => mediations.id),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    actorId: text().references(() => people.id),
    kind: text().$type<MediationEventKind>().notNull(),
    fromStatus: text().$type<MediationStatus>(),
    toStatus: text().$type<MediationStatus>(),
    /** The level it was at when this happened (for 上报: the level it left). */
    level: text().$type<UnitKind>(),
    /** Private words: the 事由, the result, the reason it failed. */
    text: text(),
    data: jsonb().$type<Record<string, unknown>>(),
  },
  (t) => [index().on(t.mediationId, t.at), index().on(t.kind, t.at)],
);
