/** The mediation task registered on the scheduler (src/index.ts): each run is idempotent (see reminders.ts). */
import type { PeriodicTask } from "../../runtime.js";
import { runMediationReminders } from "./reminders.js";

export const mediationTasks: PeriodicTask[] = [
  {
    // Daily at 09:00 (6-field cron, Asia/Shanghai), with the visit reminders.
    id: "mediation-reminders",
    pattern: "0 0 9 * * *",
    run: async (rt) => {
      const r = await rt.transact((ctx) => runMediationReminders(ctx));
      if (r.reminded) rt.opts.logger.info(r, "mediation reminders queued");
    },
  },
];
