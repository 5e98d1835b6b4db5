/**
 * The reconciler makes PostgreSQL's truth happen even when timers were lost (Redis flushed or restarted without
 * persistence, a crash between commit and scheduling): deadlines already past are applied directly, upcoming
 * ones get their wake-up job back, undelivered outbox rows get their delivery job back. Runs at start and
 * periodically on every replica; compare-and-set keeps concurrent runs harmless.
 */
import { and, eq, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { tickets } from "../db/schema/index.js";
import { deadlineJobId, runningDeadline } from "./tickets.js";

export type DueTicket = { id: number; due: Date };

/** Tickets whose running clock lapsed before `before`, oldest first. */
export async function lapsedDeadlines(db: Db, before: Date, limit: number): Promise<DueTicket[]> {
  const rows = await db
    .select()
    .from(tickets)
    .where(
      or(
        and(eq(tickets.status, "open"), lt(tickets.answerDueAt, before)),
        and(eq(tickets.status, "answered"), lt(tickets.resolveDueAt, before)),
      ),
    )
    // Oldest first across the whole table, not just within the rows the limit happens to return.
    .orderBy(sql`case when ${tickets.status} = 'open' then ${tickets.answerDueAt} else ${tickets.resolveDueAt} end`)
    .limit(limit);
  return rows
    .map((t) => ({ id: t.id, due: runningDeadline(t)?.dueAt as Date }))
    .sort((a, b) => a.due.getTime() - b.due.getTime());
}

/** Wake-up jobs that should exist for clocks lapsing before `until`. */
export async function upcomingTimers(db: Db, until: Date) {
  const rows = await db
    .select()
    .from(tickets)
    .where(
      or(
        and(eq(tickets.status, "open"), lt(tickets.answerDueAt, until)),
        and(eq(tickets.status, "answered"), lt(tickets.resolveDueAt, until)),
      ),
    );
  return rows.flatMap((t) => {
    const jobId = deadlineJobId(t);
    const d = runningDeadline(t);
    return jobId && d ? [{ jobId, payload: { ticketId: t.id }, runAt: d.dueAt }] : [];
  });
}
