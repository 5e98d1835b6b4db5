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

/**
 * How long a producer call (adding jobs, removing one, upserting a job scheduler) may take before it counts as failed.
 * A reply waits for its timers, so this bounds what a hung Redis can add to it; a Redis that is down fails at once.
 */
const PRODUCER_TIMEOUT_MS = 1000;
/**
 * The same for calls no reply waits on (registering the periodic tasks at boot and from the reconciler). BullMQ's
 * first call on a queue also loads its scripts, which took over a second on a loaded CI machine; a longer limit there
 * costs no one a reply, and a call that still fails is redone by the reconciler's next pass.
 */
const BACKGROUND_TIMEOUT_MS = 10_000;
/**
 * How long a periodic tick's claim is kept: far longer than the window in which BullMQ can make a tick that has run
 * again (see `claimTick`).
 */
const TICK_CLAIM_MS = 86_400_000;
/** The producer's connect timeout, and how long a call made before the first connection waits for it. */
const FIRST_CONNECT_MS = 2000;

/** Redis is down (or not answering): the call was not made. PostgreSQL holds the truth; the reconciler redoes it. */
export class RedisUnavailable extends Error {}

export class BullScheduler implements Scheduler {
  private readonly producer: Redis;
  private readonly queues = new Map<QueueName, Queue>();
  private readonly workers: Worker[] = [];
  private readonly connections: Redis[] = [];
  private readonly prefix: string;

  constructor(private readonly opts: BullSchedulerOptions) {
    this.prefix = opts.prefix ?? "haolin";
    // BullMQ's advice for producers: no offline queue (a command fails at once while disconnected instead of waiting
    // for Redis), plus a timeout for a Redis that is connected but does not answer. No retries of a failed command:
    // the reconciler is the retry.
    this.producer = new Redis(opts.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: PRODUCER_TIMEOUT_MS,
      connectTimeout: FIRST_CONNECT_MS,
    });
    this.producer.on("error", (err) => opts.logger.warn({ err: err.message }, "redis (producer) error"));
    this.producer.on("close", () => {
      this.lost = true;
    });
    this.producer.on("ready", () => {
      if (!this.lost) return;
      this.lost = false;
      opts.logger.info("redis (producer) is back");
      for (const listener of this.recovered) listener();
    });
  }

  /** The connection was ready once and has been lost since (while true, calls fail at once). */
  private lost = false;

  /** Before the first connection (start-up) a call waits for it, at most as long as connecting may take. */
  private firstConnection(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.producer.off("ready", done);
        resolve();
      };
      const timer = setTimeout(done, FIRST_CONNECT_MS);
      this.producer.once("ready", done);
    });
  }
  private readonly recovered: (() => void)[] = [];

  onRecovered(listener: () => void): void {
    this.recovered.push(listener);
  }

  /**
   * A producer call, made only while the connection is ready and given at most PRODUCER_TIMEOUT_MS: BullMQ waits for
   * a connection that is not ready (a queue first used during an outage waited until Redis came back), so that case
   * is refused here before BullMQ sees it.
   */
  private async produce<T>(what: string, call: () => Promise<T>, limitMs = PRODUCER_TIMEOUT_MS): Promise<T> {
    if (this.producer.status !== "ready" && !this.lost) await this.firstConnection();
    if (this.producer.status !== "ready") throw new RedisUnavailable(`redis is ${this.producer.status}; ${what} not done`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailable(`redis did not answer within ${limitMs} ms; ${what} not done`)), limitMs);
    });
    const work = call();
    work.catch(() => {}); // a late failure after the timeout is not an unhandled rejection
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
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
          // Finished jobs are removed so the reconciler can add a deterministic id again (failures are logged). A
          // periodic tick is kept for a day instead: while its job id exists, most upserts of its scheduler refuse to
          // make it again (the rest are caught by `claimTick`).
          removeOnComplete: name === "periodic" ? { age: 86_400 } : true,
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
      const chunk = jobs.slice(i, i + 500);
      await this.produce(`adding ${chunk.length} ${queue} jobs`, () =>
        q.addBulk(chunk.map((j) => ({ name: queue, data: j.payload, opts: { jobId: j.jobId, delay: Math.max(0, j.runAt.getTime() - now) } }))),
      );
    }
  }

  async cancel(queue: QueueName, jobIds: string[]): Promise<void> {
    const q = this.queue(queue);
    // remove() returns 0 for a running job; its handler re-checks the database anyway.
    await this.produce(`removing ${jobIds.length} ${queue} jobs`, () => Promise.all(jobIds.map((id) => q.remove(id))));
  }

  process<P>(queue: QueueName, handler: JobHandler<P>): void {
    const connection = new Redis(this.opts.url, { maxRetriesPerRequest: null });
    connection.on("error", (err) => this.opts.logger.warn({ queue, err: err.message }, "redis (worker) error"));
    this.connections.push(connection);
    const worker = new Worker(
      queue,
      async (job: BullJob, token?: string) => {
        if (queue === "periodic" && job.repeatJobKey && !(await this.claimTick(job))) return; // a copy of a tick that ran
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

  /**
   * Once per tick, whatever BullMQ does. BullMQ computes a scheduler's next time on the client and then, in Redis,
   * replaces the next iteration with it; an upsert (each replica's boot, and the reconciler every 30 s) computed just
   * before a tick and reaching Redis after that tick has run makes the same tick (the same job id) again, even while
   * the finished one is kept (test/scheduler.test.ts makes it happen). So the first job to run a tick claims its id in
   * Redis with its own creation time: its retries (same job) go on, a copy made later (a new creation time) is skipped.
   */
  private async claimTick(job: BullJob): Promise<boolean> {
    const key = `${this.prefix}:periodic-ticks:${job.id}`;
    const mine = String(job.timestamp);
    const owner = await this.produce(
      "claiming a periodic tick",
      () => this.producer.set(key, mine, "PX", TICK_CLAIM_MS, "NX", "GET"),
      BACKGROUND_TIMEOUT_MS,
    );
    return owner === null || owner === mine;
  }

  async repeat<P>(schedulerId: string, pattern: string, payload: P): Promise<void> {
    const queue = this.queue("periodic");
    try {
      await this.produce(
        `upserting job scheduler ${schedulerId}`,
        () => queue.upsertJobScheduler(schedulerId, { pattern, tz: "Asia/Shanghai" }, { name: schedulerId, data: payload }),
        BACKGROUND_TIMEOUT_MS,
      );
    } catch (err) {
      // Two replicas starting together: the other one's upsert has just created this tick's job, so BullMQ refuses to
      // create it again ("Cannot create job scheduler iteration …"). The scheduler is there; that is all we wanted.
      const raced = /^Cannot create job scheduler iteration/.test((err as Error).message);
      if (!raced || !(await this.produce("reading a job scheduler", () => queue.getJobScheduler(schedulerId), BACKGROUND_TIMEOUT_MS))) throw err;
    }
  }

  async health() {
    try {
      await this.produce("ping", () => this.producer.ping());
      const running = this.workers.every((w) => w.isRunning());
      return { ok: running, kind: "bullmq" as const, detail: running ? undefined : "worker stopped" };
    } catch (err) {
      // Which dependency is down, not the driver's words (they can carry hosts and addresses).
      return { ok: false, kind: "bullmq" as const, detail: err instanceof RedisUnavailable ? "redis unavailable" : "redis error" };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    for (const c of [...this.connections, this.producer]) await c.quit().catch(() => c.disconnect());
  }
}
