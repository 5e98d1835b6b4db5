CREATE TABLE "good_neighbor_lists" (
	"month" text NOT NULL,
	"village_id" text NOT NULL,
	"entries" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "good_neighbor_lists_month_village_id_pk" PRIMARY KEY("month","village_id")
);
--> statement-breakpoint
CREATE TABLE "meeting_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"meeting_id" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_id" text,
	"kind" text NOT NULL,
	"text" text,
	"data" jsonb
);
--> statement-breakpoint
CREATE TABLE "meetings" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"unit_id" text NOT NULL,
	"chat_id" text,
	"starts_at" timestamp with time zone NOT NULL,
	"place" text NOT NULL,
	"status" text DEFAULT 'scheduled' NOT NULL,
	"organizer_id" text,
	"minutes" text,
	"agenda" jsonb,
	"reminder_key" text,
	"version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "kind" text DEFAULT 'report' NOT NULL;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "meeting_id" integer;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "resolve_by" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "good_neighbor_lists" ADD CONSTRAINT "good_neighbor_lists_village_id_units_id_fk" FOREIGN KEY ("village_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meeting_events" ADD CONSTRAINT "meeting_events_meeting_id_meetings_id_fk" FOREIGN KEY ("meeting_id") REFERENCES "public"."meetings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meeting_events" ADD CONSTRAINT "meeting_events_actor_id_people_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meetings" ADD CONSTRAINT "meetings_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meetings" ADD CONSTRAINT "meetings_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meetings" ADD CONSTRAINT "meetings_organizer_id_people_id_fk" FOREIGN KEY ("organizer_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "meeting_events_meeting_id_at_index" ON "meeting_events" USING btree ("meeting_id","at");--> statement-breakpoint
CREATE INDEX "meetings_unit_id_starts_at_index" ON "meetings" USING btree ("unit_id","starts_at");--> statement-breakpoint
CREATE INDEX "meetings_kind_starts_at_index" ON "meetings" USING btree ("kind","starts_at");--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_meeting_id_meetings_id_fk" FOREIGN KEY ("meeting_id") REFERENCES "public"."meetings"("id") ON DELETE no action ON UPDATE no action;