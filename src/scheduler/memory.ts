/** The in-process scheduler for embedded mode (no Redis): timers in this process, same contract as BullMQ's. */
import { errInfo } from "../lib/errors.js";
import { Cron } from "croner";
import type { Logger } from "pino";
import { backoffMs, type Job, type JobHandler, MAX_ATTEMPTS, Permanent, type QueueName, RetryAt, type Scheduler } from "./types.js";

type Entry = { payload: unknown; timer: NodeJS.Timeout | null; attempt: number; running: boolean };
// setTimeout cannot wait longer than ~24.8 days; longer waits re-arm.
const MAX_DELAY = 2 ** 31 - 1;

export class MemoryScheduler implements Scheduler {
  private readonly jobs = new Map<string, Entry>();
  private readonly handlers = new Map<QueueName, JobHandler<unknown>>();
  private closed = false;
  private inflight = new Set<Promise<void>>();
  private readonly crons = new Map<string, Cron>();

  constructor(private readonly logger: Logger) {}

  async schedule<P>(queue: QueueName, jobs: Job<P>[]): Promise<void> {
    for (const j of jobs) {
      const key = `${queue}/${j.jobId}`;
      if (this.jobs.has(key) || this.closed) continue;
      const entry: Entry = { payload: j.payload, timer: null, attempt: 0, running: false };
      this.jobs.set(key, entry);
      this.arm(queue, j.jobId, entry, j.runAt.getTime());
    }
  }

  async cancel(queue: QueueName, jobIds: string[]): Promise<void> {
    for (const id of jobIds) {
      const key = `${queue}/${id}`;
      const e = this.jobs.get(key);
      if (!e || e.running) continue;
      if (e.timer) clearTimeout(e.timer);
      this.jobs.delete(key);
    }
  }

  process<P>(queue: QueueName, handler: JobHandler<P>): void {
    this.handlers.set(queue, handler as JobHandler<unknown>);
  }

  async repeat<P>(schedulerId: string, pattern: string, payload: P): Promise<void> {
    const existing = this.crons.get(schedulerId);
    if (existing?.getPattern() === pattern) return; // upsert: same schedule already running
    existing?.stop();
    const cron = new Cron(pattern, { timezone: "Asia/Shanghai", unref: true }, (self: Cron) => {
      // One job per tick, keyed like BullMQ's scheduler jobs so a slow tick is not run twice.
      void this.schedule("periodic", [{ jobId: `${schedulerId}-${self.currentRun()?.getTime() ?? Date.now()}`, payload, runAt: new Date() }]);
    });
    this.crons.set(schedulerId, cron);
  }

  async health() {
    return { ok: !this.closed, kind: "memory" as const };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.crons.values()) c.stop();
    for (const e of this.jobs.values()) if (e.timer) clearTimeout(e.timer);
    await Promise.allSettled([...this.inflight]);
    this.jobs.clear();
  }

  private arm(queue: QueueName, jobId: string, e: Entry, at: number) {
    const delay = Math.max(0, at - Date.now());
    e.timer = setTimeout(() => {
      e.timer = null;
      if (delay > MAX_DELAY) return this.arm(queue, jobId, e, at);
      const p = this.run(queue, jobId, e);
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }, Math.min(delay, MAX_DELAY));
    e.timer.unref?.();
  }

  private async run(queue: QueueName, jobId: string, e: Entry): Promise<void> {
    if (this.closed) return;
    const key = `${queue}/${jobId}`;
    const handler = this.handlers.get(queue);
    if (!handler) return this.arm(queue, jobId, e, Date.now() + 1000);
    e.running = true;
    e.attempt += 1;
    try {
      await handler(e.payload, { jobId, attempt: e.attempt });
      this.jobs.delete(key);
    } catch (err) {
      if (err instanceof RetryAt) {
        e.attempt -= 1;
        this.arm(queue, jobId, e, err.at.getTime());
      } else if (err instanceof Permanent || e.attempt >= MAX_ATTEMPTS) {
        this.logger.error({ queue, jobId, attempt: e.attempt, ...errInfo(err) }, "job failed for good");
        this.jobs.delete(key);
      } else {
        this.logger.warn({ queue, jobId, attempt: e.attempt, ...errInfo(err) }, "job failed, retrying");
        this.arm(queue, jobId, e, Date.now() + backoffMs(e.attempt));
      }
    } finally {
      e.running = false;
    }
  }
}
