/**
 * What needs action now, for the overview: overdue tickets (the digest's 逾期 rule, with how long and whose),
 * tickets at town level, and reports of the last 24 hours nobody has answered, most pressing first, at most `limit`
 * rows with the total. The units of the viewer's scope come from the dashboard's tree (one array per query).
 */
import type { SQL } from "drizzle-orm";
import { type Db, sql, textArray } from "../../db/client.js";
import type { UnitKind } from "../../db/schema/index.js";
import { msInterval, overdueAt, overdueSince } from "../../workflows/digests/clock.js";
import { leaderRoleSql } from "../../workflows/directory.js";
import { analyticRows } from "../../db/analytic.js";
import type { ClockRoot } from "./clocks.js";

export type AttentionItem = {
  id: number;
  category: string;
  urgency: string;
  level: UnitKind;
  text: string;
  createdAt: Date;
  /** When it became overdue (the overdue list), else null. */
  dueAt: Date | null;
  holderName: string;
  /** Whose it is: the claimer, else the responsible leaders of the unit holding it (empty: nobody there). */
  who: string[];
  /** The town whose rules apply (its sensitive words mask the text). */
  townId: string;
};
export type AttentionList = { total: number; items: AttentionItem[] };
export type Attention = { overdue: AttentionList; townLevel: AttentionList; unanswered: AttentionList };

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;
const DAY_MS = 86_400_000;
const OPEN = sql`t.status in ('open', 'answered')`;

/**
 * One list: the tickets of `units` (null: every ticket, the admin's whole scope) that `where` picks, the first
 * `limit` by `order` then id, and how many there are. The ids and ranks are found first (on the open tickets' index,
 * without sorting them all: the count and the first rows are two cheap passes), then only the shown rows are joined.
 */
async function list(db: Db, units: string[] | null, townOf: (unitId: string) => string, where: SQL, order: SQL, due: SQL, limit: number): Promise<AttentionList> {
  const rows = await analyticRows<Record<string, unknown>>(
    db,
    sql`with hit as (
        select t.id, ${order} as rk, ${due} as due_at from tickets t
        where ${units ? sql`t.unit_id = any(${textArray(units)})` : sql`true`} and ${where}
      ), top as (select id, rk, due_at from hit order by rk, id limit ${limit})
      select t.id, t.category, t.urgency, t.level, t.text, t.created_at, t.unit_id, top.due_at, (select count(*) from hit) as total,
        hu.name as holder_name, a.name as assignee,
        (select coalesce(json_agg(p.name order by p.id), '[]'::json) from people p
          where p.unit_id = hu.id and p.active and p.role = ${leaderRoleSql(sql`hu.kind`)}) as holders
      from top join tickets t on t.id = top.id join units hu on hu.id = t.holder_unit_id left join people a on a.id = t.assignee_id
      order by top.rk, top.id`,
  );
  return {
    total: Number(rows[0]?.total ?? 0),
    items: rows.map((x) => {
      const holders = typeof x.holders === "string" ? (JSON.parse(x.holders) as string[]) : ((x.holders as string[] | null) ?? []);
      return {
        id: Number(x.id),
        category: String(x.category),
        urgency: String(x.urgency),
        level: x.level as UnitKind,
        text: String(x.text),
        createdAt: new Date(x.created_at as string),
        dueAt: x.due_at ? new Date(x.due_at as string) : null,
        holderName: String(x.holder_name),
        who: x.assignee ? [String(x.assignee)] : holders,
        townId: townOf(String(x.unit_id)),
      };
    }),
  };
}

/** Lists merged in `rank` order. */
async function merged(lists: Promise<AttentionList>[], rank: (i: AttentionItem) => number, limit: number) {
  const all = await Promise.all(lists);
  return {
    total: all.reduce((n, l) => n + l.total, 0),
    items: all
      .flatMap((l) => l.items)
      .sort((a, b) => rank(a) - rank(b) || a.id - b.id)
      .slice(0, limit),
  };
}

/**
 * `everything`: the roots are the whole of the viewer's scope and that is every unit (the admin). Towns that share
 * their clocks are read together (one query per distinct answer and resolution clock, not one per town); the two
 * lists that need no clock are one query each.
 */
export async function attention(db: Db, roots: ClockRoot[], now: Date, limit = 10, everything = false): Promise<Attention> {
  const at = ts(now);
  const townOfUnit = new Map(roots.flatMap((r) => r.unitIds.map((u) => [u, r.townId] as const)));
  const townOf = (unitId: string) => townOfUnit.get(unitId) ?? roots[0]?.townId ?? "";
  const units = (rs: ClockRoot[]) => (everything && rs.length === roots.length ? null : rs.flatMap((r) => r.unitIds));
  const byClock = new Map<string, ClockRoot[]>();
  for (const r of roots) {
    const key = `${r.policy.answerMs}/${r.policy.resolveMs}`;
    byClock.set(key, [...(byClock.get(key) ?? []), r]);
  }
  const towns = [...new Set(roots.map((r) => r.townId))];
  const [overdue, townLevel, unanswered] = await Promise.all([
    merged(
      [...byClock.values()].map((rs) => {
        const policy = (rs[0] as ClockRoot).policy;
        const answer = msInterval(policy.answerMs);
        const resolve = msInterval(policy.resolveMs);
        return list(db, units(rs), townOf, overdueAt(at, answer, resolve), overdueSince(answer, resolve), overdueSince(answer, resolve), limit);
      }),
      (i) => (i.dueAt as Date).getTime(),
      limit,
    ),
    // At town level a ticket is held by its town: the holder's index finds them without looking at the others.
    roots.length === 0
      ? { total: 0, items: [] }
      : list(db, units(roots), townOf, sql`t.holder_unit_id = any(${textArray(towns)}) and ${OPEN} and t.level = 'town'`, sql`t.created_at`, sql`null::timestamptz`, limit),
    roots.length === 0
      ? { total: 0, items: [] }
      : list(
          db,
          units(roots),
          townOf,
          sql`t.status = 'open' and t.first_answered_at is null and t.created_at >= ${ts(new Date(now.getTime() - DAY_MS))} and t.created_at <= ${at}`,
          sql`t.created_at`,
          sql`null::timestamptz`,
          limit,
        ),
  ]);
  return { overdue, townLevel, unanswered };
}
