CREATE TABLE "circular_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"circular_id" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_id" text,
	"kind" text NOT NULL,
	"data" jsonb
);
--> statement-breakpoint
CREATE TABLE "circular_recipients" (
	"circular_id" integer NOT NULL,
	"person_id" text NOT NULL,
	"unit_id" text NOT NULL,
	"confirmed_at" timestamp with time zone,
	"reminded_at" timestamp with time zone,
	CONSTRAINT "circular_recipients_circular_id_person_id_pk" PRIMARY KEY("circular_id","person_id")
);
--> statement-breakpoint
CREATE TABLE "circulars" (
	"id" serial PRIMARY KEY NOT NULL,
	"sender_id" text NOT NULL,
	"unit_id" text NOT NULL,
	"chat_id" text,
	"title" text NOT NULL,
	"body" text DEFAULT '' NOT NULL,
	"groups" integer DEFAULT 0 NOT NULL,
	"photos" integer DEFAULT 0 NOT NULL,
	"remind_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "circular_events" ADD CONSTRAINT "circular_events_circular_id_circulars_id_fk" FOREIGN KEY ("circular_id") REFERENCES "public"."circulars"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "circular_events" ADD CONSTRAINT "circular_events_actor_id_people_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "circular_recipients" ADD CONSTRAINT "circular_recipients_circular_id_circulars_id_fk" FOREIGN KEY ("circular_id") REFERENCES "public"."circulars"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "circular_recipients" ADD CONSTRAINT "circular_recipients_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "circular_recipients" ADD CONSTRAINT "circular_recipients_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "circulars" ADD CONSTRAINT "circulars_sender_id_people_id_fk" FOREIGN KEY ("sender_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "circulars" ADD CONSTRAINT "circulars_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "circulars" ADD CONSTRAINT "circulars_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "circular_events_circular_id_at_index" ON "circular_events" USING btree ("circular_id","at");--> statement-breakpoint
CREATE INDEX "circular_recipients_person_id_index" ON "circular_recipients" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "circular_recipients_waiting_idx" ON "circular_recipients" USING btree ("circular_id") WHERE confirmed_at is null and reminded_at is null;--> statement-breakpoint
CREATE INDEX "circulars_unit_id_created_at_index" ON "circulars" USING btree ("unit_id","created_at");--> statement-breakpoint
CREATE INDEX "circulars_remind_at_index" ON "circulars" USING btree ("remind_at");