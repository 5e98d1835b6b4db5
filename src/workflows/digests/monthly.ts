/**
 * The monthly 民情分析 report and the 邻长 履职 scorecards: grouped SQL aggregates over a unit's subtree.
 *
 * Scorecard (per 邻长, over the tickets from their own 邻 opened in the window):
 * - 4小时答复率 (a): first answer within the answer clock, of the tickets whose clock is decided;
 * - 首次答复中位时长: median time from opening to the first answer (shown, not scored);
 * - 本级解决率 (b, 微事不出邻): resolved while still at the 邻 level, of all the 邻's tickets;
 * - 满意率 (c): 满意 of the ratings given in the window;
 * - 走访按时率 (d): households of the 邻 visited within their due period (from the visits workflow);
 * - 重开 (r): reopened (不满意) in the window.
 * 综合分 = round(100 × (30a + 25b + 25c + 20d) / (sum of the weights of the parts that have data)) − 5r, at least 0;
 * no data at all → no score.
 */
import type { SQL } from "drizzle-orm";
import { type Db, queryRows, sql } from "../../db/client.js";
import { subtreeCte, withRecursive } from "../../db/unit-tree.js";
import { givenAnswerDue, msInterval as ms } from "./clock.js";
import { coverageByUnit } from "./coverage.js";
import { meetingCounts, type MeetingCounts } from "../meetings/missing.js";
import { mediationCounts, type MediationCounts } from "../mediations/counts.js";
import { monthOf, type Window } from "./period.js";

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;
const num = (v: unknown) => Number(v ?? 0);

const subtree = (root: string): SQL => withRecursive(subtreeCte("sub", root));

export type Scorecard = {
  personId: string;
  name: string;
  unitId: string;
  unitName: string;
  tickets: number;
  medianFirstAnswerMs: number | null;
  answerDecided: number;
  answeredInTime: number;
  ownLevel: number;
  rated: number;
  satisfied: number;
  reopened: number;
  visits: { visited: number; due: number } | null;
  score: number | null;
};

export const SCORE_WEIGHTS = { answer: 30, ownLevel: 25, satisfaction: 25, visits: 20, reopenPenalty: 5 } as const;

/** The composite score (see the module comment); null when no part has data. */
export function scoreOf(c: Omit<Scorecard, "score">): number | null {
  const parts: [number, number | null][] = [
    [SCORE_WEIGHTS.answer, c.answerDecided ? c.answeredInTime / c.answerDecided : null],
    [SCORE_WEIGHTS.ownLevel, c.tickets ? c.ownLevel / c.tickets : null],
    [SCORE_WEIGHTS.satisfaction, c.rated ? c.satisfied / c.rated : null],
    [SCORE_WEIGHTS.visits, c.visits?.due ? c.visits.visited / c.visits.due : null],
  ];
  let weight = 0;
  let sum = 0;
  for (const [w, x] of parts) {
    if (x === null) continue;
    weight += w;
    sum += w * x;
  }
  if (weight === 0) return null;
  return Math.max(0, Math.round((100 * sum) / weight) - SCORE_WEIGHTS.reopenPenalty * c.reopened);
}

/** Every 邻长 in `root`'s subtree with their scorecard over the window. */
export async function scorecards(
  db: Db,
  root: string,
  p: { window: Window; asOf: Date; answerMs: number },
): Promise<Scorecard[]> {
  const { from, to } = p.window;
  const answer = ms(p.answerMs);
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${subtree(root)}, leaders as (
        select p.id, p.name, p.unit_id from people p join sub on sub.unit_id = p.unit_id where p.role = 'neighbor_leader' and p.active
      ), t as (
        -- Each ticket is judged by the answer clock it was given when opened (its "opened" event), not today's.
        select t.*, ${givenAnswerDue(answer)} as answer_due
        from tickets t
        where t.unit_id in (select unit_id from leaders) and t.created_at >= ${ts(from)} and t.created_at < ${ts(to)}
      ), ev as (
        -- The window's ratings, each ticket's unit looked up by its id once (a join let the planner read every
        -- ticket of the county and then every event of the town's hundred thousand: 0.74 s of a 0.88 s query).
        select x.unit_id,
          count(*) filter (where x.kind in ('rated', 'reopened')) as rated,
          count(*) filter (where x.kind = 'rated') as satisfied,
          count(*) filter (where x.kind = 'reopened') as reopened
        from (
          select e.kind, (select t2.unit_id from tickets t2 where t2.id = e.ticket_id) as unit_id
          from ticket_events e
          where e.kind in ('rated', 'reopened') and e.at >= ${ts(from)} and e.at < ${ts(to)}
          offset 0
        ) x
        where x.unit_id in (select unit_id from leaders)
        group by x.unit_id
      )
      select l.id, l.name, l.unit_id, u.name as unit_name,
        count(t.id) as tickets,
        percentile_cont(0.5) within group (order by extract(epoch from (t.first_answered_at - t.created_at)) * 1000)
          filter (where t.first_answered_at is not null) as median_ms,
        count(t.id) filter (where t.first_answered_at is not null or t.answer_due <= ${ts(p.asOf)}) as decided,
        count(t.id) filter (where t.first_answered_at <= t.answer_due) as in_time,
        count(t.id) filter (where t.status in ('resolved', 'closed') and t.level = 'neighborhood') as own_level,
        coalesce(max(ev.rated), 0) as rated, coalesce(max(ev.satisfied), 0) as satisfied, coalesce(max(ev.reopened), 0) as reopened
      from leaders l
        join units u on u.id = l.unit_id
        left join t on t.unit_id = l.unit_id
        left join ev on ev.unit_id = l.unit_id
      group by l.id, l.name, l.unit_id, u.name
      order by l.unit_id, l.id`,
  );
  const coverage = await coverageByUnit(
    db,
    rows.map((r) => String(r.unit_id)),
    p.asOf,
  );
  return rows.map((r) => {
    const cov = coverage.get(String(r.unit_id));
    const card: Omit<Scorecard, "score"> = {
      personId: String(r.id),
      name: String(r.name),
      unitId: String(r.unit_id),
      unitName: String(r.unit_name),
      tickets: num(r.tickets),
      medianFirstAnswerMs: r.median_ms === null || r.median_ms === undefined ? null : Math.round(num(r.median_ms)),
      answerDecided: num(r.decided),
      answeredInTime: num(r.in_time),
      ownLevel: num(r.own_level),
      rated: num(r.rated),
      satisfied: num(r.satisfied),
      reopened: num(r.reopened),
      visits: cov ? cov.all : null,
    };
    return { ...card, score: scoreOf(card) };
  });
}

export type Repeated = { unitId: string; name: string; category: string; count: number };

/**
 * Problems that came back: the same category twice or more from the same origin unit (邻) in the window. The monthly
 * report and a meeting's agenda (恳谈会, 分析会) both list these.
 */
export async function repeatedProblems(db: Db, root: string, window: Window): Promise<Repeated[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${subtree(root)}
      select o.id, o.name, t.category, count(*) as n
      from tickets t join sub on sub.unit_id = t.unit_id join units o on o.id = t.unit_id
      where t.created_at >= ${ts(window.from)} and t.created_at < ${ts(window.to)}
      group by o.id, o.name, t.category
      having count(*) >= 2
      order by n desc, o.id, t.category
      limit 8`,
  );
  return rows.map((r) => ({ unitId: String(r.id), name: String(r.name), category: String(r.category), count: num(r.n) }));
}

