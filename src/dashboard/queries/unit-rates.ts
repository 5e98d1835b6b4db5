/**
 * The per-unit table (红黑榜): for each unit of one level in the viewer's scope, over a period, the weekly digest's
 * figures — 新增, 响应率, 解决率, 满意率 — with 逾期 at the period's end and visit coverage. The definitions are the
 * digest's (src/workflows/digests/weekly.ts, README); this is its own grouped SQL (one statement for every row of the
 * towns that share their clocks, each row's whole subtree), so a test can hold the two against each other.
 */
import type { SQL } from "drizzle-orm";
import { type Db, sql, textArray } from "../../db/client.js";
import type { UnitKind } from "../../db/schema/index.js";
import { givenAnswerDue, msInterval, overdueAt } from "../../workflows/digests/clock.js";
import type { Window } from "../../workflows/digests/period.js";
import { type Coverage, visitCoverageOfRoots } from "../../workflows/visits/coverage.js";
import { visitRulesFor } from "../../workflows/visits/rules.js";
import { analyticRows } from "../../db/analytic.js";
import type { ScopeTree } from "../tree.js";
import type { ClockRoot } from "./clocks.js";

export type UnitRates = {
  unitId: string;
  name: string;
  kind: UnitKind;
  /** New tickets in the window. */
  created: number;
  /** 响应率: answered within the answer clock, of those whose clock is decided at `asOf`. */
  answeredInTime: number;
  answerDecided: number;
  /** 解决率: of the window's new tickets, resolved or closed at `asOf`. */
  resolvedOfNew: number;
  /** 满意率: 满意 of the ratings given in the window. */
  satisfied: number;
  rated: number;
  /** 逾期 at `asOf`. */
  overdue: number;
  coverage: Coverage;
};

/** `asOf`: when the figures are taken — now for a running period, the digest's slot for a past digest week. */
export type RatePeriod = { window: Window; asOf: Date };

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;
const num = (v: unknown) => Number(v ?? 0);

/**
 * The rows' units inside one town's part of the scope: units of `level` in the subtree, or without a level the
 * root's direct children (the root itself when it has none, e.g. a 邻长's own 邻).
 */
function rowUnits(below: ScopeTree, r: ClockRoot, level: UnitKind | undefined): string[] {
  if (level) return r.unitIds.filter((id) => below.tree.get(id)?.kind === level);
  const children = below.children(r.root);
  return children.length > 0 ? children : below.tree.get(r.root) ? [r.root] : [];
}

