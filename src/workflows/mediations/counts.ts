/**
 * 矛盾调解 in the monthly report: numbers only (the article's "调解矛盾纠纷103件" is such a count), never a 事由 or a
 * name. Cases count where they arose (mediations.unit_id) within the report's subtree; outcomes count when they
 * happened (their 台账 line) within the window.
 */
import { type Db, queryRows, sql } from "../../db/client.js";
import { subtreeCte, withRecursive } from "../../db/unit-tree.js";
import type { Window } from "../digests/period.js";

export type MediationCounts = {
  /** Opened in the window. */
  opened: number;
  /** 已调解 in the window, at whatever level. */
  settled: number;
  /** 调解不成 at the top in the window. */
  failed: number;
  /** Times a case went one level up in the window. */
  escalated: number;
  /** Still being mediated at the window's end (opened before it, not settled or failed by then). */
  open: number;
};

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export async function mediationCounts(db: Db, root: string, window: Window): Promise<MediationCounts> {
  const inWindow = (col: ReturnType<typeof sql>) => sql`${col} >= ${ts(window.from)} and ${col} < ${ts(window.to)}`;
  const [r] = await queryRows<Record<string, string | number | null>>(
    db,
    sql`${withRecursive(subtreeCte("sub", root))}, m as (select m.* from mediations m join sub on sub.unit_id = m.unit_id)
      select
        (select count(*) from m where ${inWindow(sql`m.created_at`)}) as opened,
        (select count(*) from mediation_events e join m on m.id = e.mediation_id where e.kind = 'settled' and ${inWindow(sql`e.at`)}) as settled,
        (select count(*) from mediation_events e join m on m.id = e.mediation_id where e.kind = 'failed' and ${inWindow(sql`e.at`)}) as failed,
        (select count(*) from mediation_events e join m on m.id = e.mediation_id where e.kind = 'escalated' and ${inWindow(sql`e.at`)}) as escalated,
        (select count(*) from m where m.created_at < ${ts(window.to)} and (m.closed_at is null or m.closed_at >= ${ts(window.to)})) as open`,
  );
  const n = (k: string) => Number(r?.[k] ?? 0);
  return { opened: n("opened"), settled: n("settled"), failed: n("failed"), escalated: n("escalated"), open: n("open") };
}
