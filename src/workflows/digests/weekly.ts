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
import type { SQL } from "drizzle-orm";
import { type Db, queryRows, sql } from "../../db/client.js";
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

export type FigureParams = { window: Window; asOf: Date; answerMs: number; resolveMs: number; unconfirmedMs?: number };

export const UNCONFIRMED_MS = 7 * 86_400_000;
const OVERDUE_SHOWN = 5;
const STARS_SHOWN = 3;

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/** Each chat with every unit of its unit's subtree. */
function scopeCte(scopes: DigestScope[]): SQL {
  const values = sql.join(
    scopes.map((s) => sql`(${s.chatId}::text, ${s.unitId}::text)`),
    sql`, `,
  );
  return withRecursive(subtreeCte("scope", sql`select * from (values ${values}) as v(chat_id, unit_id)`, ["chat_id"]));
}

type Row = Record<string, unknown> & { chat_id: string };
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

/** Figures for many chats over one window (chats of one town: one answer clock). Chats in batches of 500. */
export async function weeklyFigures(db: Db, scopes: DigestScope[], p: FigureParams): Promise<Map<string, WeeklyFigures>> {
  const out = new Map<string, WeeklyFigures>();
  for (const s of scopes) out.set(s.chatId, empty(s, p));
  for (let i = 0; i < scopes.length; i += 500) await batch(db, scopes.slice(i, i + 500), p, out);
  return out;
}

