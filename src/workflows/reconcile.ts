/**
 * The reconciler makes PostgreSQL's truth happen even when timers were lost (Redis flushed or restarted without
 * persistence, a crash between commit and scheduling): deadlines already past are applied directly, upcoming
 * ones get their wake-up job back, undelivered outbox rows get their delivery job back. Runs at start and
 * periodically on every replica; compare-and-set keeps concurrent runs harmless.
 */
import { and, eq, gt, lt, lte, or, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { tickets } from "../db/schema/index.js";
import { runningDeadline, WAKE_SLOT_MS, wakeJobId, wakeSlot } from "./tickets.js";

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

/** Tickets whose running clock lapses within a wake-up slot (after its start, up to and including its end). */
export async function dueInSlot(db: Db, slot: Date): Promise<number[]> {
  const from = new Date(slot.getTime() - WAKE_SLOT_MS);
  const rows = await db
    .select({ id: tickets.id })
    .from(tickets)
    .where(
      or(
        and(eq(tickets.status, "open"), gt(tickets.answerDueAt, from), lte(tickets.answerDueAt, slot)),
        and(eq(tickets.status, "answered"), gt(tickets.resolveDueAt, from), lte(tickets.resolveDueAt, slot)),
      ),
    );
  return rows.map((r) => r.id);
}

export type WakeJob = { jobId: string; payload: { slot: number }; runAt: Date };

/** The wake-up job of a slot (see wakeSlot). */
export const wakeJob = (slot: Date): WakeJob => ({ jobId: wakeJobId(slot), payload: { slot: slot.getTime() }, runAt: slot });

/** Wake-up jobs that should exist for clocks lapsing before `until`: one per slot. */
export async function upcomingTimers(db: Db, until: Date): Promise<WakeJob[]> {
  const rows = await db
    .select()
    .from(tickets)
    .where(
      or(
        and(eq(tickets.status, "open"), lt(tickets.answerDueAt, until)),
        and(eq(tickets.status, "answered"), lt(tickets.resolveDueAt, until)),
      ),
    );
  const slots = new Map<number, Date>();
  for (const t of rows) {
    const d = runningDeadline(t);
    if (d) slots.set(wakeSlot(d.dueAt).getTime(), wakeSlot(d.dueAt));
  }
  return [...slots.values()].map(wakeJob);
}
