/**
 * A meeting's agenda, drawn from its unit's month (the 组 for a 恳谈会, the village for a 分析会): the tickets still open
 * (the overdue ones first), the problems that came back (same 邻, same category — the monthly report's rule), and
 * how many were reported and resolved in the trailing month.
 */
import { queryRows, sql } from "../../db/client.js";
import type { AgendaSnapshot } from "../../db/schema/index.js";
import { subtreeCte, withRecursive } from "../../db/unit-tree.js";
import { localDayStart, localParts } from "../../lib/time.js";
import type { Ctx } from "../context.js";
import { repeatedProblems } from "../digests/monthly.js";
import type { Window } from "../digests/period.js";

/** Open tickets listed by name in a notice; the rest are counted. */
export const AGENDA_LIST = 6;

export type AgendaTicket = { id: number; category: string; overdue: boolean; text: string };
export type Agenda = { snapshot: AgendaSnapshot; tickets: AgendaTicket[] };

/** The month before `now`: the same day of last month, local midnight, up to now. */
export function trailingMonth(now: Date): Window {
  const p = localParts(now);
  return { from: localDayStart(p.year, p.month - 1, p.day), to: now };
}

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export async function meetingAgenda(ctx: Ctx, unitId: string): Promise<Agenda> {
  const window = trailingMonth(ctx.now);
  const now = ts(ctx.now);
  const sub = withRecursive(subtreeCte("sub", unitId));
  const overdue = sql`((t.status = 'open' and t.answer_due_at < ${now}) or (t.status = 'answered' and t.resolve_due_at < ${now}))`;
  const open = await queryRows<{ id: number; category: string; text: string; overdue: boolean; total: string | number; late: string | number }>(
    ctx.db,
    sql`${sub}
      select t.id, t.category, t.text, ${overdue} as overdue,
        count(*) over () as total, count(*) filter (where ${overdue}) over () as late
      from tickets t join sub on sub.unit_id = t.unit_id
      where t.status in ('open', 'answered')
      order by ${overdue} desc, t.created_at, t.id
      limit ${AGENDA_LIST}`,
  );
  const [month] = await queryRows<{ created: string | number; resolved: string | number }>(
    ctx.db,
    sql`${sub}
      select count(*) filter (where t.created_at >= ${ts(window.from)}) as created,
        count(*) filter (where t.resolved_at >= ${ts(window.from)}) as resolved
      from tickets t join sub on sub.unit_id = t.unit_id
      where t.created_at >= ${ts(window.from)} or t.resolved_at >= ${ts(window.from)}`,
  );
  const repeated = await repeatedProblems(ctx.db, unitId, window);
  const tickets = open.map((r) => ({ id: Number(r.id), category: r.category, overdue: Boolean(r.overdue), text: r.text }));
  return {
    tickets,
    snapshot: {
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      created: Number(month?.created ?? 0),
      resolved: Number(month?.resolved ?? 0),
      open: tickets.map(({ id, category, overdue }) => ({ id, category, overdue })),
      openTotal: Number(open[0]?.total ?? 0),
      overdueTotal: Number(open[0]?.late ?? 0),
      repeated,
    },
  };
}
