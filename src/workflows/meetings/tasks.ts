/** The meeting tasks registered on the scheduler (src/index.ts): each tick is idempotent (outbox dedupe keys). */
import type { PeriodicTask } from "../../runtime.js";
import { DIGEST_TICK } from "../digests/index.js";
import { fanOutGoodNeighbors } from "../good-neighbors.js";
import { remindMissingTalks } from "./missing.js";

export const meetingTasks: PeriodicTask[] = [
  {
    // From the 25th 09:00: the 组长 of each group without a 恳谈会 this month, once (checked every 5 minutes).
    id: "meeting-missing-talks",
    pattern: DIGEST_TICK,
    run: async (rt) => {
      const r = await rt.transact((ctx) => remindMissingTalks(ctx));
      if (r.queued) rt.opts.logger.info(r, "missing 恳谈会 reminders queued");
    },
  },
  {
    // On the monthly report day: each village's 好邻 list, kept and posted to its group chats once.
    id: "good-neighbors-monthly",
    pattern: DIGEST_TICK,
    run: async (rt) => {
      const r = await rt.transact((ctx) => fanOutGoodNeighbors(ctx));
      if (r.made) rt.opts.logger.info(r, "好邻 lists made");
    },
  },
];
