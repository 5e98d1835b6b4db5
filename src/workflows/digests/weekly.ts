/**
 * The weekly digest's figures, computed with a handful of grouped SQL aggregates for many chats at once (no query
 * per ticket, none per chat). A chat's scope is its unit's whole subtree: a ticket counts for every chat whose unit
 * contains the ticket's origin 邻 (tickets.unit_id).
 *
 * Definitions (also in the README):
 * - 新增: tickets opened in the window.
 * - 响应率: of the window's new tickets whose answer clock is decided (answered, or the clock has run out),
 *   the share first answered (认领 / 回复 / 办结) within the town's answer clock of being opened.
 * - 解决率: of the window's new tickets, the share resolved (已办结 or 已关闭) when the digest is made.
 * - 满意率: of the ratings given in the window (满意 or 不满意), the share 满意.
 * - 办结照片: of the tickets with a 办结 in the window, those with a result photo kept (办结 #n with a photo).
 * - 办结 / 上报 / 重开: tickets with that event in the window; 上报 counted once per ticket at the highest level it
 *   reached in the window.
 * - 逾期 (at the digest time): not resolved, and either unanswered longer than the answer clock since opening or
 *   answered longer than the resolution clock ago.
 * - 未经确认关闭: resolved at least 7 days ago and never rated, or closed in the window without a rating.
 */
import { analytic } from "../../db/analytic.js";
import { type Db, queryRows, sql, textArray } from "../../db/client.js";
import type { Role, UnitKind } from "../../db/schema/index.js";
import { subtreeCte, withRecursive } from "../../db/unit-tree.js";
import { leaderRoleSql } from "../directory.js";
import { givenAnswerDue, msInterval as ms, overdueAt } from "./clock.js";
import type { UnitCoverage } from "./coverage.js";
import type { Window } from "./period.js";

export type DigestScope = { chatId: string; unitId: string };

export type OverdueItem = { id: number; level: UnitKind; category: string; ageMs: number; holders: string[] };
export type LeaderStat = { personId: string; name: string; role: Role; answered: number; inTime: number; fastestMs: number };

export type WeeklyFigures = {
  chatId: string;
  unitId: string;
  window: Window;
  asOf: Date;
  answerMs: number;
  created: number;
  /** New tickets whose answer clock is decided, and those answered within it. */
  answerDecided: number;
  answeredInTime: number;
  /** New tickets resolved by the digest time. */
  resolvedOfNew: number;
  /** Tickets resolved (办结 event) in the window. */
  resolved: number;
  /** Of those, the ones with a result photo kept. */
  resolvedWithPhoto: number;
  /** Tickets escalated in the window, by the highest level reached. */
  escalated: Partial<Record<UnitKind, number>>;
  rated: number;
  satisfied: number;
  reopened: number;
  unconfirmed: number;
  overdue: { count: number; oldest: OverdueItem[] };
  /** The week's fastest answerers (candidates for 本周好邻). */
  stars: LeaderStat[];
  coverage: UnitCoverage | null;
};

export type FigureParams = {
  window: Window;
  asOf: Date;
  answerMs: number;
  resolveMs: number;
  unconfirmedMs?: number;
  /** Name the units in the queries up to this many (default UNITS_NAMED); past it, read every unit's rows once. */
  namedUnits?: number;
};

export const UNCONFIRMED_MS = 7 * 86_400_000;
const OVERDUE_SHOWN = 5;
const STARS_SHOWN = 3;

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

type Row = Record<string, unknown> & { unit_id: string };
const num = (v: unknown) => Number(v ?? 0);

function empty(s: DigestScope, p: FigureParams): WeeklyFigures {
  return {
    chatId: s.chatId,
    unitId: s.unitId,
    window: p.window,
    asOf: p.asOf,
    answerMs: p.answerMs,
    created: 0,
    answerDecided: 0,
    answeredInTime: 0,
    resolvedOfNew: 0,
    resolved: 0,
    resolvedWithPhoto: 0,
    escalated: {},
    rated: 0,
    satisfied: 0,
    reopened: 0,
    unconfirmed: 0,
    overdue: { count: 0, oldest: [] },
    stars: [],
    coverage: null,
  };
}

const LEVEL_RANK = sql`case e.level when 'neighborhood' then 0 when 'group' then 1 when 'area' then 2 when 'village' then 3 when 'town' then 4 end`;
const RANK_LEVEL: UnitKind[] = ["neighborhood", "group", "area", "village", "town"];

