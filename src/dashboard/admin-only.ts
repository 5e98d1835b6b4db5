/**
 * The simulator beside real platforms: it acts as any person and its notices reach real groups, so only an admin
 * signed in to the dashboard may use it. Anyone else is sent to the sign-in page (the page; a signed-in leader gets
 * the page saying it is for the admin, with a link to their dashboard) or refused (the API).
 */
import type { MiddlewareHandler } from "hono";
import type { Runtime } from "../runtime.js";
import { Signer } from "./auth.js";
import { adminOnlyHtml } from "./context.js";
import type { DashboardOptions } from "./routes.js";
import { viewerOf } from "./session.js";

export function adminOnly(runtime: Runtime, opts: DashboardOptions): MiddlewareHandler {
  const signer = new Signer(opts.sessionSecret, opts.adminToken);
  return async (c, next) => {
    const path = c.req.path;
    // app.use("/") matches every path; only the page itself is the simulator's.
    if (path !== "/" && !path.startsWith("/sim/")) return next();
    const viewer = await viewerOf(runtime.pipeline.db, signer, c, runtime.clock().getTime());
    if (viewer?.admin) return next();
    if (path === "/" && c.req.method === "GET") {
      // Signed in, but not as the admin: say so, with the way to their own dashboard (not the sign-in page again).
      return viewer ? c.html(adminOnlyHtml(viewer.name), 403) : c.redirect("/dashboard/login", 303);
    }
    return c.json({ error: viewer ? "模拟器只对管理员开放。" : "请先以管理员身份登录看板（/dashboard/login）。" }, viewer ? 403 : 401);
  };
}
