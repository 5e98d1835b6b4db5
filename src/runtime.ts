/**
 * Wires the parts together for one process: database, scheduler (BullMQ or in-process), platform senders,
 * the message pipeline, the job handlers and the reconciler. Used by src/index.ts and by the tests.
 */
import type { Logger } from "pino";
import { createPipeline, type PipelineDeps } from "./bot/pipeline.js";
import { inArray, type SQL } from "drizzle-orm";
import type { Database } from "./db/client.js";
import { tickets } from "./db/schema/index.js";
import { errInfo } from "./lib/errors.js";
import { Permanent, type Scheduler } from "./scheduler/types.js";
import type { Ctx } from "./workflows/context.js";
import { type DeliveryDeps, deliverOutbox, pendingOutbox, type Sender } from "./workflows/delivery.js";
import { Effects } from "./workflows/effects.js";
import { type DeadlineOutcome, handleDeadline, handleDeadlines, readForEscalation } from "./workflows/escalation.js";
import { wakeJob } from "./workflows/tickets.js";
import type { PolicyOverrides } from "./workflows/policy.js";
import { inSlot, lapsedDeadlines, upcomingTimers } from "./workflows/reconcile.js";
import { RecentSet } from "./lib/recent-set.js";
import { deadlines, deliveries } from "./lib/metrics.js";
import { type MediaDeps, type MediaFetcher, pendingMedia, processMedia } from "./workflows/media/job.js";
import { sweepHeldPhotos } from "./workflows/media/attach.js";
import { sweepQuestions } from "./workflows/questions.js";

export type RuntimeOptions = {
  database: Database;
  scheduler: Scheduler;
  senders: Sender[];
  /** How photos are fetched from each platform (the simulator's come inline). */
  fetchers?: MediaFetcher[];
  logger: Logger;
  botNames: string[];
  overrides?: PolicyOverrides;
  clock?: () => Date;
  /** How often the reconciler runs (default 30 s). */
  reconcileIntervalMs?: number;
  /** A deadline this late is applied by the reconciler itself, not left to its timer (default 15 s). */
  graceMs?: number;
};

/** A periodic task (digests, reminders): runs on one replica per tick; must be idempotent. */
export type PeriodicTask = { id: string; pattern: string; run: (rt: Runtime) => Promise<void> };

/** `armed`: the timers and deliveries could be (re)set in the scheduler; false while Redis is down. */
/** `dbMs`: how long the pass waited on the database (its reads and sweeps, and the deadlines it applied). */
export type ReconcileReport = {
  applied: number;
  timers: number;
  outbox: number;
  media: number;
  oldestOverdueMs: number;
  armed: boolean;
  dbMs: number;
};

/**
 * The reconciler re-adds wake-up jobs for clocks lapsing within this horizon (and outbox deliveries due within it).
 * Every pass covers the next 15 minutes, which is plenty at a 30 s interval, and keeps a pass cheap however many
 * tickets are open (a 24 h horizon re-added every open ticket's job every 30 s).
 */
const HORIZON_MS = 15 * 60_000;

/**
 * Lapsed clocks written in one statement. A wave of reports comes due together four hours later: a 100 ms wake-up
 * slot may hold hundreds; the reconciler catches up 500 at a time.
 */
const DEADLINE_BATCH = 500;

const mediaJob = (id: number, runAt: Date) => ({ jobId: `media-${id}`, payload: { id }, runAt });

export class Runtime {
  readonly pipeline: PipelineDeps;
  readonly delivery: DeliveryDeps;
  readonly media: MediaDeps;
  private timer: NodeJS.Timeout | null = null;
  private readonly periodic = new Map<string, PeriodicTask>();
  private reconciling: Promise<ReconcileReport> | null = null;
  /** Wake-up slots this process has set (Redis may lose them: the reconciler sets upcoming ones again). */
  private readonly slotsSet = new RecentSet(10_000);
  lastReconcile: (ReconcileReport & { at: Date }) | null = null;

  constructor(readonly opts: RuntimeOptions) {
    const clock = opts.clock ?? (() => new Date());
    this.pipeline = createPipeline({
      db: opts.database.db,
      clock,
      overrides: opts.overrides ?? {},
      botNames: opts.botNames,
      logger: opts.logger,
      afterCommit: (e) => this.afterCommit(e),
      senders: opts.senders,
    });
    this.delivery = { db: opts.database.db, clock, senders: opts.senders, logger: opts.logger };
    this.media = { db: opts.database.db, clock, fetchers: opts.fetchers ?? [], logger: opts.logger, transact: (work) => this.transact(work) };
  }

