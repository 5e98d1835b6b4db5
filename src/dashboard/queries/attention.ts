/**
 * What needs action now, for the overview: overdue tickets (the digest's 逾期 rule, with how long and whose),
 * tickets at town level, and reports of the last 24 hours nobody has answered. Each list is one query per town in
 * the viewer's scope (its subtree joined on tickets' (unit_id, status) index), most pressing first, at most `limit`
 * rows with the total.
 */
import type { SQL } from "drizzle-orm";
import { type Db, queryRows, sql } from "../../db/client.js";
import type { UnitKind } from "../../db/schema/index.js";
import { withRecursive } from "../../db/unit-tree.js";
import { msInterval, overdueAt, overdueSince } from "../../workflows/digests/clock.js";
import { leaderRoleSql } from "../../workflows/directory.js";
import { unitsCte } from "../tree.js";
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

/** One list for one town: `order` ranks the hits (most pressing first), `due` is their overdue instant or null. */
async function list(db: Db, r: ClockRoot, where: SQL, order: SQL, due: SQL, limit: number): Promise<AttentionList> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${withRecursive(unitsCte("sub", r.unitIds))}, hit as (
        select t.id, t.category, t.urgency, t.level, t.text, t.created_at, t.holder_unit_id, t.assignee_id,
          ${due} as due_at, count(*) over () as total, row_number() over (order by ${order}, t.id) as rn
        from tickets t join sub on sub.unit_id = t.unit_id
        where ${where}
        order by rn
        limit ${limit}
      )
      select hit.*, hu.name as holder_name, a.name as assignee,
        (select coalesce(json_agg(p.name order by p.id), '[]'::json) from people p
          where p.unit_id = hu.id and p.active and p.role = ${leaderRoleSql(sql`hu.kind`)}) as holders
      from hit join units hu on hu.id = hit.holder_unit_id left join people a on a.id = hit.assignee_id
      order by hit.rn`,
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
        townId: r.townId,
      };
    }),
  };
}

/** The same list over every town of the scope, merged in `rank` order. */
async function merged(roots: ClockRoot[], one: (r: ClockRoot) => Promise<AttentionList>, rank: (i: AttentionItem) => number, limit: number) {
  const lists = await Promise.all(roots.map(one));
  return {
    total: lists.reduce((n, l) => n + l.total, 0),
    items: lists
      .flatMap((l) => l.items)
      .sort((a, b) => rank(a) - rank(b) || a.id - b.id)
      .slice(0, limit),
  };
}

export async function attention(db: Db, roots: ClockRoot[], now: Date, limit = 10): Promise<Attention> {
  const at = ts(now);
  const [overdue, townLevel, unanswered] = await Promise.all([
    merged(
      roots,
      (r) => {
        const answer = msInterval(r.policy.answerMs);
        const resolve = msInterval(r.policy.resolveMs);
        return list(db, r, overdueAt(at, answer, resolve), overdueSince(answer, resolve), overdueSince(answer, resolve), limit);
      },
      (i) => (i.dueAt as Date).getTime(),
      limit,
    ),
    merged(roots, (r) => list(db, r, sql`${OPEN} and t.level = 'town'`, sql`t.created_at`, sql`null::timestamptz`, limit), (i) => i.createdAt.getTime(), limit),
    merged(
      roots,
      (r) =>
        list(
          db,
          r,
          sql`t.status = 'open' and t.first_answered_at is null and t.created_at >= ${ts(new Date(now.getTime() - DAY_MS))} and t.created_at <= ${at}`,
          sql`t.created_at`,
          sql`null::timestamptz`,
          limit,
        ),
      (i) => i.createdAt.getTime(),
      limit,
    ),
  ]);
  return { overdue, townLevel, unanswered };
}
