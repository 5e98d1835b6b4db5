/**
 * The reconciler makes PostgreSQL's truth happen even when timers were lost (Redis flushed or restarted without
 * persistence, a crash between commit and scheduling): deadlines already past are applied directly, upcoming
 * ones get their wake-up job back, undelivered outbox rows get their delivery job back. Runs at start and
 * periodically on every replica; compare-and-set keeps concurrent runs harmless.
 */
import { and, eq, gt, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { tickets } from "../db/schema/index.js";
import { runningDeadline, WAKE_SLOT_MS, type WakeJob, wakeJob } from "./tickets.js";

export type DueTicket = { id: number; due: Date };

type DueColumn = typeof tickets.answerDueAt | typeof tickets.resolveDueAt;

/** Tickets whose running clock (see runningDeadline) meets `cond`: the answer clock while open, else the resolution one. */
const runningClock = (cond: (dueAt: DueColumn) => SQL | undefined) =>
  or(and(eq(tickets.status, "open"), cond(tickets.answerDueAt)), and(eq(tickets.status, "answered"), cond(tickets.resolveDueAt)));

/** Tickets whose running clock lapsed before `before`, oldest first. */
export async function lapsedDeadlines(db: Db, before: Date, limit: number): Promise<DueTicket[]> {
  const rows = await db
    .select()
    .from(tickets)
    .where(runningClock((due) => lt(due, before)))
    // Oldest first across the whole table, not just within the rows the limit happens to return.
    .orderBy(sql`case when ${tickets.status} = 'open' then ${tickets.answerDueAt} else ${tickets.resolveDueAt} end`)
    .limit(limit);
  return rows
    .map((t) => ({ id: t.id, due: runningDeadline(t)?.dueAt as Date }))
    .sort((a, b) => a.due.getTime() - b.due.getTime());
}

/** Tickets whose running clock lapses within a wake-up slot (after its start, up to and including its end). */
export function inSlot(slot: Date): SQL | undefined {
  const from = new Date(slot.getTime() - WAKE_SLOT_MS);
  return runningClock((due) => and(gt(due, from), lte(due, slot)));
}

/**
 * Wake-up jobs that should exist for clocks lapsing before `until`: one per slot. The slots are computed by the
 * database (as wakeSlot does: the clock's millisecond, rounded up to the slot), so a pass reads one number per slot,
 * not every ticket's row.
 */
export async function upcomingTimers(db: Db, until: Date): Promise<WakeJob[]> {
  const width = sql.raw(String(WAKE_SLOT_MS));
  const due = sql`case when ${tickets.status} = 'open' then ${tickets.answerDueAt} else ${tickets.resolveDueAt} end`;
  const rows = await db
    .selectDistinct({ slot: sql<string>`ceil(floor(extract(epoch from ${due}) * 1000) / ${width})::bigint * ${width}` })
    .from(tickets)
    .where(runningClock((d) => lt(d, until)));
  return rows.map((r) => wakeJob(new Date(Number(r.slot))));
}
