/** The visit tasks registered on the scheduler (src/index.ts): each run is idempotent (outbox dedupe keys). */
import type { PeriodicTask } from "../../runtime.js";
import { runVisitReminders } from "./reminders.js";

export const visitTasks: PeriodicTask[] = [
  {
    // Daily at 09:00 Asia/Shanghai: weekly-contact nudges and the due list before the 集中走访日.
    id: "visit-reminders",
    pattern: "0 9 * * *",
    run: async (rt) => {
      const r = await rt.transact((ctx) => runVisitReminders(ctx));
      rt.opts.logger.info(r, "visit reminders");
    },
  },
];
