/**
 * BullMQ behind the Scheduler interface. Two kinds of Redis connection, as BullMQ's authors advise: producers
 * fail fast (the message path must not hang when Redis is down — the reconciler catches up), workers wait
 * patiently for Redis to come back.
 */
import { errInfo } from "../lib/errors.js";
import { DelayedError, type Job as BullJob, Queue, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { backoffMs, type Job, type JobHandler, MAX_ATTEMPTS, Permanent, type QueueName, RetryAt, type Scheduler } from "./types.js";

export type BullSchedulerOptions = { url: string; prefix?: string; concurrency: number; logger: Logger };

export class BullScheduler implements Scheduler {
  private readonly producer: Redis;
  private readonly queues = new Map<QueueName, Queue>();
  private readonly workers: Worker[] = [];
  private readonly connections: Redis[] = [];
  private readonly prefix: string;

  constructor(private readonly opts: BullSchedulerOptions) {
    this.prefix = opts.prefix ?? "haolin";
    this.producer = new Redis(opts.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
    this.producer.on("error", (err) => opts.logger.warn({ err: err.message }, "redis (producer) error"));
  }

  private queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.producer,
        prefix: this.prefix,
        defaultJobOptions: {
          attempts: MAX_ATTEMPTS,
          backoff: { type: "custom" },
          // Finished jobs are removed so the reconciler can add a deterministic id again (failures are logged).
          removeOnComplete: true,
          removeOnFail: true,
        },
      });
      q.on("error", (err) => this.opts.logger.warn({ queue: name, err: err.message }, "queue error"));
      this.queues.set(name, q);
    }
    return q;
  }

  async schedule<P>(queue: QueueName, jobs: Job<P>[]): Promise<void> {
    if (jobs.length === 0) return;
    const now = Date.now();
    const q = this.queue(queue);
    for (let i = 0; i < jobs.length; i += 500) {
      await q.addBulk(
        jobs.slice(i, i + 500).map((j) => ({
          name: queue,
          data: j.payload,
          opts: { jobId: j.jobId, delay: Math.max(0, j.runAt.getTime() - now) },
        })),
      );
    }
  }

  async cancel(queue: QueueName, jobIds: string[]): Promise<void> {
    const q = this.queue(queue);
    // remove() returns 0 for a running job; its handler re-checks the database anyway.
    await Promise.all(jobIds.map((id) => q.remove(id)));
  }

  process<P>(queue: QueueName, handler: JobHandler<P>): void {
    const connection = new Redis(this.opts.url, { maxRetriesPerRequest: null });
    connection.on("error", (err) => this.opts.logger.warn({ queue, err: err.message }, "redis (worker) error"));
    this.connections.push(connection);
    const worker = new Worker(
      queue,
      async (job: BullJob, token?: string) => {
        try {
          await handler(job.data as P, { jobId: job.id ?? "", attempt: job.attemptsMade + 1 });
        } catch (err) {
          if (err instanceof RetryAt) {
            await job.moveToDelayed(err.at.getTime(), token);
            throw new DelayedError();
          }
          if (err instanceof Permanent) throw new UnrecoverableError(err.message);
          throw err;
        }
      },
      {
        connection,
        prefix: this.prefix,
        concurrency: this.opts.concurrency,
        settings: { backoffStrategy: (attemptsMade: number) => backoffMs(attemptsMade) },
      },
    );
    worker.on("error", (err) => this.opts.logger.warn({ queue, err: err.message }, "worker error"));
    worker.on("failed", (job, err) => {
      if (job && job.attemptsMade >= MAX_ATTEMPTS)
        this.opts.logger.error({ queue, jobId: job.id, ...errInfo(err) }, "job failed for good");
    });
    this.workers.push(worker);
  }

  async repeat<P>(schedulerId: string, pattern: string, payload: P): Promise<void> {
    const queue = this.queue("periodic");
    try {
      await queue.upsertJobScheduler(schedulerId, { pattern, tz: "Asia/Shanghai" }, { name: schedulerId, data: payload });
    } catch (err) {
      // Two replicas starting together: the other one's upsert has just created this tick's job, so BullMQ refuses to
      // create it again ("Cannot create job scheduler iteration …"). The scheduler is there; that is all we wanted.
      const raced = /^Cannot create job scheduler iteration/.test((err as Error).message);
      if (!raced || !(await queue.getJobScheduler(schedulerId))) throw err;
    }
  }

  async health() {
    try {
      await this.producer.ping();
      const running = this.workers.every((w) => w.isRunning());
      return { ok: running, kind: "bullmq" as const, detail: running ? undefined : "worker stopped" };
    } catch (err) {
      return { ok: false, kind: "bullmq" as const, detail: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    for (const c of [...this.connections, this.producer]) await c.quit().catch(() => c.disconnect());
  }
}
