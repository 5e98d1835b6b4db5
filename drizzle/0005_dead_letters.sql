CREATE TABLE "dead_letters" (
	"platform" text NOT NULL,
	"message_id" text NOT NULL,
	"chat_external_id" text,
	"sender_external_id" text,
	"text_length" integer DEFAULT 0 NOT NULL,
	"error" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dead_letters_platform_message_id_pk" PRIMARY KEY("platform","message_id")
);
--> statement-breakpoint
CREATE INDEX "dead_letters_at_index" ON "dead_letters" USING btree ("at");