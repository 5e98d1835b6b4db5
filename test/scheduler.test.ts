/** The Scheduler contract on both implementations: delays, dedupe by job id, cancel, retries, repeating jobs. */
import { randomUUID } from "node:crypto";
import { JobScheduler, Queue } from "bullmq";
import { describe, expect, it, vi } from "vitest";
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
      // The marker: a job due well after the cancelled one has run, so the cancelled one would have run before it.
      await s.schedule("deadlines", [{ jobId: "d-1", payload: { n: "d" }, runAt: new Date(Date.now() + 2500) }]);
      await waitFor(async () => runs.includes("d"));
      expect(runs.sort()).toEqual(["a", "b", "d"]);
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
      await waitFor(async () => done.length === 1);
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
    // Each tick's job names the second it is for ("repeat:<scheduler>:<ms>"): a duplicated tick repeats one.
    const ticks: { replica: string; second: number }[] = [];
    for (const [replica, s] of [["a", a], ["b", b]] as const) {
      s.process<{ task: string }>("periodic", async (_p, ctx) => {
        ticks.push({ replica, second: Number(/^repeat:every-second:(\d+)$/.exec(ctx.jobId)?.[1]) });
      });
      await s.repeat("every-second", "* * * * * *", { task: "x" });
    }
    // Wait for ticks rather than for a time: a duplicate of any of the first ones would have come with it.
    await waitFor(async () => new Set(ticks.map((t) => t.second)).size >= 4);
    await a.close();
    await b.close();
    await dropPrefix(prefix);
    const seconds = ticks.map((t) => t.second);
    expect(seconds.every((ms) => Number.isInteger(ms) && ms % 1000 === 0)).toBe(true);
    expect(new Set(seconds).size).toBe(seconds.length);
  });

  it("a registration computed just before a tick and reaching Redis after it does not run that tick again", async () => {
    // BullMQ computes a scheduler's next time on the client (Date.now()) and then, in Redis, replaces the next
    // iteration with it. On a loaded machine a replica's upsert (at boot, or the reconciler's every 30 s) can be
    // computed before a tick and reach Redis after that tick has run: BullMQ then makes the tick that has just run
    // again. Here the delay is made exact: the upsert's clock reads 1 ms before the tick that replica A has run.
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const a = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    const b = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    const ticks: { replica: string; jobId: string }[] = [];
    const queue = new Queue("periodic", { connection: { url: REDIS_URL }, prefix });
    try {
      a.process<{ task: string }>("periodic", async (_p, ctx) => {
        ticks.push({ replica: "a", jobId: ctx.jobId });
      });
      await a.repeat("every-second", "* * * * * *", { task: "x" });
      await waitFor(async () => ticks.length >= 1);
      const first = ticks[0]?.jobId ?? "";
      const ran = Number(/:(\d+)$/.exec(first)?.[1]);
      // A has made the next iteration (the scheduler's next time has moved past the tick it ran); then A stops.
      await waitFor(async () => ((await queue.getJobScheduler("every-second"))?.next ?? 0) > ran);
      await a.close();
      const seen = ticks.length;
      const now = vi.spyOn(Date, "now").mockReturnValue(ran - 1);
      try {
        await b.repeat("every-second", "* * * * * *", { task: "x" });
      } finally {
        now.mockRestore();
      }
      b.process<{ task: string }>("periodic", async (_p, ctx) => {
        ticks.push({ replica: "b", jobId: ctx.jobId });
      });
      // The marker: B runs a tick after the one A ran; the repeated one was due before it.
      await waitFor(async () => ticks.slice(seen).some((t) => Number(/:(\d+)$/.exec(t.jobId)?.[1]) > ran));
      const ids = ticks.map((t) => t.jobId);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await queue.close();
      await a.close();
      await b.close();
      await dropPrefix(prefix);
    }
  });

  it("a periodic tick that fails is retried and runs again (the claim is its own)", async () => {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const s = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    const runs: { jobId: string; attempt: number }[] = [];
    try {
      s.process<{ task: string }>("periodic", async (_p, ctx) => {
        runs.push({ jobId: ctx.jobId, attempt: ctx.attempt });
        if (ctx.attempt === 1 && runs.length === 1) throw new Error("transient");
      });
      await s.repeat("every-second", "* * * * * *", { task: "x" });
      const first = await waitFor(async () => runs[0]?.jobId);
      await waitFor(async () => runs.some((r) => r.jobId === first && r.attempt === 2));
    } finally {
      await s.close();
      await dropPrefix(prefix);
    }
  });

  it("two replicas starting at the same moment both register the same scheduler without an error", async () => {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const a = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    const b = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    const ticks: string[] = [];
    let registered = 0;
    try {
      // One replica is already running the scheduler (its worker makes each next tick's job); the other registers the
      // same scheduler again and again as replicas do at start-up, sometimes just as a tick's job is being made.
      a.process<{ task: string }>("periodic", async (_p, ctx) => {
        ticks.push(ctx.jobId);
      });
      await a.repeat("tick", "* * * * * *", { task: "x" });
      for (let round = 0; round < 30; round++) {
        await Promise.all([a, b].map((s) => s.repeat("tick", "* * * * * *", { task: "x" }).then(() => registered++)));
        // Spread the registrations over a few ticks (the timing only varies where they land; nothing waits on it).
        await new Promise((r) => setTimeout(r, 50 + ((round * 37) % 150)));
      }
      // Every registration succeeded, there is still one scheduler, and it keeps ticking, once per tick.
      expect(registered).toBe(60);
      const queue = new Queue("periodic", { connection: { url: REDIS_URL }, prefix });
      try {
        expect((await queue.getJobSchedulers()).map((j) => j.key)).toEqual(["tick"]);
      } finally {
        await queue.close();
      }
      const seen = ticks.length;
      await waitFor(async () => ticks.length >= seen + 2);
      expect(new Set(ticks).size).toBe(ticks.length);
    } finally {
      await a.close();
      await b.close();
      await dropPrefix(prefix);
    }
  });

  it("a registration while a tick's job has started and its next one is not made yet resolves, and the tick runs once", async () => {
    // The race the catch in BullScheduler.repeat is for, made exact. A worker moves a tick's job to active and only
    // then (on the client) asks BullMQ for the next iteration; in between, the scheduler's stored next time is the
    // running tick. A replica's upsert computed for that same tick cannot replace it (it is running) and BullMQ
    // refuses it: "Cannot create job scheduler iteration - job ID already exists". Here replica A's worker is held in
    // that gap while replica B registers with its clock 1 ms before the tick.
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const a = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    const b = new BullScheduler({ url: REDIS_URL, prefix, concurrency: 5, logger: silent });
    const ticks: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let held: string | null = null;
    const upsert = JobScheduler.prototype.upsertJobScheduler;
    // The worker's own call names the job that has just started (producerId); the first one waits at the gate.
    const spy = vi.spyOn(JobScheduler.prototype, "upsertJobScheduler").mockImplementation(async function (this: JobScheduler, ...args) {
      const producer = args[5]?.producerId;
      if (producer && held === null) {
        held = producer;
        await gate;
      }
      return upsert.apply(this, args);
    });
    try {
      a.process<{ task: string }>("periodic", async (_p, ctx) => {
        ticks.push(ctx.jobId);
      });
      await a.repeat("every-second", "* * * * * *", { task: "x" });
      const running = await waitFor(async () => held);
      const tick = Number(/:(\d+)$/.exec(running)?.[1]);
      const now = vi.spyOn(Date, "now").mockReturnValue(tick - 1);
      let registered: unknown;
      try {
        registered = await b.repeat("every-second", "* * * * * *", { task: "x" }).then(
          () => "registered",
          (err: unknown) => err,
        );
      } finally {
        now.mockRestore();
      }
      release();
      expect(registered).toBe("registered");
      // The tick that was running when B registered ran once, and the scheduler goes on ticking.
      await waitFor(async () => ticks.some((id) => Number(/:(\d+)$/.exec(id)?.[1]) > tick));
      expect(ticks.filter((id) => id === running)).toHaveLength(1);
      expect(new Set(ticks).size).toBe(ticks.length);
    } finally {
      release();
      spy.mockRestore();
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
    await waitFor(async () => n >= 2);
    await s.close();
    expect(n).toBeGreaterThanOrEqual(2);
  });
});
