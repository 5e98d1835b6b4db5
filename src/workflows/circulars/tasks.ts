/** The notice task registered on the scheduler (src/index.ts): each run is idempotent (see reminders.ts). */
import type { PeriodicTask } from "../../runtime.js";
import { runCircularReminders } from "./reminders.js";

export const circularTasks: PeriodicTask[] = [
  {
    // Every 5 minutes (6-field cron, Asia/Shanghai): a reminder goes out within minutes of its three days.
    id: "circular-reminders",
    pattern: "0 */5 * * * *",
    run: async (rt) => {
      const r = await rt.transact((ctx) => runCircularReminders(ctx));
      if (r.reminded) rt.opts.logger.info(r, "notice reminders queued");
    },
  },
];