  get clock() {
    return this.pipeline.clock;
  }

  /** Timers and deliveries a committed transaction asked for. Failure here loses nothing: the reconciler redoes it. */
  async afterCommit(e: Effects): Promise<void> {
    const s = this.opts.scheduler;
    try {
      // A slot this process has set already is not set again: many tickets share one (see wakeSlot).
      const timers = e.timers.filter((t) => !this.slotsSet.has(t.jobId));
      if (timers.length) {
        await s.schedule(
          "deadlines",
          timers.map((t) => wakeJob(t.runAt, t.jobId)),
        );
        this.slotsSet.add(...timers.map((t) => t.jobId));
      }
      if (e.outbox.length)
        await s.schedule(
          "outbox",
          e.outbox.map((o) => ({ jobId: `out-${o.id}`, payload: { id: o.id }, runAt: o.notBefore })),
        );
      if (e.media.length) await s.schedule("media", e.media.map((m) => mediaJob(m.id, this.clock())));
    } catch (err) {
      this.opts.logger.warn(errInfo(err), "scheduling after commit failed; the reconciler will retry");
    }
  }

  /** Run a unit of work in one transaction, then its effects. */
  async transact<T>(work: (ctx: Ctx) => Promise<T>): Promise<T> {
    const effects = new Effects();
    const out = await this.opts.database.db.transaction((db) =>
      work({ db, now: this.clock(), effects, overrides: this.pipeline.overrides }),
    );
    await this.afterCommit(effects);
    return out;
  }

  /**
   * A wake-up slot's job: every ticket whose clock lapses in the slot, together (see onDeadlines). If a ticket fails,
   * the job fails after the rest have run, and the queue retries it (the done ones are then stale).
   */
  async onWake(slot: Date): Promise<void> {
    const { failures } = await this.onDeadlines(inSlot(slot));
    if (failures.length) throw failures[0];
  }

  /** One ticket's lapsed clock, in a transaction of its own. */
  async onDeadline(ticketId: number): Promise<DeadlineOutcome> {
    const outcome = await this.transact((ctx) => handleDeadline(ctx, ticketId));
    this.opts.logger.info({ ticketId, outcome }, "deadline");
    deadlines.inc({ outcome });
    return outcome;
  }

  /**
   * Many lapsed clocks (the tickets meeting `which`): read in one statement, then written DEADLINE_BATCH at a time, each
   * batch's compare-and-sets, events and outbox rows one statement (its own transaction; see applyEscalations) — two
   * round trips for a slot's wave where a transaction per ticket took ten each. A batch that fails is retried ticket
   * by ticket, each in its own transaction, so one bad ticket fails alone: the failures are returned, the rest are done.
   */
  async onDeadlines(which: SQL | undefined): Promise<{ outcomes: Map<number, DeadlineOutcome>; failures: unknown[] }> {
    const outcomes = new Map<number, DeadlineOutcome>();
    const failures: unknown[] = [];
    const { db } = this.opts.database;
    const now = this.clock();
    const { inputs, directoryVersion } = await readForEscalation(db, which);
    this.pipeline.directory.observe(directoryVersion);
    for (let i = 0; i < inputs.length; i += DEADLINE_BATCH) {
      const batch = inputs.slice(i, i + DEADLINE_BATCH);
      const effects = new Effects();
      let done: Map<number, DeadlineOutcome>;
      try {
        const ctx: Ctx = { db, now, effects, overrides: this.pipeline.overrides, directory: this.pipeline.directory };
        done = await handleDeadlines(ctx, batch);
      } catch (err) {
        this.opts.logger.warn({ tickets: batch.length, ...errInfo(err) }, "a batch of deadlines failed; each ticket goes again alone");
        for (const { t } of batch) {
          await this.onDeadline(t.id).then(
            (outcome) => outcomes.set(t.id, outcome),
            (e: unknown) => {
              this.opts.logger.error({ ticketId: t.id, ...errInfo(e) }, "deadline failed");
              failures.push(e);
            },
          );
        }
        continue;
      }
      await this.afterCommit(effects);
      const counts: Partial<Record<DeadlineOutcome, number>> = {};
      for (const [id, outcome] of done) {
        outcomes.set(id, outcome);
        counts[outcome] = (counts[outcome] ?? 0) + 1;
        deadlines.inc({ outcome });
      }
      if (batch.length === 1) this.opts.logger.info({ ticketId: batch[0]?.t.id, outcome: done.get(batch[0]?.t.id as number) }, "deadline");
      else this.opts.logger.info({ tickets: batch.length, ...counts }, "deadlines");
    }
    return { outcomes, failures };
  }

