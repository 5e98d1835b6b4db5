/**
 * One scheduler interface for wake-up timers and background work: BullMQ when REDIS_URL is set, an in-process
 * implementation otherwise. PostgreSQL stays the source of truth; a lost job is recovered by the reconciler.
 */
export type QueueName = "deadlines" | "outbox" | "periodic" | "media";

export type Job<P> = { jobId: string; payload: P; runAt: Date };

export type JobHandler<P> = (payload: P, info: { jobId: string; attempt: number }) => Promise<void>;

/** Thrown by a handler that cannot run yet (rate limit, quiet hours): run again at `at`, not counted as a failure. */
export class RetryAt extends Error {
  constructor(readonly at: Date) {
    super(`retry at ${at.toISOString()}`);
  }
}

/** Thrown by a handler for work that can never succeed: no retries. */
export class Permanent extends Error {}

export type SchedulerHealth = { ok: boolean; kind: "bullmq" | "memory"; detail?: string };

export interface Scheduler {
  /** Add jobs; a job id that is already waiting or running is left alone (ids are deterministic). */
  schedule<P>(queue: QueueName, jobs: Job<P>[]): Promise<void>;
  cancel(queue: QueueName, jobIds: string[]): Promise<void>;
  /** Start processing a queue with a handler (one per queue). */
  process<P>(queue: QueueName, handler: JobHandler<P>): void;
  /**
   * A repeating job (cron `pattern`, 6 fields with seconds allowed, in Asia/Shanghai) on the "periodic" queue, upserted by
   * id: every replica may call this at boot, and only one job fires per tick (BullMQ job scheduler; in embedded mode
   * there is only one process). Handlers must still be idempotent (outbox dedupe keys).
   */
  repeat<P>(schedulerId: string, pattern: string, payload: P): Promise<void>;
  health(): Promise<SchedulerHealth>;
  /** Called when the scheduler's store comes back after an outage (BullMQ: Redis reconnected), to re-arm timers. */
  onRecovered?(listener: () => void): void;
  close(): Promise<void>;
}

/** Retry policy, in one place: exponential backoff with jitter. */
export const MAX_ATTEMPTS = 8;
export const backoffMs = (attempt: number) => Math.min(60_000, 1000 * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
