/**
 * The dashboard's queries, each limited to the viewer's scope (a unit's subtree; everything for the admin).
 * Aggregates are grouped SQL; lists are paged.
 */
import type { SQL } from "drizzle-orm";
import { analyticRows } from "../db/analytic.js";
import { type Db, queryRows, sql, textArray } from "../db/client.js";
import { fromRow, jsonValue } from "../db/rows.js";
import { households, type TicketStatus, type UnitKind } from "../db/schema/index.js";
import { everyUnitCte, subtreeCte, withRecursive } from "../db/unit-tree.js";
import { OTHER } from "../workflows/category.js";
import type { UnitTree } from "../workflows/digests/index.js";
import type { Household } from "../workflows/directory.js";
import { DECISION_CATEGORY, type PolicyOverrides } from "../workflows/policy.js";
import { unitsCte } from "./tree.js";

/**
 * What a viewer may see: the subtree of `rootId` (everything for the admin, null). `unitIds`, when the dashboard has
 * it from its cached tree (./tree.ts), lists that subtree: queries then take it as one array the planner can count.
 */
export type Scope = { rootId: string | null; unitIds?: string[] };

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/**
 * `col` (a unit id) inside the scope, as a condition without a `with` clause: nothing for the admin (every ticket is
 * theirs: a join with every unit cost a hash of all units per query and pushed the planner to scan every ticket), the
 * scope's unit list when known, else the subtree walk.
 */
export function inScope(scope: Scope, col: SQL): SQL {
  if (!scope.rootId) return sql`true`;
  if (scope.unitIds) return sql`${col} = any(${textArray(scope.unitIds)})`;
  return sql`${col} in (${withRecursive(subtreeCte("sub", scope.rootId))} select unit_id from sub)`;
}

/** The `sub(unit_id)` CTE that opens a scoped query's `with` clause (every unit for the admin). */
export function scopeCte(scope: Scope): SQL {
  if (scope.rootId && scope.unitIds) return withRecursive(unitsCte("sub", scope.unitIds));
  return withRecursive(scope.rootId ? subtreeCte("sub", scope.rootId) : everyUnitCte("sub"));
}

export type TicketFilter = {
  status?: TicketStatus;
  level?: UnitKind;
  unitId?: string;
  /** The subtree of `unitId` when known (the dashboard's cached tree): one array instead of a recursive walk. */
  unitIds?: string[];
  category?: string;
  from?: Date;
  to?: Date;
};

/**
 * The tickets' units for a scope and a filter as one condition: with both lists known, the units in both (the planner
 * multiplied two lists' selectivities into a guess a hundred times too small and scanned every ticket to count).
 */
function ticketUnits(scope: Scope, f: TicketFilter): SQL {
  if (scope.rootId && scope.unitIds && f.unitId && f.unitIds) {
    const inScope = new Set(scope.unitIds);
    return sql`t.unit_id = any(${textArray(f.unitIds.filter((id) => inScope.has(id)))})`;
  }
  return sql`${inScope(scope, sql`t.unit_id`)} and ${unitFilter(f)}`;
}

/** The filter's unit (its subtree), or nothing. */
function unitFilter(f: TicketFilter): SQL {
  if (f.unitId && f.unitIds) return sql`t.unit_id = any(${textArray(f.unitIds)})`;
  if (f.unitId) return sql`t.unit_id in (${withRecursive(subtreeCte("f", f.unitId))} select unit_id from f)`;
  return sql`true`;
}

/** The filter's other conditions (status, level, category, dates). */
function filterSql(f: TicketFilter): SQL {
  const parts: SQL[] = [sql`true`];
  if (f.status) parts.push(sql`t.status = ${f.status}`);
  if (f.level) parts.push(sql`t.level = ${f.level}`);
  if (f.category) parts.push(sql`t.category = ${f.category}`);
  if (f.from) parts.push(sql`t.created_at >= ${ts(f.from)}`);
  if (f.to) parts.push(sql`t.created_at < ${ts(f.to)}`);
  return sql.join(parts, sql` and `);
}