export type MonthlyFigures = {
  rootId: string;
  window: Window;
  previous: Window;
  total: number;
  previousTotal: number;
  categories: { category: string; count: number; previous: number }[];
  hotGroups: { unitId: string; name: string; count: number }[];
  repeated: Repeated[];
  reachedTown: { id: number; category: string; at: Date }[];
  scorecards: Scorecard[];
  /** 恳谈会 and 分析会 in the report's calendar month; the groups that had none. */
  meetings: MeetingCounts;
  /** 矛盾调解 in the window: counts only. */
  mediations: MediationCounts;
};

/** The 民情分析 figures of `root`'s subtree (a village or the town). */
export async function monthlyFigures(
  db: Db,
  root: string,
  p: { window: Window; previous: Window; asOf: Date; answerMs: number },
): Promise<MonthlyFigures> {
  const cur = sql`t.created_at >= ${ts(p.window.from)} and t.created_at < ${ts(p.window.to)}`;
  const prev = sql`t.created_at >= ${ts(p.previous.from)} and t.created_at < ${ts(p.previous.to)}`;
  const categories = await queryRows<Record<string, unknown>>(
    db,
    sql`${subtree(root)}
      select t.category, count(*) filter (where ${cur}) as n, count(*) filter (where ${prev}) as prev
      from tickets t join sub on sub.unit_id = t.unit_id
      where t.created_at >= ${ts(p.previous.from)} and t.created_at < ${ts(p.window.to)}
      group by t.category
      order by n desc, prev desc, t.category`,
  );
  // Hot spots: the 组 above each ticket's origin 邻 (or the origin itself when it is a 组).
  const groups = await queryRows<Record<string, unknown>>(
    db,
    sql`${subtree(root)}
      select g.id, g.name, count(*) as n
      from tickets t join sub on sub.unit_id = t.unit_id
        join units o on o.id = t.unit_id
        join units g on g.id = case when o.kind = 'group' then o.id else o.parent_id end and g.kind = 'group'
      where ${cur}
      group by g.id, g.name
      order by n desc, g.id
      limit 5`,
  );
  const town = await queryRows<Record<string, unknown>>(
    db,
    sql`${subtree(root)}
      select t.id, t.category, min(e.at) as at
      from ticket_events e join tickets t on t.id = e.ticket_id join sub on sub.unit_id = t.unit_id
      where e.kind = 'escalated' and e.level = 'town' and e.at >= ${ts(p.window.from)} and e.at < ${ts(p.window.to)}
      group by t.id, t.category
      order by min(e.at), t.id`,
  );
  const cats = categories.map((r) => ({ category: String(r.category), count: num(r.n), previous: num(r.prev) }));
  return {
    rootId: root,
    window: p.window,
    previous: p.previous,
    total: cats.reduce((a, c) => a + c.count, 0),
    previousTotal: cats.reduce((a, c) => a + c.previous, 0),
    categories: cats.filter((c) => c.count > 0 || c.previous > 0),
    hotGroups: groups.map((r) => ({ unitId: String(r.id), name: String(r.name), count: num(r.n) })),
    repeated: await repeatedProblems(db, root, p.window),
    reachedTown: town.map((r) => ({ id: num(r.id), category: String(r.category), at: new Date(r.at as string) })),
    scorecards: await scorecards(db, root, p),
    meetings: await meetingCounts(db, root, monthOf(p.asOf).window),
    mediations: await mediationCounts(db, root, p.window),
  };
}
