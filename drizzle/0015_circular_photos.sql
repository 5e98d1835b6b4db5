ALTER TABLE "ticket_media" ADD COLUMN "circular_id" integer;--> statement-breakpoint
ALTER TABLE "ticket_media" ADD CONSTRAINT "ticket_media_circular_id_circulars_id_fk" FOREIGN KEY ("circular_id") REFERENCES "public"."circulars"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ticket_media_circular_id_index" ON "ticket_media" USING btree ("circular_id");