export type TicketRow = {
  id: number;
  created_at: Date;
  category: string;
  urgency: string;
  status: TicketStatus;
  level: UnitKind;
  /** The 邻 (or unit) the matter arose in: its town's rules apply to the ticket. */
  unit_id: string;
  unit_name: string;
  holder_name: string;
  /** 负责人: who is responsible (the claimer once claimed). */
  assignee: string | null;
  /** Who sent the report: for 代报 the relaying leader (经办人), else the resident themselves. */
  reporter: string | null;
  /** 诉求户: the household the request is for, "户主（门牌）" (the dashboard is for leaders; groups never see the 门牌). */
  household: string | null;
  /** 诉求人: who asked — the name given in a 代报, else the reporter. */
  requester: string | null;
  /** 经办人: the leader who relayed a 代报; null for a resident's own report. */
  relayed_by: string | null;
  first_answered_at: Date | null;
  resolved_at: Date | null;
  closed_at: Date | null;
  rating: string | null;
  reopen_count: number;
  escalation_count: number;
  text: string;
  /** The ticket's kept photos (ticket_media ids, oldest first). */
  photo_ids: number[];
};

const toDate = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

/** The ticket columns both queries select, from a raw row (drivers differ in how they return dates and numbers). */
const TICKET_COLUMNS = sql`t.id, t.created_at, t.category, t.urgency, t.status, t.level, t.unit_id, o.name as unit_name,
  hu.name as holder_name, a.name as assignee, r.name as reporter,
  case when hh.id is null then null when hh.house_no is null then hh.head_name else hh.head_name || '（' || hh.house_no || '）' end as household,
  case when t.on_behalf then coalesce(t.requester_name, hh.head_name) else r.name end as requester,
  case when t.on_behalf then r.name end as relayed_by, t.first_answered_at, t.resolved_at, t.closed_at,
  t.rating, t.reopen_count, t.escalation_count, t.text,
  (select coalesce(string_agg(m.id::text, ',' order by m.id), '') from ticket_media m where m.ticket_id = t.id and m.status = 'stored') as photo_ids`;
/** The joins that name a ticket's units and people (after the ticket is chosen). */
const TICKET_JOINS = sql`join units o on o.id = t.unit_id
  join units hu on hu.id = t.holder_unit_id
  left join people a on a.id = t.assignee_id
  left join people r on r.id = t.reporter_id
  left join households hh on hh.id = t.household_id`;

function toTicketRow(r: Record<string, unknown>): TicketRow {
  return {
    ...(r as unknown as TicketRow),
    id: Number(r.id),
    created_at: toDate(r.created_at) as Date,
    first_answered_at: toDate(r.first_answered_at),
    resolved_at: toDate(r.resolved_at),
    closed_at: toDate(r.closed_at),
    reopen_count: Number(r.reopen_count),
    escalation_count: Number(r.escalation_count),
    photo_ids: String(r.photo_ids ?? "").split(",").filter(Boolean).map(Number),
  };
}

/**
 * Where a page of tickets starts (newest first): below the id `before` (the next page), above `after` (the previous
 * page), or — for an address without either — after skipping `offset` tickets.
 */
export type PageAt = { before: number } | { after: number } | { offset: number };

/**
 * One page of the tickets in scope matching the filter, newest first. The page's ids are chosen first, from tickets
 * alone (an index per unit of the subtree, or the primary key from the cursor down), and only those `limit` rows are
 * joined to their units, people, household and photos: a village's ten thousand tickets are never all joined.
 */
export async function ticketPage(db: Db, scope: Scope, f: TicketFilter, at: PageAt, limit: number): Promise<TicketRow[]> {
  const up = "after" in at;
  const cursor = "before" in at ? sql`and t.id < ${at.before}` : "after" in at ? sql`and t.id > ${at.after}` : sql``;
  const offset = "offset" in at && at.offset > 0 ? sql`offset ${at.offset}` : sql``;
  const rows = await analyticRows<Record<string, unknown>>(
    db,
    sql`with page as (
        select t.id from tickets t
        where ${ticketUnits(scope, f)} and ${filterSql(f)} ${cursor}
        order by t.id ${up ? sql`asc` : sql`desc`} limit ${limit} ${offset}
      )
      select ${TICKET_COLUMNS}
      from page join tickets t on t.id = page.id ${TICKET_JOINS}
      order by t.id desc`,
  );
  return rows.map(toTicketRow);
}

/** How many tickets in scope match the filter (counted on tickets alone). */
export async function countTickets(db: Db, scope: Scope, f: TicketFilter): Promise<number> {
  const [r] = await analyticRows<{ n: string | number }>(
    db,
    sql`select count(*) as n from tickets t where ${ticketUnits(scope, f)} and ${filterSql(f)}`,
  );
  return Number(r?.n ?? 0);
}

