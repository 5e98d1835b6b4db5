/**
 * The demo's notices and mediation cases (demo/notices-and-mediations.yaml) load onto the demo directory through the
 * real workflows, and give a newcomer something to see at once: a notice with a 传达率 and people to remind, a settled
 * case and one waiting at the 组.
 */
import { fileURLToPath } from "node:url";
import { asc, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { circularRecipients, mediations, outbox } from "../src/db/schema/index.js";
import { circularTasks } from "../src/workflows/circulars/tasks.js";
import { loadDemoActivity } from "../src/workflows/demo-activity.js";
import { createHarness, type Harness } from "./helpers/harness.js";

const DEMO = fileURLToPath(new URL("../demo/directory.yaml", import.meta.url));
const ACTIVITY = fileURLToPath(new URL("../demo/notices-and-mediations.yaml", import.meta.url));
let h: Harness;
beforeAll(async () => {
  h = await createHarness({ directory: DEMO, start: false });
});
afterAll(async () => {
  await h.close();
});

describe("demo notices and mediation cases", () => {
  it("load through the workflows: a notice 3 of 7 confirmed, a settled case, a case at the 组", async () => {
    expect(await h.runtime.transact((ctx) => loadDemoActivity(ctx, ACTIVITY))).toEqual({ circulars: 1, mediations: 2 });
    const rows = await h.db.select().from(circularRecipients);
    expect(rows).toHaveLength(7);
    expect(rows.filter((r) => r.confirmedAt).map((r) => r.personId).sort()).toEqual(["p-hjf", "p-wxy", "p-xcl"]);
    const groups = await h.db.select().from(outbox).where(like(outbox.dedupeKey, "circular-1-%"));
    expect(groups.map((g) => g.chatId).sort()).toEqual(["c-lx", "c-lx-z1", "c-lx-z3"]);
    const cases = await h.db.select().from(mediations).orderBy(asc(mediations.id));
    expect(cases.map((m) => [m.status, m.level, m.holderUnitId])).toEqual([
      ["settled", "neighborhood", "qh-lx-p1-z1-l1"],
      ["mediating", "group", "qh-lx-p1-z1"],
    ]);
  });

  it("the reminder task has the four who have not confirmed to remind", async () => {
    await circularTasks[0]?.run(h.runtime);
    const reminders = await h.db.select().from(outbox).where(like(outbox.dedupeKey, "circular-remind-1-%"));
    expect(reminders.map((r) => r.personId).sort()).toEqual(["p-hxh", "p-jsg", "p-lcc", "p-tyt"]);
  });
});
