/**
 * The dashboard's mediation queries. A case is visible to the leaders of the level holding it and every level above
 * (its holding unit is in their subtree), to the admin, to the leader who opened it and to those who acted on it on
 * its way up — never to a leader beside or below it otherwise (another 邻's 邻长, another group's 组长).
 */
import type { SQL } from "drizzle-orm";
import { type Db, queryRows, sql } from "../db/client.js";
import type { MediationStatus, UnitKind } from "../db/schema/index.js";
import { scopeCte, type Scope } from "./data.js";

export type MediationRow = {
  id: number;
  created_at: Date;
  status: MediationStatus;
  level: UnitKind;
  summary: string;
  result: string | null;
  opener: string;
  unit_name: string;
  holder_name: string;
  escalation_count: number;
  closed_at: Date | null;
};

const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
const toRow = (r: Record<string, unknown>): MediationRow => ({
  id: Number(r.id),
  created_at: new Date(r.created_at as string),
  status: r.status as MediationStatus,
  level: r.level as UnitKind,
  summary: String(r.summary),
  result: r.result === null || r.result === undefined ? null : String(r.result),
  opener: String(r.opener),
  unit_name: String(r.unit_name),
  holder_name: String(r.holder_name),
  escalation_count: Number(r.escalation_count),
  closed_at: date(r.closed_at),
});

/** The visibility rule, over the `sub` CTE of the viewer's subtree. */
const visible = (viewerId: string): SQL =>
  sql`(m.holder_unit_id in (select unit_id from sub) or m.opener_id = ${viewerId}
    or exists (select 1 from mediation_events e where e.mediation_id = m.id and e.actor_id = ${viewerId}))`;

function mediationsSql(scope: Scope, viewerId: string, where: SQL, limit: number): SQL {
  return sql`${scopeCte(scope)}
    select m.id, m.created_at, m.status, m.level, m.summary, m.result, p.name as opener, u.name as unit_name, hu.name as holder_name,
      m.escalation_count, m.closed_at
    from mediations m join people p on p.id = m.opener_id join units u on u.id = m.unit_id join units hu on hu.id = m.holder_unit_id
    where ${visible(viewerId)} and ${where}
    order by m.id desc
    limit ${limit}`;
}

export async function mediationsInScope(db: Db, scope: Scope, viewerId: string, status: MediationStatus | undefined, limit: number) {
  const where = status ? sql`m.status = ${status}` : sql`true`;
  return (await queryRows<Record<string, unknown>>(db, mediationsSql(scope, viewerId, where, limit))).map(toRow);
}

export async function mediationInScope(db: Db, scope: Scope, viewerId: string, id: number): Promise<MediationRow | null> {
  if (!Number.isSafeInteger(id) || id <= 0 || id > 2 ** 31 - 1) return null;
  const [row] = await queryRows<Record<string, unknown>>(db, mediationsSql(scope, viewerId, sql`m.id = ${id}`, 1));
  return row ? toRow(row) : null;
}

/** How many cases in scope are in each state. */
export async function mediationTotals(db: Db, scope: Scope, viewerId: string): Promise<Record<MediationStatus, number>> {
  const rows = await queryRows<{ status: MediationStatus; n: string | number }>(
    db,
    sql`${scopeCte(scope)}
      select m.status, count(*) as n from mediations m
      where ${visible(viewerId)}
      group by m.status`,
  );
  const out: Record<MediationStatus, number> = { mediating: 0, settled: 0, failed: 0 };
  for (const r of rows) out[r.status] = Number(r.n);
  return out;
}

export type MediationEventRow = { at: Date; kind: string; level: UnitKind | null; actor: string | null; text: string | null; to: UnitKind | null };

export async function mediationTimeline(db: Db, id: number): Promise<MediationEventRow[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`select e.at, e.kind, e.level, p.name as actor, e.text, e.data ->> 'to' as to_level
      from mediation_events e left join people p on p.id = e.actor_id
      where e.mediation_id = ${id}
      order by e.at, e.id`,
  );
  return rows.map((r) => ({
    at: new Date(r.at as string),
    kind: String(r.kind),
    level: (r.level ?? null) as UnitKind | null,
    actor: r.actor === null || r.actor === undefined ? null : String(r.actor),
    text: r.text === null || r.text === undefined ? null : String(r.text),
    to: (r.to_level ?? null) as UnitKind | null,
  }));
}