export async function listTickets(db: Db, scope: Scope, f: TicketFilter, limit: number, at: PageAt): Promise<{ rows: TicketRow[]; total: number }> {
  const [rows, total] = await Promise.all([ticketPage(db, scope, f, at, limit), countTickets(db, scope, f)]);
  return { rows, total };
}

export async function ticketInScope(db: Db, scope: Scope, id: number): Promise<TicketRow | null> {
  if (!Number.isInteger(id) || id <= 0 || id > 2 ** 31 - 1) return null;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`select ${TICKET_COLUMNS}
      from tickets t ${TICKET_JOINS}
      where t.id = ${id} and ${inScope(scope, sql`t.unit_id`)}`,
  );
  const r = rows[0];
  return r ? toTicketRow(r) : null;
}

export type EventRow = { id: number; at: Date; kind: string; level: string | null; actor: string | null; text: string | null; data: Record<string, unknown> | null };

export async function timeline(db: Db, ticketId: number): Promise<EventRow[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`select e.id, e.at, e.kind, e.level, p.name as actor, e.text, e.data
        from ticket_events e left join people p on p.id = e.actor_id
        where e.ticket_id = ${ticketId} order by e.at, e.id`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    at: new Date(r.at as string),
    kind: String(r.kind),
    level: (r.level as string) ?? null,
    actor: (r.actor as string) ?? null,
    text: (r.text as string) ?? null,
    data: jsonValue<Record<string, unknown>>(r.data),
  }));
}

/** The events of these tickets (the export's second sheet), by ticket and time. */
export async function exportEventPage(db: Db, ticketIds: number[]) {
  return queryRows<Record<string, unknown>>(
    db,
    sql`select e.ticket_id, e.at, e.kind, e.level, p.name as actor, e.text
      from ticket_events e left join people p on p.id = e.actor_id
      where e.ticket_id in (${sql.join(ticketIds.map((id) => sql`${id}`), sql`, `)})
      order by e.ticket_id, e.at, e.id`,
  );
}

export type UnmatchedVisit = { id: number; at: Date; leader: string; unitId: string; unitName: string; kind: string; channel: string; query: string };

/** Visits in scope whose household was not found when logged, newest first: the queue an admin works through. */
export async function unmatchedVisits(db: Db, scope: Scope, limit: number): Promise<UnmatchedVisit[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${scopeCte(scope)}
      select v.id, v.at, p.name as leader, v.unit_id, u.name as unit_name, v.kind, v.channel, v.query
      from visits v join sub on sub.unit_id = v.unit_id join units u on u.id = v.unit_id join people p on p.id = v.leader_id
      where v.status = 'unmatched'
      order by v.at desc, v.id desc
      limit ${limit}`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    at: new Date(r.at as string),
    leader: String(r.leader),
    unitId: String(r.unit_id),
    unitName: String(r.unit_name),
    kind: String(r.kind),
    channel: String(r.channel),
    query: String(r.query),
  }));
}

/** The households under each of these units (its whole subtree), for matching a visit by hand. */
export async function householdsUnder(db: Db, unitIds: string[]): Promise<Map<string, Household[]>> {
  const out = new Map<string, Household[]>(unitIds.map((id) => [id, []]));
  if (unitIds.length === 0) return out;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${withRecursive(subtreeCte("w", sql`select id, id from units where id in (${sql.join(unitIds.map((id) => sql`${id}`), sql`, `)})`, ["root"]))}
      select w.root, h.* from w join households h on h.unit_id = w.unit_id order by w.root, h.head_name, h.id`,
  );
  for (const r of rows) out.get(String(r.root))?.push(fromRow(households, r));
  return out;
}

/** Tickets opened per ISO week (Asia/Shanghai) since `from`, and how many of them are resolved or closed now. */
export async function weeklyVolume(db: Db, scope: Scope, from: Date): Promise<{ week: Date; n: number; done: number }[]> {
  const rows = await analyticRows<Record<string, unknown>>(
    db,
    // Grouped by the week's start, formatted once per week afterwards (not once per ticket before a sort).
    sql`select to_char(w, 'YYYY-MM-DD') as week, n, done from (
        select date_trunc('week', t.created_at at time zone 'Asia/Shanghai') as w, count(*) as n,
          count(*) filter (where t.status in ('resolved', 'closed')) as done
        from tickets t
        where t.created_at >= ${ts(from)} and ${inScope(scope, sql`t.unit_id`)}
        group by 1
      ) x order by w`,
  );
  return rows.map((r) => ({ week: new Date(`${String(r.week)}T00:00:00+08:00`), n: Number(r.n), done: Number(r.done) }));
}

