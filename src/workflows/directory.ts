/** Directory look-ups used by every workflow: people, chats, the unit tree and who leads what. */
import { and, eq, inArray } from "drizzle-orm";
import { type Db, queryRows, sql } from "../db/client.js";
import {
  chats,
  households,
  identities,
  type Platform,
  people,
  type Role,
  type UnitKind,
  type units,
} from "../db/schema/index.js";
import { LEADER_ROLE } from "./roles.js";

export type Person = typeof people.$inferSelect;
export type Chat = typeof chats.$inferSelect;
export type Unit = typeof units.$inferSelect;
export type Household = typeof households.$inferSelect;

/** The person behind a platform user id, or null for someone not in the directory. */
export async function findPerson(db: Db, platform: Platform, externalId: string): Promise<Person | null> {
  if (platform === "sim") {
    const [p] = await db.select().from(people).where(eq(people.id, externalId)).limit(1);
    return p ?? null;
  }
  const id = platform === "wecom" ? externalId.toLowerCase() : externalId;
  const [row] = await db
    .select({ person: people })
    .from(identities)
    .innerJoin(people, eq(people.id, identities.personId))
    .where(and(eq(identities.platform, platform), eq(identities.externalId, id)))
    .limit(1);
  return row?.person ?? null;
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
    sql`with recursive up as (
          select id, parent_id, kind, name, settings, 0 as depth from units where id = ${unitId}
          union all
          select u.id, u.parent_id, u.kind, u.name, u.settings, up.depth + 1 from units u join up on u.id = up.parent_id
        )
        select id, kind, name, settings from up order by depth`,
  );
}

/** The responsible leaders of each unit (role matching the unit's kind, placed on that unit). */
export async function leadersOf(db: Db, path: PathUnit[]): Promise<Map<string, Person[]>> {
  const out = new Map<string, Person[]>();
  if (path.length === 0) return out;
  const rows = await db
    .select()
    .from(people)
    .where(
      and(
        inArray(
          people.unitId,
          path.map((u) => u.id),
        ),
        inArray(people.role, [...new Set(path.map((u) => LEADER_ROLE[u.kind]))] as Role[]),
      ),
    )
    .orderBy(people.id);
  for (const u of path) {
    out.set(
      u.id,
      rows.filter((p) => p.unitId === u.id && p.role === LEADER_ROLE[u.kind]),
    );
  }
  return out;
}

/** Leaders of a unit or any unit above it may act on its tickets; admins anywhere. */
export function canLead(person: Person | null, path: PathUnit[]): boolean {
  if (!person) return false;
  if (person.role === "admin") return true;
  if (person.role === "resident") return false;
  return path.some((u) => u.id === person.unitId);
}
