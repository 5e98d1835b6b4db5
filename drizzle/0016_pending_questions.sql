CREATE TABLE "pending_questions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"person_key" text NOT NULL,
	"scope" text NOT NULL,
	"chat_id" text,
	"kind" text NOT NULL,
	"about" jsonb NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "pending_questions" ADD CONSTRAINT "pending_questions_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "pending_questions_person_key_scope_kind_index" ON "pending_questions" USING btree ("person_key","scope","kind");--> statement-breakpoint
CREATE INDEX "pending_questions_expires_at_index" ON "pending_questions" USING btree ("expires_at");--> statement-breakpoint
-- The questions waiting when this runs move into the one store: the report confirmations, the household picks, and
-- the held photos (one question per sender and chat, as they were answered together).
INSERT INTO "pending_questions" ("person_key", "scope", "chat_id", "kind", "about", "expires_at", "created_at")
SELECT "person_key", "chat_id", "chat_id", 'report', jsonb_build_object('text', "text"), "expires_at", "created_at"
FROM "pending_reports" WHERE "expires_at" > now()
ON CONFLICT DO NOTHING;--> statement-breakpoint
INSERT INTO "pending_questions" ("person_key", "scope", "chat_id", "kind", "about", "expires_at", "created_at")
SELECT "person_id", "scope", "chat_id", 'pick',
  jsonb_build_object('purpose', "purpose", 'visitKind', "kind", 'channel', "channel", 'query', "query", 'note', "note", 'candidates', "candidates"),
  "expires_at", "created_at"
FROM "visit_choices" WHERE "expires_at" > now()
ON CONFLICT DO NOTHING;--> statement-breakpoint
INSERT INTO "pending_questions" ("person_key", "scope", "chat_id", "kind", "about", "expires_at", "created_at")
SELECT coalesce(p."id", 'ext:' || m."sender_external_id"), m."chat_id", m."chat_id", 'photo',
  jsonb_build_object(
    'mediaIds', jsonb_agg(m."id" ORDER BY m."id"),
    'caption', coalesce((array_agg(m."caption" ORDER BY m."id") FILTER (WHERE coalesce(m."caption", '') <> ''))[1], '')
  ),
  max(m."created_at") + interval '10 minutes', max(m."created_at")
FROM "ticket_media" m
JOIN "chats" c ON c."id" = m."chat_id"
LEFT JOIN "identities" i ON i."platform" = c."platform" AND i."external_id" = m."sender_external_id"
LEFT JOIN "people" p ON p."id" = CASE WHEN c."platform" = 'sim' THEN m."sender_external_id" ELSE i."person_id" END
WHERE m."ticket_id" IS NULL AND m."circular_id" IS NULL AND m."status" IN ('pending', 'stored', 'failed')
  AND m."created_at" > now() - interval '10 minutes'
GROUP BY 1, m."chat_id"
ON CONFLICT DO NOTHING;--> statement-breakpoint
DROP TABLE "pending_reports" CASCADE;--> statement-breakpoint
DROP TABLE "visit_choices" CASCADE;--> statement-breakpoint
ALTER TABLE "ticket_media" DROP COLUMN "caption";