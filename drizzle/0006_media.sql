CREATE TABLE "media" (
	"sha256" text PRIMARY KEY NOT NULL,
	"mime" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"size" integer NOT NULL,
	"data" "bytea" NOT NULL,
	"thumb" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_media" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ticket_id" integer,
	"role" text DEFAULT 'report' NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"source" jsonb NOT NULL,
	"inline" "bytea",
	"sha256" text,
	"chat_id" text,
	"sender_external_id" text NOT NULL,
	"caption" text,
	"not_after" timestamp with time zone NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ticket_media" ADD CONSTRAINT "ticket_media_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ticket_media" ADD CONSTRAINT "ticket_media_sha256_media_sha256_fk" FOREIGN KEY ("sha256") REFERENCES "public"."media"("sha256") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ticket_media_ticket_id_index" ON "ticket_media" USING btree ("ticket_id");--> statement-breakpoint
CREATE INDEX "ticket_media_pending_idx" ON "ticket_media" USING btree ("not_after") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "ticket_media_asked_idx" ON "ticket_media" USING btree ("chat_id","sender_external_id","created_at") WHERE status = 'asked';