/**
 * Scorecards judge each ticket by the answer clock it actually had. A town runs an 8-hour clock, a 邻长 answers a
 * report after 6 hours through the pipeline, then the town tightens its clock to 4 hours: that answer was on time and
 * stays on time in the 邻长's scorecard. Tickets opened before the clock was kept on the row get it from their opened
 * event when the migration runs.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importDirectory } from "../src/db/directory-import.js";
import { migrateDatabase, migrationsFolder } from "../src/db/migrate.js";
import { units } from "../src/db/schema/index.js";
import { scorecards } from "../src/workflows/digests/monthly.js";
import { createTestDatabase } from "./helpers/db.js";
import { createHarness, FIXTURE, type Harness } from "./helpers/harness.js";

const H = 3_600_000;
let h: Harness;
let now = new Date("2026-03-02T01:00:00Z");
beforeAll(async () => {
  h = await createHarness({ clock: () => now });
});
afterAll(async () => {
  await h.close();
});

const setTownClock = (answerDeadline: string) =>
  h.db.update(units).set({ settings: { quietHours: false, answerDeadline } }).where(eq(units.id, "t"));

describe("scorecards", () => {
  it("judge each ticket by the clock it was given, not by the town's clock today", async () => {
    await setTownClock("8h");
    const opened = now;
    const r = await h.say("c1", "r1", "报事 村口路灯坏了");
    expect(r.text).toContain("已登记工单");
    const id = Number(/#(\d+)/.exec(r.text)?.[1]);
    now = new Date(opened.getTime() + 6 * H);
    expect((await h.say("c1", "nl1", `认领 #${id}`)).text).toContain("已认领");
    // A ticket answered 6 h after a report under a 4 h clock from the start: late.
    await setTownClock("4h");
    const late = Number(/#(\d+)/.exec((await h.say("c1", "r1", "报事 楼道灯坏了")).text)?.[1]);
    now = new Date(now.getTime() + 6 * H);
    await h.say("c1", "nl1", `认领 #${late}`);

    const window = { from: new Date(opened.getTime() - 24 * H), to: new Date(now.getTime() + 24 * H) };
    const cards = await scorecards(h.db, "t", { window, asOf: now, answerMs: 4 * H });
    const wang = cards.find((c) => c.personId === "nl1");
    expect(wang).toMatchObject({ tickets: 2, answerDecided: 2, answeredInTime: 1 });
  });
});

describe("the migration that keeps the clock on the row", () => {
  it("copies each ticket's clock from its opened event; a ticket without one keeps today's clock", { timeout: 120_000 }, async () => {
    const folder = mkdtempSync(join(tmpdir(), "haolin-migrations-"));
    cpSync(migrationsFolder, folder, { recursive: true });
    const journalPath = join(folder, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
    const at = journal.entries.findIndex((e) => e.tag === "0017_given_answer_due");
    expect(at).toBeGreaterThan(0);
    writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
    const database = await createTestDatabase(folder);
    try {
      await importDirectory(database.db, FIXTURE);
      // Both answered 6 h after opening; the first was given an 8-hour clock (on its opened event), the second none.
      await database.db.execute(
        sql.raw(`insert into tickets (id, unit_id, holder_unit_id, level, category, text, status, created_at, updated_at, first_answered_at) values
          (1, 'n1', 'n1', 'neighborhood', '其他', '路灯', 'answered', '2026-03-02T01:00:00Z', '2026-03-02T07:00:00Z', '2026-03-02T07:00:00Z'),
          (2, 'n1', 'n1', 'neighborhood', '其他', '水沟', 'answered', '2026-03-02T01:00:00Z', '2026-03-02T07:00:00Z', '2026-03-02T07:00:00Z')`),
      );
      await database.db.execute(
        sql.raw(`insert into ticket_events (ticket_id, at, kind, data) values
          (1, '2026-03-02T01:00:00Z', 'opened', '{"answerDueAt": "2026-03-02T09:00:00.000Z"}'),
          (2, '2026-03-02T01:00:00Z', 'opened', null)`),
      );
      await migrateDatabase(database, database.url);
      const window = { from: new Date("2026-03-01T00:00:00Z"), to: new Date("2026-03-03T00:00:00Z") };
      const cards = await scorecards(database.db, "t", { window, asOf: window.to, answerMs: 4 * H });
      expect(cards.find((c) => c.personId === "nl1")).toMatchObject({ tickets: 2, answerDecided: 2, answeredInTime: 1 });
    } finally {
      await database.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