/** The rows of towns that share their clocks (`rs`, at least one), in one statement. */
async function oneClock(db: Db, below: ScopeTree, rs: ClockRoot[], level: UnitKind | undefined, p: RatePeriod, all: boolean): Promise<Omit<UnitRates, "coverage">[]> {
  const { from, to } = p.window;
  const r = rs[0] as ClockRoot;
  // Each row's whole subtree, as (row, unit) pairs from the tree in memory.
  const rowIds = rs.flatMap((x) => rowUnits(below, x, level));
  if (rowIds.length === 0) return [];
  const pairs = rowIds.flatMap((row) => below.below(row).map((unit) => [row, unit] as const));
  // Every ticket when the rows cover every unit (the admin's table): no list to probe unit by unit.
  const inUnits = (col: SQL) => (all ? sql`true` : sql`${col} = any(${textArray([...new Set(pairs.map((x) => x[1]))])})`);
  const asOf = ts(p.asOf);
  const answer = msInterval(r.policy.answerMs);
  const rows = await analyticRows<Record<string, unknown>>(
    db,
    sql`with row_units as (select u.id, u.name, u.kind from units u where u.id = any(${textArray(rowIds)})),
      rs(row_id, unit_id) as (select * from unnest(${textArray(pairs.map((x) => x[0]))}, ${textArray(pairs.map((x) => x[1]))})),
      -- Counted per unit first (one pass over the window's tickets, a few thousand groups), then summed up each
      -- row's subtree: joining every ticket to the (row, unit) pairs hashed a million tickets into a spilling join.
      created_u as (
        select t.unit_id, count(*) as created,
          count(*) filter (where t.first_answered_at is not null or ${givenAnswerDue(answer)} <= ${asOf}) as decided,
          count(*) filter (where t.first_answered_at <= ${givenAnswerDue(answer)}) as in_time,
          count(*) filter (where t.status in ('resolved', 'closed')) as resolved_of_new
        from tickets t
        where t.created_at >= ${ts(from)} and t.created_at < ${ts(to)} and ${inUnits(sql`t.unit_id`)}
        group by t.unit_id
      ), created as (
        select rs.row_id, sum(c.created) as created, sum(c.decided) as decided, sum(c.in_time) as in_time, sum(c.resolved_of_new) as resolved_of_new
        from rs join created_u c on c.unit_id = rs.unit_id group by rs.row_id
      ), ratings_u as (
        -- The window's ratings, each ticket's unit looked up by its id (a join let the planner scan every ticket for
        -- the few thousand a week's ratings name).
        select x.unit_id, count(*) filter (where x.kind = 'rated') as satisfied, count(*) as rated
        from (
          select e.kind, (select t.unit_id from tickets t where t.id = e.ticket_id) as unit_id
          from ticket_events e
          where e.kind in ('rated', 'reopened') and e.at >= ${ts(from)} and e.at < ${ts(to)}
          offset 0 -- kept apart, so each ticket is looked up once (not again for the filter and the grouping)
        ) x
        where ${inUnits(sql`x.unit_id`)}
        group by x.unit_id
      ), ratings as (
        select rs.row_id, sum(g.satisfied) as satisfied, sum(g.rated) as rated from rs join ratings_u g on g.unit_id = rs.unit_id group by rs.row_id
      ), late_u as (
        select t.unit_id, count(*) as overdue
        from tickets t
        where ${overdueAt(asOf, answer, msInterval(r.policy.resolveMs))} and ${inUnits(sql`t.unit_id`)}
        group by t.unit_id
      ), late as (
        select rs.row_id, sum(l.overdue) as overdue from rs join late_u l on l.unit_id = rs.unit_id group by rs.row_id
      )
      select u.id, u.name, u.kind, c.created, c.decided, c.in_time, c.resolved_of_new, g.satisfied, g.rated, l.overdue
      from row_units u left join created c on c.row_id = u.id left join ratings g on g.row_id = u.id left join late l on l.row_id = u.id
      order by u.id`,
  );
  return rows.map((x) => ({
    unitId: String(x.id),
    name: String(x.name),
    kind: x.kind as UnitKind,
    created: num(x.created),
    answerDecided: num(x.decided),
    answeredInTime: num(x.in_time),
    resolvedOfNew: num(x.resolved_of_new),
    satisfied: num(x.satisfied),
    rated: num(x.rated),
    overdue: num(x.overdue),
  }));
}

/**
 * The table for every town of the scope (each under its own clocks), with visit coverage at `asOf`. `everything`: the
 * roots are every town and the viewer sees every unit (the admin).
 */
export async function unitRates(db: Db, below: ScopeTree, roots: ClockRoot[], level: UnitKind | undefined, p: RatePeriod, everything = false): Promise<UnitRates[]> {
  const { tree } = below;
  // One statement per distinct pair of clocks (most towns keep the default), not one per town.
  const byClock = new Map<string, ClockRoot[]>();
  for (const r of roots) {
    const key = `${r.policy.answerMs}/${r.policy.resolveMs}`;
    byClock.set(key, [...(byClock.get(key) ?? []), r]);
  }
  const all = everything && byClock.size === 1;
  const rulesByTown = new Map(roots.map((r) => [r.townId, visitRulesFor(tree.get(r.townId)?.settings)]));
  const fallback = visitRulesFor(undefined);
  // The rows' units come from the tree in memory, so coverage (a county's households) runs alongside the figures.
  const [perClock, coverage] = await Promise.all([
    Promise.all([...byClock.values()].map((rs) => oneClock(db, below, rs, level, p, all))),
    visitCoverageOfRoots(
      db,
      roots.flatMap((r) => rowUnits(below, r, level)),
      p.asOf,
      (root) => rulesByTown.get(tree.townOf(root)?.id ?? "") ?? fallback,
    ),
  ]);
  const rows = perClock.flat();
  return rows.map((x) => ({ ...x, coverage: coverage.get(x.unitId) as Coverage }));
}
