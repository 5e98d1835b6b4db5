/** The Scheduler contract on both implementations: delays, dedupe by job id, cancel, retries, repeating jobs. */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BullScheduler } from "../src/scheduler/bullmq.js";
import { MemoryScheduler } from "../src/scheduler/memory.js";
import { RetryAt, type Scheduler } from "../src/scheduler/types.js";
import { dropPrefix, REDIS_URL, silent, waitFor } from "./helpers/harness.js";

const kinds = {
  memory: () => new MemoryScheduler(silent),
  bullmq: () => new BullScheduler({ url: REDIS_URL, prefix: `s${randomUUID().slice(0, 8)}`, concurrency: 5, logger: silent }),
};

for (const [kind, make] of Object.entries(kinds)) {
  describe(`${kind} scheduler`, () => {
    it("runs a job at its time, once per id, and not after cancel", async () => {
      const s: Scheduler = make();
      const runs: string[] = [];
      s.process<{ n: string }>("deadlines", async (p) => {
        runs.push(p.n);
      });
      const at = new Date(Date.now() + 300);
      await s.schedule("deadlines", [
        { jobId: "a-1", payload: { n: "a" }, runAt: at },
        { jobId: "a-1", payload: { n: "a-again" }, runAt: at },
        { jobId: "b-1", payload: { n: "b" }, runAt: at },
        { jobId: "c-1", payload: { n: "c" }, runAt: new Date(Date.now() + 1500) },
      ]);
      await s.cancel("deadlines", ["c-1"]);
      await waitFor(async () => runs.length >= 2);
      await new Promise((r) => setTimeout(r, 1800));
      expect(runs.sort()).toEqual(["a", "b"]);
      await s.close();
    });

    it("retries a failing job and honours RetryAt", async () => {
      const s: Scheduler = make();
      let attempts = 0;
      let delayedOnce = false;
      const done: number[] = [];
      s.process<{ n: number }>("outbox", async (p) => {
        if (!delayedOnce) {
          delayedOnce = true;
          throw new RetryAt(new Date(Date.now() + 200));
        }
        attempts += 1;
        if (attempts < 2) throw new Error("transient");
        done.push(p.n);
      });
      await s.schedule("outbox", [{ jobId: "out-1", payload: { n: 1 }, runAt: new Date() }]);
      await waitFor(async () => done.length === 1, 15_000);
      expect(attempts).toBe(2);
      await s.close();
    });
  });
}

describe("repeating jobs", () => {
  it("two BullMQ replicas upserting the same scheduler fire once per tick", async () => {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const a = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    const b = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    const ticks: string[] = [];
    for (const [name, s] of [["a", a], ["b", b]] as const) {
      s.process<{ task: string }>("periodic", async () => {
        ticks.push(name);
      });
      await s.repeat("every-second", "* * * * * *", { task: "x" });
    }
    await new Promise((r) => setTimeout(r, 3500));
    await a.close();
    await b.close();
    await dropPrefix(prefix);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.length).toBeLessThanOrEqual(4);
  });

  it("two replicas starting at the same moment both register the same scheduler without an error", async () => {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const a = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    const b = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    try {
      // One replica is already running the scheduler (its worker makes each next tick's job); the other registers the
      // same scheduler again and again as replicas do at start-up, sometimes just as a tick's job is being made.
      a.process<{ task: string }>("periodic", async () => {});
      await a.repeat("tick", "* * * * * *", { task: "x" });
      for (let round = 0; round < 30; round++) {
        await Promise.all([a, b].map((s) => s.repeat("tick", "* * * * * *", { task: "x" })));
        await new Promise((r) => setTimeout(r, 50 + ((round * 37) % 150)));
      }
    } finally {
      await a.close();
      await b.close();
      await dropPrefix(prefix);
    }
  });

  it("the memory scheduler fires a cron pattern", async () => {
    const s = new MemoryScheduler(silent);
    let n = 0;
    s.process("periodic", async () => {
      n += 1;
    });
    await s.repeat("every-second", "* * * * * *", { task: "x" });
    await waitFor(async () => n >= 2, 5000);
    await s.close();
    expect(n).toBeGreaterThanOrEqual(2);
  });
});