async function batch(db: Db, scopes: DigestScope[], p: FigureParams, out: Map<string, WeeklyFigures>) {
  const scope = scopeCte(scopes);
  const { from, to } = p.window;
  const asOf = ts(p.asOf);
  const answer = ms(p.answerMs);
  const get = (r: Row) => out.get(r.chat_id) as WeeklyFigures;

  const created = await queryRows<Row>(
    db,
    sql`${scope}
      select s.chat_id,
        count(*) as created,
        count(*) filter (where t.first_answered_at is not null or ${givenAnswerDue(answer)} <= ${asOf}) as decided,
        count(*) filter (where t.first_answered_at <= ${givenAnswerDue(answer)}) as in_time,
        count(*) filter (where t.status in ('resolved', 'closed')) as resolved_of_new
      from scope s join tickets t on t.unit_id = s.unit_id
      where t.created_at >= ${ts(from)} and t.created_at < ${ts(to)}
      group by s.chat_id`,
  );
  for (const r of created) {
    const f = get(r);
    f.created = num(r.created);
    f.answerDecided = num(r.decided);
    f.answeredInTime = num(r.in_time);
    f.resolvedOfNew = num(r.resolved_of_new);
  }

  const events = await queryRows<Row>(
    db,
    sql`${scope}
      select s.chat_id,
        count(distinct e.ticket_id) filter (where e.kind = 'resolved') as resolved,
        count(distinct e.ticket_id) filter (where e.kind = 'resolved' and exists (select 1 from ticket_media m
          where m.ticket_id = e.ticket_id and m.role = 'result' and m.status = 'stored')) as resolved_with_photo,
        count(*) filter (where e.kind = 'rated') as satisfied,
        count(*) filter (where e.kind in ('rated', 'reopened')) as rated,
        count(*) filter (where e.kind = 'reopened') as reopened
      from ticket_events e
        join tickets t on t.id = e.ticket_id
        join scope s on s.unit_id = t.unit_id
      where e.kind in ('resolved', 'rated', 'reopened') and e.at >= ${ts(from)} and e.at < ${ts(to)}
      group by s.chat_id`,
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
    sql`${scope}
      select chat_id, top, count(*) as n from (
        select s.chat_id, e.ticket_id, max(${LEVEL_RANK}) as top
        from ticket_events e
          join tickets t on t.id = e.ticket_id
          join scope s on s.unit_id = t.unit_id
        where e.kind = 'escalated' and e.at >= ${ts(from)} and e.at < ${ts(to)}
        group by s.chat_id, e.ticket_id
      ) x group by chat_id, top`,
  );
  for (const r of escalations) {
    const level = RANK_LEVEL[num(r.top)] ?? "town";
    get(r).escalated[level] = num(r.n);
  }

  const overdue = await queryRows<Row>(
    db,
    sql`${scope}, late as (
        select s.chat_id, t.id, t.level, t.category, t.created_at, t.holder_unit_id,
          count(*) over (partition by s.chat_id) as total,
          row_number() over (partition by s.chat_id order by t.created_at, t.id) as rn
        from tickets t join scope s on s.unit_id = t.unit_id
        where ${overdueAt(asOf, answer, ms(p.resolveMs))}
      )
      select l.chat_id, l.id, l.level, l.category, l.total,
        (extract(epoch from (${asOf} - l.created_at)) * 1000)::bigint as age_ms,
        (select coalesce(json_agg(p.name order by p.id), '[]'::json)
           from units hu join people p on p.unit_id = hu.id
           where hu.id = l.holder_unit_id and p.active and p.role = ${leaderRoleSql(sql`hu.kind`)}) as holders
      from late l where l.rn <= ${OVERDUE_SHOWN}
      order by l.chat_id, l.rn`,
  );
  for (const r of overdue) {
    const f = get(r);
    f.overdue.count = num(r.total);
    const holders = typeof r.holders === "string" ? (JSON.parse(r.holders) as string[]) : ((r.holders as string[]) ?? []);
    f.overdue.oldest.push({
      id: num(r.id),
      level: r.level as UnitKind,
      category: String(r.category),
      ageMs: num(r.age_ms),
      holders,
    });
  }

  const unconfirmed = await queryRows<Row>(
    db,
    sql`${scope}
      select s.chat_id, count(*) as n
      from tickets t join scope s on s.unit_id = t.unit_id
      where (t.status = 'resolved' and t.resolved_at <= ${asOf} - ${ms(p.unconfirmedMs ?? UNCONFIRMED_MS)})
         or (t.status = 'closed' and t.rating is null and t.closed_at >= ${ts(from)} and t.closed_at < ${ts(to)})
      group by s.chat_id`,
  );
  for (const r of unconfirmed) get(r).unconfirmed = num(r.n);

  const stars = await queryRows<Row>(
    db,
    sql`${scope}, firsts as (
        select distinct on (e.ticket_id) e.ticket_id, e.actor_id, t.unit_id,
          extract(epoch from (t.first_answered_at - t.created_at)) * 1000 as took_ms
        from ticket_events e join tickets t on t.id = e.ticket_id and t.first_answered_at = e.at
        -- Narrow to the chats' units first: for one chat (周报 on demand) this avoids ranking the whole town's week.
        where t.unit_id in (select unit_id from scope)
          and e.kind in ('claimed', 'replied', 'resolved') and e.actor_id is not null
          and e.at >= ${ts(from)} and e.at < ${ts(to)}
        order by e.ticket_id, e.id
      ), ranked as (
        select s.chat_id, f.actor_id, count(*) as answered,
          count(*) filter (where f.took_ms <= ${p.answerMs}) as in_time,
          min(f.took_ms)::bigint as fastest,
          row_number() over (partition by s.chat_id
            order by count(*) filter (where f.took_ms <= ${p.answerMs}) desc, min(f.took_ms), f.actor_id) as rn
        from firsts f join scope s on s.unit_id = f.unit_id
        group by s.chat_id, f.actor_id
      )
      select r.chat_id, r.actor_id, p.name, p.role, r.answered, r.in_time, r.fastest
      from ranked r join people p on p.id = r.actor_id
      where r.rn <= ${STARS_SHOWN} and r.in_time > 0
      order by r.chat_id, r.rn`,
  );
  for (const r of stars) {
    get(r).stars.push({
      personId: String(r.actor_id),
      name: String(r.name),
      role: r.role as Role,
      answered: num(r.answered),
      inTime: num(r.in_time),
      fastestMs: num(r.fastest),
    });
  }
}