/**
 * Up to this many units the figure queries name them (index scans by unit; 周报 in one chat names a handful). Past it
 * (a town's or a province's fan-out) they read the window once for every unit and keep the ones asked for: one pass
 * whatever the number of chats, instead of a pass per batch of named units.
 */
const UNITS_NAMED = 2000;

/** Each chat's units (its unit's whole subtree), walked once for all the chats (src/db/unit-tree.ts). */
async function unitsOfChats(db: Db, scopes: DigestScope[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(scopes.map((s) => [s.chatId, []]));
  const seed = sql`select * from unnest(${textArray(scopes.map((s) => s.chatId))}, ${textArray(scopes.map((s) => s.unitId))}) as v(chat_id, unit_id)`;
  const rows = await queryRows<{ chat_id: string; unit_id: string }>(
    db,
    sql`${withRecursive(subtreeCte("scope", seed, ["chat_id"]))} select chat_id, unit_id from scope`,
  );
  for (const r of rows) out.get(r.chat_id)?.push(r.unit_id);
  return out;
}

/** Per-unit figures: every figure of a chat is a sum (or a merge) over the units of its subtree. */
type UnitFigures = Pick<
  WeeklyFigures,
  | "created"
  | "answerDecided"
  | "answeredInTime"
  | "resolvedOfNew"
  | "resolved"
  | "resolvedWithPhoto"
  | "escalated"
  | "rated"
  | "satisfied"
  | "reopened"
  | "unconfirmed"
> & {
  overdue: number;
  /** The unit's oldest overdue tickets (at most OVERDUE_SHOWN), with their creation time in µs for merging. */
  oldest: (Omit<OverdueItem, "holders"> & { createdUs: number; holderUnitId: string })[];
  /** Per answering leader: first answers in the window, those within the clock, the fastest. */
  answerers: Map<string, Omit<LeaderStat, "personId">>;
};

const emptyUnit = (): UnitFigures => ({
  created: 0,
  answerDecided: 0,
  answeredInTime: 0,
  resolvedOfNew: 0,
  resolved: 0,
  resolvedWithPhoto: 0,
  escalated: {},
  rated: 0,
  satisfied: 0,
  reopened: 0,
  unconfirmed: 0,
  overdue: 0,
  oldest: [],
  answerers: new Map(),
});

/**
 * Figures for many chats over one window (chats of one town: one answer clock). Each query aggregates per unit, once
 * for every unit any of the chats covers (however many chats cover it: a village's chat and its groups' chats share
 * the rows), and each chat's figures are then added up from its units here. No recursive CTE in the figure queries:
 * its row estimate (a hundred times the roots) made the planner cost them in millions and JIT-compile each one.
 */
export async function weeklyFigures(db: Db, scopes: DigestScope[], p: FigureParams): Promise<Map<string, WeeklyFigures>> {
  const out = new Map<string, WeeklyFigures>();
  for (const s of scopes) out.set(s.chatId, empty(s, p));
  if (scopes.length === 0) return out;
  const unitsOf = await unitsOfChats(db, scopes);
  const units = [...new Set([...unitsOf.values()].flat())];
  const perUnit = new Map<string, UnitFigures>(units.map((u) => [u, emptyUnit()]));
  const few = units.length <= (p.namedUnits ?? UNITS_NAMED);
  // Planner settings for their transaction (src/db/analytic.ts): JIT off — compiling cost 1.5–2 s a query for plans
  // that ran in 0.1 s. For a few named units (周报 on demand) no parallel workers: starting them cost 30–80 ms a query
  // on a busy machine, for index scans of a few hundred rows. For the fan-out's whole-window pass 64 MB to sort in:
  // the overdue query sorts every open ticket by unit and age, which spilled to disk at 4 MB.
  await analytic(db, (tx) => unitFigures(tx, few ? units : null, p, perUnit), few ? { max_parallel_workers_per_gather: "0" } : { work_mem: "64MB" });
  const shown: { item: OverdueItem; holderUnitId: string }[] = [];
  for (const s of scopes) {
    const f = out.get(s.chatId) as WeeklyFigures;
    const stars = new Map<string, LeaderStat>();
    let oldest: UnitFigures["oldest"] = [];
    for (const u of unitsOf.get(s.chatId) ?? []) {
      const x = perUnit.get(u) as UnitFigures;
      f.created += x.created;
      f.answerDecided += x.answerDecided;
      f.answeredInTime += x.answeredInTime;
      f.resolvedOfNew += x.resolvedOfNew;
      f.resolved += x.resolved;
      f.resolvedWithPhoto += x.resolvedWithPhoto;
      for (const [level, n] of Object.entries(x.escalated)) f.escalated[level as UnitKind] = (f.escalated[level as UnitKind] ?? 0) + n;
      f.rated += x.rated;
      f.satisfied += x.satisfied;
      f.reopened += x.reopened;
      f.unconfirmed += x.unconfirmed;
      f.overdue.count += x.overdue;
      if (x.oldest.length) oldest = oldest.concat(x.oldest);
      for (const [personId, a] of x.answerers) {
        const was = stars.get(personId);
        if (!was) stars.set(personId, { personId, ...a });
        else {
          was.answered += a.answered;
          was.inTime += a.inTime;
          was.fastestMs = Math.min(was.fastestMs, a.fastestMs);
        }
      }
    }
    oldest.sort((a, b) => a.createdUs - b.createdUs || a.id - b.id);
    f.overdue.oldest = oldest.slice(0, OVERDUE_SHOWN).map(({ createdUs: _, holderUnitId, ...rest }) => {
      const item = { ...rest, holders: [] };
      shown.push({ item, holderUnitId });
      return item;
    });
    f.stars = [...stars.values()]
      .filter((a) => a.inTime > 0)
      .sort((a, b) => b.inTime - a.inTime || a.fastestMs - b.fastestMs || (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0))
      .slice(0, STARS_SHOWN);
  }
  // Who holds each shown overdue ticket: the active leaders of its holder unit, by name.
  const holders = await holdersOf(db, [...new Set(shown.map((x) => x.holderUnitId))]);
  for (const { item, holderUnitId } of shown) item.holders = holders.get(holderUnitId) ?? [];
  return out;
}

async function holdersOf(db: Db, unitIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (unitIds.length === 0) return out;
  const rows = await queryRows<{ id: string; name: string }>(
    db,
    sql`select hu.id, p.name from units hu join people p on p.unit_id = hu.id
      where hu.id = any(${textArray(unitIds)}) and p.active and p.role = ${leaderRoleSql(sql`hu.kind`)}
      order by hu.id, p.id`,
  );
  for (const r of rows) {
    const names = out.get(r.id);
    if (names) names.push(r.name);
    else out.set(r.id, [r.name]);
  }
  return out;
}

/** Fills `perUnit` for the named units (`named`), or for those of `perUnit` read from every unit's rows (null). */
async function unitFigures(db: Db, named: string[] | null, p: FigureParams, perUnit: Map<string, UnitFigures>) {
  const inUnits = named
    ? sql`t.unit_id in (${sql.join(
        named.map((u) => sql`${u}::text`),
        sql`, `,
      )})`
    : sql`true`;
  const { from, to } = p.window;
  const asOf = ts(p.asOf);
  const answer = ms(p.answerMs);
  const none = emptyUnit();
  // A unit no chat asked for (read when not named) lands in a figure nobody reads.
  const get = (r: Row) => perUnit.get(r.unit_id) ?? none;

  const created = await queryRows<Row>(
    db,
    sql`select t.unit_id,
        count(*) as created,
        count(*) filter (where t.first_answered_at is not null or ${givenAnswerDue(answer)} <= ${asOf}) as decided,
        count(*) filter (where t.first_answered_at <= ${givenAnswerDue(answer)}) as in_time,
        count(*) filter (where t.status in ('resolved', 'closed')) as resolved_of_new
      from tickets t
      where ${inUnits} and t.created_at >= ${ts(from)} and t.created_at < ${ts(to)}
      group by t.unit_id`,
  );
  for (const r of created) {
    const f = get(r);
    f.created = num(r.created);
    f.answerDecided = num(r.decided);
    f.answeredInTime = num(r.in_time);
    f.resolvedOfNew = num(r.resolved_of_new);
  }

  // A ticket lies in one unit, so distinct tickets per unit add up to distinct tickets per chat.
  const events = await queryRows<Row>(
    db,
    sql`select t.unit_id,
        count(distinct e.ticket_id) filter (where e.kind = 'resolved') as resolved,
        count(distinct e.ticket_id) filter (where e.kind = 'resolved' and exists (select 1 from ticket_media m
          where m.ticket_id = e.ticket_id and m.role = 'result' and m.status = 'stored')) as resolved_with_photo,
        count(*) filter (where e.kind = 'rated') as satisfied,
        count(*) filter (where e.kind in ('rated', 'reopened')) as rated,
        count(*) filter (where e.kind = 'reopened') as reopened
      from ticket_events e join tickets t on t.id = e.ticket_id
      where ${inUnits}
        and e.kind in ('resolved', 'rated', 'reopened') and e.at >= ${ts(from)} and e.at < ${ts(to)}
      group by t.unit_id`,
  );
  for (const r of events) {
    const f = get(r);
    f.resolved = num(r.resolved);
    f.resolvedWithPhoto = num(r.resolved_with_photo);
    f.satisfied = num(r.satisfied);
    f.rated = num(r.rated);
    f.reopened = num(r.reopened);
  }

  const escalations = await queryRows<Row>(
    db,
    sql`select unit_id, top, count(*) as n from (
        select t.unit_id, e.ticket_id, max(${LEVEL_RANK}) as top
        from ticket_events e join tickets t on t.id = e.ticket_id
        where ${inUnits} and e.kind = 'escalated' and e.at >= ${ts(from)} and e.at < ${ts(to)}
        group by t.unit_id, e.ticket_id
      ) x group by unit_id, top`,
  );
  for (const r of escalations) {
    const level = RANK_LEVEL[num(r.top)] ?? "town";
    get(r).escalated[level] = num(r.n);
  }

  const overdue = await queryRows<Row>(
    db,
    sql`select * from (
        select t.unit_id, t.id, t.level, t.category, t.holder_unit_id,
          (extract(epoch from t.created_at) * 1000000)::bigint as created_us,
          (extract(epoch from (${asOf} - t.created_at)) * 1000)::bigint as age_ms,
          count(*) over (partition by t.unit_id) as total,
          row_number() over (partition by t.unit_id order by t.created_at, t.id) as rn
        from tickets t
        where ${inUnits} and ${overdueAt(asOf, answer, ms(p.resolveMs))}
      ) late where rn <= ${OVERDUE_SHOWN}`,
  );
  for (const r of overdue) {
    const f = get(r);
    if (f === none) continue;
    f.overdue = num(r.total);
    f.oldest.push({
      id: num(r.id),
      level: r.level as UnitKind,
      category: String(r.category),
      ageMs: num(r.age_ms),
      createdUs: num(r.created_us),
      holderUnitId: String(r.holder_unit_id),
    });
  }

  const unconfirmed = await queryRows<Row>(
    db,
    sql`select t.unit_id, count(*) as n
      from tickets t
      where ${inUnits}
        and ((t.status = 'resolved' and t.resolved_at <= ${asOf} - ${ms(p.unconfirmedMs ?? UNCONFIRMED_MS)})
          or (t.status = 'closed' and t.rating is null and t.closed_at >= ${ts(from)} and t.closed_at < ${ts(to)}))
      group by t.unit_id`,
  );
  for (const r of unconfirmed) get(r).unconfirmed = num(r.n);

  // Each ticket's first answer in the window (the event at its first_answered_at), by who gave it, per unit.
  const answerers = await queryRows<Row>(
    db,
    sql`with firsts as (
        select distinct on (e.ticket_id) e.ticket_id, e.actor_id, t.unit_id,
          extract(epoch from (t.first_answered_at - t.created_at)) * 1000 as took_ms
        from ticket_events e join tickets t on t.id = e.ticket_id and t.first_answered_at = e.at
        where ${inUnits}
          and e.kind in ('claimed', 'replied', 'resolved') and e.actor_id is not null
          and e.at >= ${ts(from)} and e.at < ${ts(to)}
        order by e.ticket_id, e.id
      )
      select f.unit_id, f.actor_id, p.name, p.role, count(*) as answered,
        count(*) filter (where f.took_ms <= ${p.answerMs}) as in_time,
        min(f.took_ms)::bigint as fastest
      from firsts f join people p on p.id = f.actor_id
      group by f.unit_id, f.actor_id, p.name, p.role`,
  );
  for (const r of answerers) {
    const f = get(r);
    if (f === none) continue;
    f.answerers.set(String(r.actor_id), {
      name: String(r.name),
      role: r.role as Role,
      answered: num(r.answered),
      inTime: num(r.in_time),
      fastestMs: num(r.fastest),
    });
  }
}
