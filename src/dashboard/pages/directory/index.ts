/**
 * The directory on the dashboard (/dashboard/directory/…), one module per page: the 邻 and their 邻长, people,
 * households, a handover, group binding, the workbook upload and the change history. Open to the admin and to
 * village and town officials for their own subtree (rosterOnly); binding and the upload are the admin's.
 */
import { Hono } from "hono";
import type { DashboardDeps, DashboardEnv } from "../../context.js";
import { directoryChatsPage } from "./chats.js";
import { rosterOnly } from "./common.js";
import { directoryHandoverPage } from "./handover.js";
import { directoryHistoryPage } from "./history.js";
import { directoryHouseholdsPage } from "./households.js";
import { directoryPeoplePage } from "./people.js";
import { directoryUnitsPage } from "./units.js";
import { directoryUploadPage } from "./upload.js";

const PAGES = [
  directoryUnitsPage,
  directoryHandoverPage,
  directoryPeoplePage,
  directoryHouseholdsPage,
  directoryChatsPage,
  directoryUploadPage,
  directoryHistoryPage,
];

export function directoryPages(deps: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.use("/dashboard/directory", rosterOnly);
  app.use("/dashboard/directory/*", rosterOnly);
  for (const page of PAGES) app.route("/", page(deps));
  return app;
}
