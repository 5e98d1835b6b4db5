CREATE TABLE "pending_reports" (
	"person_key" text NOT NULL,
	"chat_id" text NOT NULL,
	"text" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pending_reports_person_key_chat_id_pk" PRIMARY KEY("person_key","chat_id")
);
--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "on_behalf" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "requester_name" text;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "reminder_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "visit_choices" ADD COLUMN "purpose" text DEFAULT 'visit' NOT NULL;--> statement-breakpoint
ALTER TABLE "pending_reports" ADD CONSTRAINT "pending_reports_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pending_reports_expires_at_index" ON "pending_reports" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "tickets_household_id_status_index" ON "tickets" USING btree ("household_id","status");--> statement-breakpoint
-- Hand-written (carry over when regenerating): existing data in the new columns.
-- 代报 tickets were marked only on their "opened" event until now.
UPDATE "tickets" t SET "on_behalf" = true FROM "ticket_events" e
  WHERE e."ticket_id" = t."id" AND e."kind" = 'opened' AND (e."data" ->> 'onBehalf')::boolean;--> statement-breakpoint
-- Reminders at the top were counted in escalation_count: move them to reminder_count.
UPDATE "tickets" t SET "reminder_count" = r.n, "escalation_count" = greatest(0, t."escalation_count" - r.n)
  FROM (SELECT "ticket_id", count(*)::int AS n FROM "ticket_events" WHERE "kind" = 'repinged' GROUP BY "ticket_id") r
  WHERE r."ticket_id" = t."id";