  start(): void {
    this.opts.scheduler.process<{ slot: number } | { ticketId: number }>("deadlines", async (p) => {
      // A job per ticket is what versions before wake-up slots set; they may still be waiting in Redis.
      if ("ticketId" in p) await this.onDeadline(p.ticketId);
      else await this.onWake(new Date(p.slot));
    });
    this.opts.scheduler.process<{ id: number }>("outbox", async (p) => {
      try {
        const outcome = await deliverOutbox(this.delivery, p.id);
        if (outcome !== "gone") deliveries.inc({ result: outcome });
      } catch (err) {
        deliveries.inc({ result: err instanceof Permanent ? "failed" : "retry" });
        throw err;
      }
    });
    this.opts.scheduler.process<{ id: number }>("media", async (p, info) => {
      await processMedia(this.media, p.id, info.attempt);
    });
    this.opts.scheduler.process<{ task: string }>("periodic", async (p) => {
      const task = this.periodic.get(p.task);
      if (!task) return;
      await task.run(this);
    });
    // Redis back after an outage: re-arm at once rather than at the next pass.
    this.opts.scheduler.onRecovered?.(() => void this.reconcile().catch(() => {}));
    const every = this.opts.reconcileIntervalMs ?? 30_000;
    this.timer = setInterval(() => void this.reconcile().catch(() => {}), every);
    this.timer.unref();
  }

  /** Register a periodic task (call before or after start). */
  async addPeriodic(task: PeriodicTask): Promise<void> {
    this.periodic.set(task.id, task);
    await this.opts.scheduler.repeat(task.id, task.pattern, { task: task.id });
  }

  /** One reconciler pass; concurrent calls share the running pass. */
  reconcile(): Promise<ReconcileReport> {
    if (!this.reconciling) {
      this.reconciling = this.reconcileOnce()
        .catch((err) => {
          this.opts.logger.error(errInfo(err), "reconcile failed");
          throw err;
        })
        .finally(() => {
          this.reconciling = null;
        });
    }
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<ReconcileReport> {
    const { db } = this.opts.database;
    const now = this.clock();
    const grace = this.opts.graceMs ?? 15_000;
    const started = performance.now();
    const lapsed = await lapsedDeadlines(db, new Date(now.getTime() - grace), 500);
    const oldestOverdueMs = lapsed[0] ? now.getTime() - lapsed[0].due.getTime() : 0;
    const { outcomes, failures } = lapsed.length
      ? await this.onDeadlines(inArray(tickets.id, lapsed.map((d) => d.id)))
      : { outcomes: new Map<number, DeadlineOutcome>(), failures: [] };
    // A ticket that keeps failing does not stop the pass (it was logged): the rest of recovery comes after it.
    const applied = [...outcomes.values()].filter((o) => o !== "not_due" && o !== "stale").length;
    if (failures.length) this.opts.logger.error({ failed: failures.length }, "deadlines failed in the reconciler");
    const timers = await upcomingTimers(db, new Date(now.getTime() + HORIZON_MS));
    const rows = await pendingOutbox(db, now, HORIZON_MS);
    await sweepHeldPhotos(db, now);
    await sweepQuestions(db, now);
    const photos = await pendingMedia(db);
    const dbMs = Math.round(performance.now() - started);
    // Re-arming needs the scheduler (Redis); the deadlines above did not. Redis being down must not fail the pass:
    // the deadlines keep being applied from PostgreSQL every pass, and the timers are re-armed once it is back.
    let armed = true;
    try {
      await this.opts.scheduler.schedule("deadlines", timers);
      // Job schedulers live in Redis: after a flush they are gone until upserted again.
      for (const task of this.periodic.values()) await this.opts.scheduler.repeat(task.id, task.pattern, { task: task.id });
      await this.opts.scheduler.schedule(
        "outbox",
        rows.map((r) => ({ jobId: `out-${r.id}`, payload: { id: r.id }, runAt: r.notBefore })),
      );
      await this.opts.scheduler.schedule("media", photos.map((m) => mediaJob(m.id, now)));
    } catch (err) {
      armed = false;
      this.opts.logger.warn(errInfo(err), "reconciler could not re-arm timers (scheduler unavailable); the next pass tries again");
    }
    const report = { applied, timers: timers.length, outbox: rows.length, media: photos.length, oldestOverdueMs, armed, dbMs };
    this.lastReconcile = { ...report, at: now };
    if (applied || oldestOverdueMs > 60_000) this.opts.logger.warn(report, "reconciler caught up on lapsed deadlines");
    return report;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reconciling?.catch(() => {});
  }
}
