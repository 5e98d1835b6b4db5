CREATE TABLE "directory_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor_id" text,
	"actor_name" text NOT NULL,
	"kind" text NOT NULL,
	"unit_id" text,
	"summary" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "directory_uploads" (
	"id" text PRIMARY KEY NOT NULL,
	"actor_id" text,
	"actor_name" text NOT NULL,
	"file_name" text NOT NULL,
	"data" "bytea" NOT NULL,
	"fingerprint" text NOT NULL,
	"preview" jsonb NOT NULL,
	"status" text DEFAULT 'previewed' NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pending_chats" (
	"platform" text NOT NULL,
	"external_id" text NOT NULL,
	"title" text,
	"first_sender_external_id" text NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"messages" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "pending_chats_platform_external_id_pk" PRIMARY KEY("platform","external_id")
);
--> statement-breakpoint
ALTER TABLE "people" ADD COLUMN "active" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "directory_changes" ADD CONSTRAINT "directory_changes_actor_id_people_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "directory_uploads" ADD CONSTRAINT "directory_uploads_actor_id_people_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "directory_changes_at_index" ON "directory_changes" USING btree ("at");--> statement-breakpoint
CREATE INDEX "directory_changes_unit_id_at_index" ON "directory_changes" USING btree ("unit_id","at");--> statement-breakpoint
CREATE INDEX "directory_uploads_created_at_index" ON "directory_uploads" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "pending_chats_last_seen_at_index" ON "pending_chats" USING btree ("last_seen_at");