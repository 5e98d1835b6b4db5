CREATE TABLE "visit_choices" (
	"person_id" text NOT NULL,
	"scope" text NOT NULL,
	"chat_id" text,
	"kind" text NOT NULL,
	"channel" text NOT NULL,
	"query" text NOT NULL,
	"note" text,
	"candidates" jsonb NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "visit_choices_person_id_scope_pk" PRIMARY KEY("person_id","scope")
);
--> statement-breakpoint
CREATE TABLE "visits" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"household_id" text,
	"leader_id" text NOT NULL,
	"unit_id" text NOT NULL,
	"kind" text NOT NULL,
	"channel" text NOT NULL,
	"note" text,
	"query" text NOT NULL,
	"status" text NOT NULL,
	"ticket_id" integer,
	"chat_id" text,
	"at" timestamp with time zone NOT NULL,
	"resolved_by_id" text,
	"resolved_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "visit_choices" ADD CONSTRAINT "visit_choices_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visit_choices" ADD CONSTRAINT "visit_choices_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visits" ADD CONSTRAINT "visits_household_id_households_id_fk" FOREIGN KEY ("household_id") REFERENCES "public"."households"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visits" ADD CONSTRAINT "visits_leader_id_people_id_fk" FOREIGN KEY ("leader_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visits" ADD CONSTRAINT "visits_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visits" ADD CONSTRAINT "visits_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visits" ADD CONSTRAINT "visits_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visits" ADD CONSTRAINT "visits_resolved_by_id_people_id_fk" FOREIGN KEY ("resolved_by_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "visit_choices_expires_at_index" ON "visit_choices" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "visits_household_id_kind_at_index" ON "visits" USING btree ("household_id","kind","at");--> statement-breakpoint
CREATE INDEX "visits_unit_id_at_index" ON "visits" USING btree ("unit_id","at");--> statement-breakpoint
CREATE INDEX "visits_leader_id_at_index" ON "visits" USING btree ("leader_id","at");--> statement-breakpoint
CREATE INDEX "visits_unmatched_idx" ON "visits" USING btree ("unit_id","at") WHERE status = 'unmatched';