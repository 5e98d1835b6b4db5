/** The digest tasks registered on the scheduler (src/index.ts): each tick is idempotent (outbox dedupe keys). */
import type { PeriodicTask } from "../../runtime.js";
import { DIGEST_TICK, fanOutMonthlyReports, fanOutWeeklyDigests } from "./index.js";

export const digestTasks: PeriodicTask[] = [
  {
    id: "digest-weekly",
    pattern: DIGEST_TICK,
    run: async (rt) => {
      const r = await rt.transact((ctx) => fanOutWeeklyDigests(ctx));
      if (r.queued) rt.opts.logger.info(r, "weekly digests queued");
    },
  },
  {
    id: "report-monthly",
    pattern: DIGEST_TICK,
    run: async (rt) => {
      const r = await rt.transact((ctx) => fanOutMonthlyReports(ctx));
      if (r.queued) rt.opts.logger.info(r, "monthly reports queued");
    },
  },
];
