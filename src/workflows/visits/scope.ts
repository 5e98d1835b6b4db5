/** Which households a leader looks after, who looks after a household, and the visit history the rules need. */
import { and, eq, inArray, lte, sql } from "drizzle-orm";
import { type Db, queryRows, textArray } from "../../db/client.js";
import { jsonValue } from "../../db/rows.js";
import { households, people, type Role, type UnitKind, visits } from "../../db/schema/index.js";
import { pathUpCte, subtreeCte, withRecursive } from "../../db/unit-tree.js";
import { type Household, isActive, type Person } from "../directory.js";
import { LEADER_ROLE } from "../roles.js";
import { periodStart } from "./calendar.js";
import { type CarePlan, type History, type VisitRules, visitPeriodOf } from "./rules.js";

/** The unit and every unit below it. */
export async function subtreeUnitIds(db: Db, rootId: string): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`${withRecursive(subtreeCte("down", sql`select id from units where id = ${rootId}`))}
        select unit_id as id from down`,
  );
  return rows.map((r) => r.id);
}

export async function householdsIn(db: Db, unitIds: string[]): Promise<Household[]> {
  if (unitIds.length === 0) return [];
  return db.select().from(households).where(inArray(households.unitId, unitIds)).orderBy(households.id);
}

type UnitRow = { id: string; parent_id: string | null; kind: UnitKind };

/**
 * For every 邻 under `rootId`: the people who look after its households — its 邻长, or when the 邻 has none the
 * leaders of the nearest unit above it that has some (as with tickets: a vacant 邻 goes to the 组长).
 */
export async function caretakers(db: Db, rootId: string): Promise<Map<string, Person[]>> {
  const all = await queryRows<UnitRow>(
    db,
    sql`${withRecursive(subtreeCte("down", sql`select id from units where id = ${rootId}`), pathUpCte("up", rootId))}
        select u.id, u.parent_id, u.kind from down join units u on u.id = down.unit_id
        union select id, parent_id, kind from up`,
  );
  const byId = new Map(all.map((u) => [u.id, u]));
  const leaders = await db
    .select()
    .from(people)
    .where(and(inArray(people.unitId, [...byId.keys()]), isActive))
    .orderBy(people.id);
  const leadersOf = (u: UnitRow) => leaders.filter((p) => p.unitId === u.id && p.role === (LEADER_ROLE[u.kind] as Role));
  const out = new Map<string, Person[]>();
  for (const u of all) {
    if (u.kind !== "neighborhood") continue;
    let at: UnitRow | undefined = u;
    let found: Person[] = [];
    while (at && found.length === 0) {
      found = leadersOf(at);
      at = at.parent_id ? byId.get(at.parent_id) : undefined;
    }
    out.set(u.id, found);
  }
  return out;
}

/** The town above a unit, with its settings. */
export async function townOf(db: Db, unitId: string): Promise<{ id: string; settings: Record<string, unknown> } | null> {
  return (await townsOf(db, [unitId])).get(unitId) ?? null;
}

/** The town above each of these units (a town is its own), with its settings; units without one are left out. */
export async function townsOf(db: Db, unitIds: string[]): Promise<Map<string, { id: string; settings: Record<string, unknown> }>> {
  const out = new Map<string, { id: string; settings: Record<string, unknown> }>();
  if (unitIds.length === 0) return out;
  const rows = await queryRows<{ root: string; id: string; settings: Record<string, unknown> }>(
    db,
    sql`with recursive up(root, id, parent_id, kind, settings) as (
        select u.id, u.id, u.parent_id, u.kind, u.settings from units u where u.id = any(${textArray(unitIds)})
        union all
        select up.root, u.id, u.parent_id, u.kind, u.settings from units u join up on u.id = up.parent_id where up.kind <> 'town'
      )
      select root, id, settings from up where kind = 'town'`,
  );
  for (const r of rows) out.set(r.root, { id: r.id, settings: jsonValue<Record<string, unknown>>(r.settings) ?? {} });
  return out;
}

/** Each household's visit history as of `now` (visits logged later are ignored), for the rules in `rules`. */
export async function historiesOf(
  db: Db,
  list: Pick<Household, "id" | "careLevel">[],
  rules: VisitRules,
  now: Date,
): Promise<Map<string, History>> {
  const out = new Map<string, History>(list.map((h) => [h.id, { lastVisitAt: null, lastContactAt: null, lastVisitBeforePeriodAt: null }]));
  if (list.length === 0) return out;
  const starts: Record<CarePlan, Date> = {
    special: periodStart(now, visitPeriodOf("special", rules)),
    normal: periodStart(now, visitPeriodOf("normal", rules)),
  };
  const at = (cond: ReturnType<typeof sql>) => sql<Date | null>`max(${visits.at}) filter (where ${cond})`.mapWith(visits.at);
  const plans = new Map(list.map((h) => [h.id, h.careLevel]));
  const ids = list.map((h) => h.id);
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = await db
      .select({
        householdId: visits.householdId,
        lastVisitAt: at(sql`${visits.kind} = 'visit'`),
        lastContactAt: at(sql`${visits.kind} = 'contact'`),
        beforeSpecial: at(sql`${visits.kind} = 'visit' and ${visits.at} < ${starts.special.toISOString()}::timestamptz`),
        beforeNormal: at(sql`${visits.kind} = 'visit' and ${visits.at} < ${starts.normal.toISOString()}::timestamptz`),
      })
      .from(visits)
      .where(and(eq(visits.status, "matched"), inArray(visits.householdId, ids.slice(i, i + 1000)), lte(visits.at, now)))
      .groupBy(visits.householdId);
    for (const r of rows) {
      if (!r.householdId) continue;
      out.set(r.householdId, {
        lastVisitAt: r.lastVisitAt,
        lastContactAt: r.lastContactAt,
        lastVisitBeforePeriodAt: plans.get(r.householdId) === "special" ? r.beforeSpecial : r.beforeNormal,
      });
    }
  }
  return out;
}
