CREATE TABLE "household_visit_marks" (
	"household_id" text PRIMARY KEY NOT NULL,
	"last_visit_at" timestamp with time zone,
	"last_touch_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "household_visit_marks" ADD CONSTRAINT "household_visit_marks_household_id_households_id_fk" FOREIGN KEY ("household_id") REFERENCES "public"."households"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
-- A household's marks from its matched visits, recomputed under a lock on its marks row: a concurrent writer of the
-- same household waits, and the recount (a new statement, so a new snapshot) sees what that writer committed.
CREATE FUNCTION "household_visit_marks_recount"(hid text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "household_visit_marks" ("household_id") VALUES (hid) ON CONFLICT DO NOTHING;
  PERFORM 1 FROM "household_visit_marks" WHERE "household_id" = hid FOR UPDATE;
  UPDATE "household_visit_marks" SET ("last_visit_at", "last_touch_at") = (
    SELECT max("at") FILTER (WHERE "kind" = 'visit'), max("at") FROM "visits" WHERE "household_id" = hid AND "status" = 'matched'
  ) WHERE "household_id" = hid;
END $$;
--> statement-breakpoint
-- A new matched visit can only move the marks later (greatest, safe against concurrent inserts); an update or a
-- delete (an admin matching a visit by hand, a correction) recounts each household it touched.
CREATE FUNCTION "household_visit_marks_sync"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW."status" = 'matched' AND NEW."household_id" IS NOT NULL THEN
      INSERT INTO "household_visit_marks" AS m ("household_id", "last_visit_at", "last_touch_at")
      VALUES (NEW."household_id", CASE WHEN NEW."kind" = 'visit' THEN NEW."at" END, NEW."at")
      ON CONFLICT ("household_id") DO UPDATE SET
        "last_visit_at" = greatest(m."last_visit_at", excluded."last_visit_at"),
        "last_touch_at" = greatest(m."last_touch_at", excluded."last_touch_at");
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW."household_id" IS NOT NULL THEN
    PERFORM "household_visit_marks_recount"(NEW."household_id");
  END IF;
  IF OLD."household_id" IS NOT NULL AND (TG_OP = 'DELETE' OR OLD."household_id" IS DISTINCT FROM NEW."household_id") THEN
    PERFORM "household_visit_marks_recount"(OLD."household_id");
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "visits_marks_insert" AFTER INSERT ON "visits" FOR EACH ROW EXECUTE FUNCTION "household_visit_marks_sync"();
--> statement-breakpoint
CREATE TRIGGER "visits_marks_change" AFTER UPDATE OF "household_id", "status", "kind", "at" OR DELETE ON "visits"
  FOR EACH ROW EXECUTE FUNCTION "household_visit_marks_sync"();
--> statement-breakpoint
-- The marks of the visits already logged.
INSERT INTO "household_visit_marks" ("household_id", "last_visit_at", "last_touch_at")
SELECT "household_id", max("at") FILTER (WHERE "kind" = 'visit'), max("at") FROM "visits"
WHERE "status" = 'matched' AND "household_id" IS NOT NULL GROUP BY "household_id";
