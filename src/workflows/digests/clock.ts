/**
 * The answer clock a ticket was given when it was opened, as SQL over a `tickets t` row: written on its opened event
 * (`answerDueAt`), so figures judge each ticket by its own clock even after the town changes its policy. Tickets
 * opened before the clock was recorded fall back to `answer` (today's clock). One rule for digests and scorecards.
 */
import type { SQL } from "drizzle-orm";
import { sql } from "../../db/client.js";

export const givenAnswerDue = (answer: SQL): SQL =>
  sql`coalesce((select (o.data ->> 'answerDueAt')::timestamptz from ticket_events o
    where o.ticket_id = t.id and o.kind = 'opened' order by o.id limit 1), t.created_at + ${answer})`;
