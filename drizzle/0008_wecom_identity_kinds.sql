ALTER TABLE "identities" ADD COLUMN "kind" text DEFAULT 'userid' NOT NULL;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "pulled_by" text;