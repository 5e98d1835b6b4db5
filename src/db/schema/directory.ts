/** The directory: who is who and where. Ids are stable codes from the directory file, so re-import updates in place. */
import { sql } from "drizzle-orm";
import { type AnyPgColumn, bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

export const unitKinds = ["town", "village", "area", "group", "neighborhood"] as const;
export type UnitKind = (typeof unitKinds)[number];

export const roles = [
  "resident",
  "neighbor_leader",
  "group_leader",
  "area_leader",
  "village_official",
  "town_official",
  "admin",
] as const;
export type Role = (typeof roles)[number];

export const platforms = ["sim", "wecom", "dingtalk"] as const;
export const identityKinds = ["userid", "open_userid", "external_userid"] as const;
export type IdentityKind = (typeof identityKinds)[number];
export type Platform = (typeof platforms)[number];

const timestamps = {
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
};

export const units = pgTable(
  "units",
  {
    id: text().primaryKey(),
    parentId: text().references((): AnyPgColumn => units.id),
    kind: text().$type<UnitKind>().notNull(),
    name: text().notNull(),
    /** Town-level policy (clocks, ladder, quiet hours); see src/workflows/policy.ts. */
    settings: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    ...timestamps,
  },
  (t) => [index().on(t.parentId)],
);

export const households = pgTable(
  "households",
  {
    id: text().primaryKey(),
    unitId: text()
      .notNull()
      .references(() => units.id),
    headName: text().notNull(),
    members: jsonb().$type<string[]>().notNull().default([]),
    tags: text()
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** "special" households get monthly visits or weekly contact; "normal" quarterly visits. */
    careLevel: text().$type<"special" | "normal">().notNull().default("normal"),
    houseNo: text(),
    nickname: text(),
    /** Private: never shown in group chats or logs. */
    address: text(),
    phone: text(),
    ...timestamps,
  },
  (t) => [index().on(t.unitId)],
);

export const people = pgTable(
  "people",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    role: text().$type<Role>().notNull(),
    unitId: text()
      .notNull()
      .references(() => units.id),
    householdId: text().references(() => households.id),
    /** Private: used only for platform mentions by phone, never shown in chats or logs. */
    phone: text(),
    /** Dashboard login links carry this number; an admin bumps it to revoke every link (and session) given out. */
    linkVersion: integer().notNull().default(0),
    /**
     * False once deactivated on the dashboard (停用): the row stays, so tickets, events and visits keep naming them,
     * but every look-up of who someone is or who leads a unit passes them over (src/workflows/directory.ts `isActive`).
     * An import never changes it, as with a chat's status.
     */
    active: boolean().notNull().default(true),
    ...timestamps,
  },
  (t) => [index().on(t.unitId, t.role)],
);

export const identities = pgTable(
  "identities",
  {
    platform: text().$type<Platform>().notNull(),
    /** WeCom userid (lower-cased), DingTalk staff id, or the simulator's person id. */
    externalId: text().notNull(),
    /**
     * What kind of WeCom id this is: a member's plaintext `userid` (application messages and @mentions need it), the
     * encrypted `open_userid` the 智能机器人 may report (doc 101521), or a WeChat user's `external_userid`. Every
     * other platform has one kind, `userid`.
     */
    kind: text().$type<IdentityKind>().notNull().default("userid"),
    personId: text()
      .notNull()
      .references(() => people.id),
  },
  (t) => [primaryKey({ columns: [t.platform, t.externalId] }), index().on(t.personId)],
);

export const chats = pgTable(
  "chats",
  {
    id: text().primaryKey(),
    platform: text().$type<Platform>().notNull(),
    externalId: text().notNull(),
    unitId: text()
      .notNull()
      .references(() => units.id),
    name: text().notNull(),
    /** Secret send address (WeCom 消息推送 webhook); never logged or echoed. */
    webhookUrl: text(),
    /** Platform extras needed to post here later (e.g. DingTalk openConversationId). */
    meta: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    status: text().$type<"active" | "dead">().notNull().default("active"),
    ...timestamps,
  },
  (t) => [uniqueIndex().on(t.platform, t.externalId), index().on(t.unitId)],
);

/**
 * One row whose version moves whenever any directory table changes (statement triggers, migration 0003): each
 * process caches senders and unit ladders and checks this one number before using them, so an import, a chat
 * binding or a hand edit in psql takes effect on the next message, in every replica.
 */
export const directoryVersion = pgTable("directory_version", {
  id: integer().primaryKey().default(1),
  version: bigint({ mode: "number" }).notNull().default(0),
});
