/**
 * Positive markers for "nothing else happened": instead of sleeping and hoping the event would have come by then,
 * a test waits for a later event that must come after it. This records, on a real runtime and scheduler, which
 * jobs the product asked for (queue, id, the time it chose) and which wake-up slots have been handled to the end.
 */
import type { Runtime } from "../../src/runtime.js";
import type { Job, QueueName, Scheduler } from "../../src/scheduler/types.js";
import { wakeSlot } from "../../src/workflows/tickets.js";
import { waitFor } from "./harness.js";

export type Scheduled = { queue: QueueName; jobId: string; runAt: Date };

export function observe(runtime: Runtime, scheduler: Scheduler) {
  const scheduled: Scheduled[] = [];
  const woken = new Set<number>();
  const schedule = scheduler.schedule.bind(scheduler);
  scheduler.schedule = async <P>(queue: QueueName, jobs: Job<P>[]) => {
    await schedule(queue, jobs);
    for (const j of jobs) scheduled.push({ queue, jobId: j.jobId, runAt: j.runAt });
  };
  const onWake = runtime.onWake.bind(runtime);
  runtime.onWake = async (slot: Date) => {
    await onWake(slot);
    woken.add(slot.getTime());
  };
  return {
    scheduled,
    woken,
    /** The wake-up jobs asked for so far. */
    wakes: () => scheduled.filter((s) => s.queue === "deadlines"),
    /** Wait until the wake-up slot of a clock lapsing at `dueAt` has been handled completely. */
    async wokenFor(dueAt: Date, timeoutMs = 30_000): Promise<void> {
      const slot = wakeSlot(dueAt).getTime();
      await waitFor(async () => woken.has(slot), timeoutMs);
    },
    /** Wait until every wake-up job in `jobs` has been handled completely. */
    async allWoken(jobs: Scheduled[], timeoutMs = 30_000): Promise<void> {
      await waitFor(async () => jobs.every((j) => woken.has(j.runAt.getTime())), timeoutMs);
    },
  };
}
