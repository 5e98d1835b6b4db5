/**
 * Scorecards judge each ticket by the answer clock it actually had. A town runs an 8-hour clock, a 邻长 answers a
 * report after 6 hours through the pipeline, then the town tightens its clock to 4 hours: that answer was on time and
 * stays on time in the 邻长's scorecard.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { units } from "../src/db/schema/index.js";
import { scorecards } from "../src/workflows/digests/monthly.js";
import { createHarness, type Harness } from "./helpers/harness.js";

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
