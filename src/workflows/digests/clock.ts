/**
 * The answer clock a ticket was given when it was opened, as SQL over a `tickets t` row: kept on the row
 * (`given_answer_due_at`, also `answerDueAt` on its opened event), so figures judge each ticket by its own clock even
 * after the town changes its policy. Tickets opened before the clock was recorded fall back to `answer` (today's
 * clock). One rule for digests, scorecards and the per-unit table. (It used to be read from the opened event, one
 * index lookup per ticket: the export's all-time per-unit sheet did a million of them.)
 */
import type { SQL } from "drizzle-orm";
import { sql } from "../../db/client.js";

export const givenAnswerDue = (answer: SQL): SQL => sql`coalesce(t.given_answer_due_at, t.created_at + ${answer})`;

/** A duration as an SQL interval. */
export const msInterval = (n: number): SQL => sql`(${Math.round(n)}::bigint * interval '1 millisecond')`;

/**
 * 逾期 at `asOf`, over a `tickets t` row: not resolved, and either unanswered longer than the answer clock since it
 * was opened or answered longer than the resolution clock ago. One rule for the weekly digest and the dashboard.
 */
export const overdueAt = (asOf: SQL, answer: SQL, resolve: SQL): SQL =>
  sql`(t.status in ('open', 'answered') and t.created_at < ${asOf}
    and ((t.first_answered_at is null and t.created_at + ${answer} <= ${asOf})
      or (t.first_answered_at is not null and t.first_answered_at + ${resolve} <= ${asOf})))`;

/** When a ticket became (or becomes) overdue under `overdueAt`. */
export const overdueSince = (answer: SQL, resolve: SQL): SQL =>
  sql`(case when t.first_answered_at is null then t.created_at + ${answer} else t.first_answered_at + ${resolve} end)`;
