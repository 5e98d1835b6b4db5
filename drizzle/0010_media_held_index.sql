DROP INDEX "ticket_media_asked_idx";--> statement-breakpoint
CREATE INDEX "ticket_media_sha256_index" ON "ticket_media" USING btree ("sha256");--> statement-breakpoint
CREATE INDEX "ticket_media_held_idx" ON "ticket_media" USING btree ("chat_id","sender_external_id","created_at") WHERE ticket_id is null;