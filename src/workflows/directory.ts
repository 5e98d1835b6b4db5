/** Directory look-ups used by every workflow: people, chats, the unit tree and who leads what. */
import { and, eq, type SQL } from "drizzle-orm";
import { type Db, queryRows, sql } from "../db/client.js";
import { pathUpCte, withRecursive } from "../db/unit-tree.js";
import {
  chats,
  households,
  identities,
  type Platform,
  people,
  type UnitKind,
  type units,
} from "../db/schema/index.js";
import { LEADER_ROLE } from "./roles.js";

export type Person = typeof people.$inferSelect;
export type Chat = typeof chats.$inferSelect;
export type Unit = typeof units.$inferSelect;
export type Household = typeof households.$inferSelect;
/** What the ladder needs of a leader (no contact details). */
export type Leader = Pick<Person, "id" | "name" | "role" | "unitId" | "householdId">;

/**
 * "This person is in service": a deactivated person (停用) keeps their row for the history that names them, but is
 * nobody's sender, leader, caretaker or recipient any more. Every look-up of people by role, unit or account says so.
 */
export const isActive = eq(people.active, true);

/** The person behind a platform user id, or null for someone not in the directory (or deactivated). */
export async function findPerson(db: Db, platform: Platform, externalId: string): Promise<Person | null> {
  if (platform === "sim") {
    const [p] = await db.select().from(people).where(and(eq(people.id, externalId), isActive)).limit(1);
    return p ?? null;
  }
  const id = platform === "wecom" ? externalId.toLowerCase() : externalId;
  const [row] = await db
    .select({ person: people })
    .from(identities)
    .innerJoin(people, eq(people.id, identities.personId))
    .where(and(eq(identities.platform, platform), eq(identities.externalId, id), isActive))
    .limit(1);
  return row?.person ?? null;
}

export type Sender = { chat: Chat; person: Person | null; household: Household | null };

/**
 * A group message's chat, sender and the sender's household in one round trip (the message path runs this for
 * every message). Null when the chat is not registered.
 */
export async function findSender(db: Db, platform: Platform, chatExternalId: string, senderExternalId: string): Promise<Sender | null> {
  const personMatch =
    platform === "sim"
      ? eq(people.id, senderExternalId)
      : eq(people.id, identities.personId);
  const externalId = platform === "wecom" ? senderExternalId.toLowerCase() : senderExternalId;
  const [row] = await db
    .select({ chat: chats, person: people, household: households })
    .from(chats)
    .leftJoin(identities, and(eq(identities.platform, platform), eq(identities.externalId, externalId)))
    .leftJoin(people, and(personMatch, isActive))
    .leftJoin(households, eq(households.id, people.householdId))
    .where(and(eq(chats.platform, platform), eq(chats.externalId, chatExternalId)))
    .limit(1);
  return row ? { chat: row.chat, person: row.person, household: row.household } : null;
}

export async function findChat(db: Db, platform: Platform, externalId: string): Promise<Chat | null> {
  const [c] = await db
    .select()
    .from(chats)
    .where(and(eq(chats.platform, platform), eq(chats.externalId, externalId)))
    .limit(1);
  return c ?? null;
}

export async function getPerson(db: Db, id: string): Promise<Person | null> {
  const [p] = await db.select().from(people).where(eq(people.id, id)).limit(1);
  return p ?? null;
}

export async function getHousehold(db: Db, id: string): Promise<Household | null> {
  const [h] = await db.select().from(households).where(eq(households.id, id)).limit(1);
  return h ?? null;
}

export type PathUnit = { id: string; kind: UnitKind; name: string; settings: Record<string, unknown> };

/** The unit and its ancestors, the unit itself first and the town last. */
export async function unitPath(db: Db, unitId: string): Promise<PathUnit[]> {
  return queryRows<PathUnit>(
    db,
    sql`${withRecursive(pathUpCte("up", unitId))}
        select id, kind, name, settings from up order by depth`,
  );
}

/** SQL for "the leader role of a unit of this kind", built from LEADER_ROLE so the rule lives in one place. */
export function leaderRoleSql(kind: SQL): SQL {
  const whens = Object.entries(LEADER_ROLE).map(([k, role]) => sql`when ${k}::text then ${role}::text`);
  return sql`(case ${kind} ${sql.join(whens, sql` `)} end)`;
}

/**
 * The unit path and the responsible leaders of every unit on it (role matching the unit's kind, placed on that
 * unit), in one round trip: this runs for every ticket command.
 */
export async function unitPathWithLeaders(db: Db, unitId: string): Promise<{ path: PathUnit[]; leaders: Map<string, Leader[]> }> {
  const rows = await queryRows<PathUnit & { depth: number; person: Leader[] | string | null }>(
    db,
    sql`${withRecursive(pathUpCte("up", unitId))}
        select up.id, up.kind, up.name, up.settings, up.depth,
          (select coalesce(json_agg(json_build_object(
              'id', p.id, 'name', p.name, 'role', p.role, 'unitId', p.unit_id, 'householdId', p.household_id
            ) order by p.id), '[]'::json)
           from people p
           where p.unit_id = up.id and p.active and p.role = ${leaderRoleSql(sql`up.kind`)}) as person
        from up order by up.depth`,
  );
  const path = rows.map(({ id, kind, name, settings }) => ({ id, kind, name, settings }));
  const leaders = new Map<string, Leader[]>();
  // PGlite hands json back as text, postgres.js as a value.
  for (const r of rows) leaders.set(r.id, (typeof r.person === "string" ? JSON.parse(r.person) : r.person) ?? []);
  return { path, leaders };
}

/** Leaders of a unit or any unit above it may act on its tickets; admins anywhere. */
export function canLead(person: Person | null, path: PathUnit[]): boolean {
  if (!person) return false;
  if (person.role === "admin") return true;
  if (person.role === "resident") return false;
  return path.some((u) => u.id === person.unitId);
}
