/**
 * The visit task as registered on the scheduler (src/workflows/visits/tasks.ts): its daily run queues the weekly
 * contact nudge for a special household and, before the 集中走访日, each 邻长's due list; a second run the same
 * day queues nothing new. Clock injected; the task is run the way the scheduler runs it.
 */
import { like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../src/db/schema/index.js";
import { visitTasks } from "../src/workflows/visits/tasks.js";
import { createHarness, type Harness } from "./helpers/harness.js";

const sh = (local: string) => new Date(`${local}+08:00`);
let h: Harness;
let now = sh("2026-03-10T09:00:00");
beforeAll(async () => {
  h = await createHarness({ clock: () => now, start: false });
});
afterAll(async () => {
  await h.close();
});

const reminders = async () => (await h.db.select().from(outbox).where(like(outbox.dedupeKey, "remind-%"))).map((r) => r.dedupeKey).sort();

describe("visit tasks", () => {
  const task = visitTasks.find((t) => t.id === "visit-reminders");

  it("is registered daily at 09:00", () => {
    expect(visitTasks.map((t) => t.id)).toEqual(["visit-reminders"]);
    expect(task?.pattern).toBe("0 9 * * *");
  });

  it("a run mid-month nudges the 邻长 of the unvisited special household, and only that", async () => {
    await task?.run(h.runtime);
    const keys = await reminders();
    // 周四 (h4, 孤寡老人) in 一邻 has never been visited or contacted: 王邻长 (nl1) is reminded, privately.
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^remind-contact-h4-.+-nl1$/);
    const [row] = await h.db.select().from(outbox).where(like(outbox.dedupeKey, "remind-contact-%"));
    expect(row).toMatchObject({ personId: "nl1", chatId: null, kind: "reminder" });
    await task?.run(h.runtime);
    expect(await reminders()).toEqual(keys);
  });

  it("before the 集中走访日 it also sends each 邻长 the due list once a month", async () => {
    now = sh("2026-03-26T09:00:00"); // two days before the 28th
    await task?.run(h.runtime);
    const keys = await reminders();
    expect(keys).toContain("remind-due-nl1-2026-03");
    expect(keys.filter((k) => k.startsWith("remind-due-")).every((k) => k.endsWith("-2026-03"))).toBe(true);
    now = sh("2026-03-27T09:00:00");
    await task?.run(h.runtime);
    expect((await reminders()).filter((k) => k.startsWith("remind-due-"))).toEqual(keys.filter((k) => k.startsWith("remind-due-")));
  });
});
