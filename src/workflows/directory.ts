/** Directory look-ups used by every workflow: people, chats, the unit tree and who leads what. */
import { and, eq, type SQL } from "drizzle-orm";
import { type Db, queryRows, sql, textArray } from "../db/client.js";
import { fromRow, jsonValue } from "../db/rows.js";
import {
  chats,
  households,
  identities,
  type Platform,
  people,
  type UnitKind,
  type units,
} from "../db/schema/index.js";
import { pathUpCte, withRecursive } from "../db/unit-tree.js";
import { coalesceOn } from "../lib/coalesce.js";
import type { UnitLadder } from "./directory-cache.js";
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

type SenderKey = { platform: Platform; chat: string; sender: string };
const SENDER_LOOKUPS = Symbol("senderLookups");

/**
 * A group message's chat, sender and the sender's household. Null when the chat is not registered. The message path
 * runs this for every sender it has not cached — on a flood day nearly every one — side by side on the batch's
 * transaction: the look-ups made in one turn go out together (see coalesceOn), two statements for all of them.
 */
export function findSender(db: Db, platform: Platform, chatExternalId: string, senderExternalId: string): Promise<Sender | null> {
  return coalesceOn<SenderKey, Sender | null>(db, SENDER_LOOKUPS, (keys) => findSenders(db, keys)).add({
    platform,
    chat: chatExternalId,
    sender: senderExternalId,
  });
}

/**
 * Many senders at once, one result per key in order: per platform, the chats in one statement and the people in
 * another. Written as SQL with the lists as one array parameter each: the texts never change, so each is parsed and
 * planned once per connection, and nothing is built per call (drizzle's select builder was a flood day's largest
 * source of garbage in the bot; docs/performance.md).
 */
async function findSenders(db: Db, keys: SenderKey[]): Promise<(Sender | null)[]> {
  const personKey = (platform: Platform, sender: string) => (platform === "wecom" ? sender.toLowerCase() : sender);
  const byPlatform = new Map<Platform, { chats: Map<string, Chat>; people: Map<string, { person: Person; household: Household | null }> }>();
  await Promise.all(
    [...new Set(keys.map((k) => k.platform))].map(async (platform) => {
      const mine = keys.filter((k) => k.platform === platform);
      const chatIds = [...new Set(mine.map((k) => k.chat))];
      const personIds = [...new Set(mine.map((k) => personKey(platform, k.sender)))];
      const [chatRows, personRows] = await Promise.all([
        queryRows<Record<string, unknown>>(db, sql`select * from chats where platform = ${platform} and external_id = any(${textArray(chatIds)})`),
        queryRows<{ key: string; person: unknown; household: unknown }>(
          db,
          platform === "sim"
            ? sql`select p.id as key, to_jsonb(p) as person, to_jsonb(h) as household
                from people p left join households h on h.id = p.household_id
                where p.id = any(${textArray(personIds)}) and p.active`
            : sql`select i.external_id as key, to_jsonb(p) as person, to_jsonb(h) as household
                from identities i join people p on p.id = i.person_id and p.active
                left join households h on h.id = p.household_id
                where i.platform = ${platform} and i.external_id = any(${textArray(personIds)})`,
        ),
      ]);
      const found = new Map<string, { person: Person; household: Household | null }>();
      for (const r of personRows) {
        const household = jsonValue<Record<string, unknown>>(r.household);
        found.set(r.key, { person: fromRow(people, jsonValue<Record<string, unknown>>(r.person) ?? {}), household: household ? fromRow(households, household) : null });
      }
      const chatsFound = new Map(chatRows.map((r) => fromRow(chats, r)).map((c) => [c.externalId, c]));
      byPlatform.set(platform, { chats: chatsFound, people: found });
    }),
  );
  return keys.map(({ platform, chat, sender }) => {
    const found = byPlatform.get(platform);
    const c = found?.chats.get(chat);
    if (!c) return null;
    const p = found?.people.get(personKey(platform, sender));
    return { chat: c, person: p?.person ?? null, household: p?.household ?? null };
  });
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

const LADDER_LOOKUPS = Symbol("ladderLookups");

/**
 * The unit path and the responsible leaders of every unit on it (role matching the unit's kind, placed on that
 * unit): this runs for every ticket command whose unit is not cached. Look-ups made side by side on one transaction
 * (a batch's reports, a wake-up slot's tickets) go out together as one statement (see coalesceOn).
 */
export function unitPathWithLeaders(db: Db, unitId: string): Promise<UnitLadder> {
  return coalesceOn<string, UnitLadder>(db, LADDER_LOOKUPS, (ids) => unitPathsWithLeaders(db, ids)).add(unitId);
}

async function unitPathsWithLeaders(db: Db, unitIds: string[]): Promise<UnitLadder[]> {
  const rows = await queryRows<PathUnit & { origin: string; depth: number; person: Leader[] | string | null }>(
    db,
    sql`${withRecursive(pathUpCte("up", [...new Set(unitIds)]))}
        select up.origin, up.id, up.kind, up.name, up.settings, up.depth,
          (select coalesce(json_agg(json_build_object(
              'id', p.id, 'name', p.name, 'role', p.role, 'unitId', p.unit_id, 'householdId', p.household_id
            ) order by p.id), '[]'::json)
           from people p
           where p.unit_id = up.id and p.active and p.role = ${leaderRoleSql(sql`up.kind`)}) as person
        from up order by up.origin, up.depth`,
  );
  const byOrigin = new Map<string, typeof rows>();
  for (const r of rows) byOrigin.set(r.origin, [...(byOrigin.get(r.origin) ?? []), r]);
  return unitIds.map((unitId) => {
    const mine = byOrigin.get(unitId) ?? [];
    const path = mine.map(({ id, kind, name, settings }) => ({ id, kind, name, settings }));
    const leaders = new Map<string, Leader[]>();
    for (const r of mine) leaders.set(r.id, jsonValue<Leader[]>(r.person) ?? []);
    return { path, leaders };
  });
}

/** Leaders of a unit or any unit above it may act on its tickets; admins anywhere. */
export function canLead(person: Person | null, path: PathUnit[]): boolean {
  if (!person) return false;
  if (person.role === "admin") return true;
  if (person.role === "resident") return false;
  return path.some((u) => u.id === person.unitId);
}
