/** Exactly one weekly digest per chat and week on real BullMQ: two replicas, a job scheduler ticking, a restart. */
import { Queue } from "bullmq";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { chats, outbox, simMessages } from "../src/db/schema/index.js";
import { digestTasks } from "../src/workflows/digests/tasks.js";
import { createHarness, type Harness, REDIS_URL, waitFor } from "./helpers/harness.js";

const open: Harness[] = [];
afterAll(async () => {
  for (const h of open.reverse()) await h.close();
});

describe("weekly digest fan-out under replicas", () => {
  it("two replicas ticking every second, retries and a restart: one digest per chat, delivered once", async () => {
    let now = new Date("2026-03-06T00:01:00Z"); // Friday 08:01 Asia/Shanghai
    const clock = () => now;
    const a = await createHarness({ scheduler: "bullmq", clock });
    open.push(a);
    await a.db.update(chats).set({ createdAt: new Date("2026-01-01T00:00:00Z") });
    const b = await createHarness({ scheduler: "bullmq", clock, database: a.database, prefix: a.prefix });
    open.push(b);
    // Both replicas register the same job schedulers at boot; here they tick every second.
    const fast = digestTasks.map((t) => ({ ...t, pattern: "* * * * * *" }));
    for (const h of [a, b]) for (const t of fast) await h.runtime.addPeriodic(t);
    const q = new Queue("periodic", { connection: { url: REDIS_URL }, prefix: a.prefix });
    expect((await q.getJobSchedulers()).map((s) => s.key).sort()).toEqual(["digest-weekly", "report-monthly"]);

    const digests = async () => (await a.db.select().from(simMessages).where(eq(simMessages.fromId, "bot"))).filter((m) => m.text.includes("· 周报"));
    const deliveries = new Queue("outbox", { connection: { url: REDIS_URL }, prefix: a.prefix });
    // Nothing more can be sent once every digest row is sent and no delivery job is left: a row gets a job only while
    // it is pending (when it is written, and from the reconciler), so this is the point after which a duplicate would
    // have had to come.
    const settled = async (n: number) => {
      const rows = await a.db.select().from(outbox).where(eq(outbox.kind, "digest"));
      if (rows.length < n || !rows.every((r) => r.status === "sent")) return false;
      const left = await deliveries.getJobCounts("waiting", "active", "delayed", "prioritized");
      return Object.values(left).every((k) => k === 0);
    };
    await waitFor(async () => (await digests()).length >= 3);
    // More ticks, explicit retries on both replicas at once, then a replica dies and a new one starts.
    const weekly = digestTasks[0];
    if (!weekly) throw new Error("no weekly task");
    await Promise.all([weekly.run(a.runtime), weekly.run(b.runtime), weekly.run(a.runtime)]);
    await b.close();
    open.splice(open.indexOf(b), 1);
    const c = await createHarness({ scheduler: "bullmq", clock, database: a.database, prefix: a.prefix });
    open.push(c);
    await weekly.run(c.runtime);
    await c.runtime.reconcile();
    await waitFor(() => settled(3));
    await q.close();

    const rows = await a.db.select().from(outbox).where(eq(outbox.kind, "digest"));
    expect(rows.map((r) => r.dedupeKey).sort()).toEqual(["digest-c1-2026-W10", "digest-c2-2026-W10", "digest-cv-2026-W10"]);
    expect(rows.every((r) => r.status === "sent")).toBe(true);
    const sent = await digests();
    expect(sent.map((m) => m.chatId).sort()).toEqual(["c1", "c2", "cv"]);

    // The next week brings exactly one more each.
    now = new Date("2026-03-13T00:01:00Z");
    await Promise.all([weekly.run(a.runtime), weekly.run(c.runtime)]);
    await waitFor(() => settled(6));
    expect((await digests()).length).toBe(6);
    await deliveries.close();
    for (const h of [a, c]) await h.runtime.stop();
  });
});
