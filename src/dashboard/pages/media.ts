/** /dashboard/media/:id: a ticket's photo, only for a viewer whose scope covers the ticket. */
import { Hono } from "hono";
import { type DashboardDeps, type DashboardEnv, imageResponse } from "../context.js";
import { mediaFile, ticketInScope } from "../data.js";

export function mediaRoute({ db }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  // The same check as the ticket's page. `?size=thumb` for the thumbnail. The bytes are our own re-encoding (no
  // metadata), served as the type they were checked to be.
  app.get("/dashboard/media/:id", async (c) => {
    const v = c.get("viewer");
    const file = await mediaFile(db, Number(c.req.param("id")), c.req.query("size") === "thumb");
    if (!file || !(await ticketInScope(db, v.scope, file.ticketId))) return c.text("找不到这张照片，或它不在你负责的范围内。", 404);
    return imageResponse(c, file);
  });
  return app;
}