/** First-answer times in buckets (hours) of tickets opened since `from`; the last bucket is "not answered". */
export const ANSWER_BUCKETS = [1, 2, 3, 4, 8, 24] as const;

/**
 * The overview's two charts of the tickets opened since `from`, in one pass over them: first-answer times in buckets
 * (the last bucket is "not answered") and the escalation funnel (those that reached each level; levels only go up).
 */
export async function answersAndFunnel(
  db: Db,
  scope: Scope,
  from: Date,
): Promise<{ answers: { label: string; n: number; late: boolean }[]; funnel: { level: UnitKind; n: number }[] }> {
  const [r] = await analyticRows<Record<string, unknown>>(
    db,
    sql`with x as (
        select extract(epoch from (t.first_answered_at - t.created_at)) / 3600.0 as h,
          case t.level when 'neighborhood' then 0 when 'group' then 1 when 'area' then 2 when 'village' then 3 else 4 end as rank
        from tickets t where t.created_at >= ${ts(from)} and ${inScope(scope, sql`t.unit_id`)}
      )
      select
        count(*) filter (where h < 1) as b0, count(*) filter (where h >= 1 and h < 2) as b1,
        count(*) filter (where h >= 2 and h < 3) as b2, count(*) filter (where h >= 3 and h <= 4) as b3,
        count(*) filter (where h > 4 and h < 8) as b4, count(*) filter (where h >= 8 and h < 24) as b5,
        count(*) filter (where h >= 24) as b6, count(*) filter (where h is null) as none,
        count(*) as l0, count(*) filter (where rank >= 1) as l1, count(*) filter (where rank >= 3) as l3,
        count(*) filter (where rank >= 4) as l4
      from x`,
  );
  const labels = ["<1h", "1–2h", "2–3h", "3–4h", "4–8h", "8–24h", "≥24h", "未答复"];
  const keys = ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "none"];
  return {
    answers: keys.map((k, i) => ({ label: labels[i] as string, n: Number(r?.[k] ?? 0), late: i >= 4 })),
    funnel: [
      { level: "neighborhood", n: Number(r?.l0 ?? 0) },
      { level: "group", n: Number(r?.l1 ?? 0) },
      { level: "village", n: Number(r?.l3 ?? 0) },
      { level: "town", n: Number(r?.l4 ?? 0) },
    ],
  };
}

export async function unitOptions(db: Db, scope: Scope): Promise<{ id: string; name: string; kind: UnitKind }[]> {
  return queryRows(db, sql`${scopeCte(scope)} select u.id, u.name, u.kind from units u join sub on sub.unit_id = u.id order by u.id`);
}

/**
 * The 类别 drop-down: the category tables of the towns in scope, 其他 and 议定事项 (what tickets are classified into),
 * and the category asked for. Read from the towns' settings, not from the tickets: a distinct over a county's
 * million tickets cost a scan of all of them on every view of the list.
 */
export function categoryOptions(tree: UnitTree, scope: Scope, overrides: PolicyOverrides, current?: string): string[] {
  const towns = scope.rootId ? [tree.townOf(scope.rootId)?.id ?? scope.rootId] : tree.towns().map((t) => t.id);
  const names = new Set<string>(towns.flatMap((id) => tree.policy(id, overrides).categories.map((c) => c.name)));
  for (const name of [OTHER, DECISION_CATEGORY, current]) if (name) names.add(name);
  return [...names].sort();
}

/** A kept photo (or its thumbnail) and the ticket it belongs to, for /dashboard/media/<id>; the caller checks the scope. */
export async function mediaFile(db: Db, id: number, thumb: boolean): Promise<{ ticketId: number; mime: string; data: Buffer } | null> {
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  const rows = await queryRows<{ ticket_id: number | string; mime: string; data: Uint8Array }>(
    db,
    sql`select l.ticket_id, ${thumb ? sql`'image/jpeg'` : sql`m.mime`} as mime, ${thumb ? sql`m.thumb` : sql`m.data`} as data
      from ticket_media l join media m on m.sha256 = l.sha256
      where l.id = ${id} and l.status = 'stored' and l.ticket_id is not null`,
  );
  const r = rows[0];
  if (!r) return null;
  const data = typeof r.data === "string" ? Buffer.from((r.data as string).replace(/^\\x/, ""), "hex") : Buffer.from(r.data);
  return { ticketId: Number(r.ticket_id), mime: r.mime, data };
}
