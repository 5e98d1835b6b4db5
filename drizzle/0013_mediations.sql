CREATE TABLE "mediation_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"mediation_id" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_id" text,
	"kind" text NOT NULL,
	"from_status" text,
	"to_status" text,
	"level" text,
	"text" text,
	"data" jsonb
);
--> statement-breakpoint
CREATE TABLE "mediations" (
	"id" serial PRIMARY KEY NOT NULL,
	"opener_id" text NOT NULL,
	"unit_id" text NOT NULL,
	"holder_unit_id" text NOT NULL,
	"level" text NOT NULL,
	"chat_id" text,
	"summary" text NOT NULL,
	"status" text DEFAULT 'mediating' NOT NULL,
	"result" text,
	"escalation_count" integer DEFAULT 0 NOT NULL,
	"version" integer DEFAULT 0 NOT NULL,
	"closed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mediation_events" ADD CONSTRAINT "mediation_events_mediation_id_mediations_id_fk" FOREIGN KEY ("mediation_id") REFERENCES "public"."mediations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mediation_events" ADD CONSTRAINT "mediation_events_actor_id_people_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mediations" ADD CONSTRAINT "mediations_opener_id_people_id_fk" FOREIGN KEY ("opener_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mediations" ADD CONSTRAINT "mediations_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mediations" ADD CONSTRAINT "mediations_holder_unit_id_units_id_fk" FOREIGN KEY ("holder_unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mediations" ADD CONSTRAINT "mediations_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "mediation_events_mediation_id_at_index" ON "mediation_events" USING btree ("mediation_id","at");--> statement-breakpoint
CREATE INDEX "mediation_events_kind_at_index" ON "mediation_events" USING btree ("kind","at");--> statement-breakpoint
CREATE INDEX "mediations_holder_unit_id_status_index" ON "mediations" USING btree ("holder_unit_id","status");--> statement-breakpoint
CREATE INDEX "mediations_unit_id_created_at_index" ON "mediations" USING btree ("unit_id","created_at");--> statement-breakpoint
CREATE INDEX "mediations_opener_id_index" ON "mediations" USING btree ("opener_id");