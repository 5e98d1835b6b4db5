ALTER TABLE "tickets" ADD COLUMN "given_answer_due_at" timestamp with time zone;--> statement-breakpoint
-- The answer clock each ticket was given, until now only on its opened event: copied to the row once, so figures
-- read it without one ticket_events lookup per ticket.
UPDATE "tickets" t SET "given_answer_due_at" = (o."data" ->> 'answerDueAt')::timestamptz
FROM (
  SELECT DISTINCT ON ("ticket_id") "ticket_id", "data" FROM "ticket_events" WHERE "kind" = 'opened' ORDER BY "ticket_id", "id"
) o
WHERE o."ticket_id" = t."id" AND o."data" ? 'answerDueAt';
