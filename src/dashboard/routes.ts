/**
 * The leaders' dashboard (/dashboard): sign-in with the admin token or a leader's signed login link, then one module
 * per page under pages/ (overview, the per-unit table, tickets, a ticket's timeline, photos, scorecards, 走访核对, login links, exports).
 * A leader sees their own unit's subtree; the admin sees everything. Sessions are HMAC-signed cookies (HttpOnly,
 * SameSite=Strict).
 *
 * Adding a page: write pages/<page>.ts exporting `(deps: DashboardDeps) => Hono<DashboardEnv>` (its routes with full
 * /dashboard/... paths, its queries in a data module, `render` for the frame, `adminOnlyPage` if only the admin may
 * use it) and add one line to PAGES below.
 */
import type { Context, Next } from "hono";
import { Hono } from "hono";
import type { Runtime } from "../runtime.js";
import { LINK_TTL_MS, Signer } from "./auth.js";
import { type DashboardDeps, type DashboardEnv, type DashboardPage, notFoundPage } from "./context.js";
import type { LoginLimits } from "./login-limit.js";
import { circularsPage } from "./pages/circulars.js";
import { mediationsPage } from "./pages/mediations.js";
import { directoryPages } from "./pages/directory/index.js";
import { exportRoutes } from "./pages/export.js";
import { linksPage } from "./pages/links.js";
import { loginPage } from "./pages/login.js";
import { mediaRoute } from "./pages/media.js";
import { meetingsPage } from "./pages/meetings.js";
import { overviewPage } from "./pages/overview.js";
import { scorecardsPage } from "./pages/scorecards.js";
import { ticketPage } from "./pages/ticket.js";
import { ticketsPage } from "./pages/tickets.js";
import { unitsPage } from "./pages/units.js";
import { visitsPage } from "./pages/visits.js";
import { viewerOf } from "./session.js";
import { scopeTree } from "./tree.js";

export type DashboardOptions = {
  adminToken?: string;
  sessionSecret?: string;
  /** How long a leader's login link is valid (LOGIN_LINK_TTL; default LINK_TTL_MS). */
  linkTtlMs?: number;
  /** Behind a TLS-terminating proxy (TRUST_PROXY): its X-Forwarded-Proto and X-Forwarded-For are believed. */
  trustProxy?: boolean;
  /** The sign-in limits (tests set their own). */
  loginLimits?: LoginLimits;
};

/** The pages behind the sign-in, in the order their routes are matched. */
const PAGES: DashboardPage[] = [
  overviewPage,
  unitsPage,
  ticketsPage,
  ticketPage,
  mediaRoute,
  scorecardsPage,
  visitsPage,
  meetingsPage,
  circularsPage,
  mediationsPage,
  linksPage,
  exportRoutes,
  directoryPages,
];

export function dashboardRoutes(runtime: Runtime, opts: DashboardOptions): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  const deps: DashboardDeps = {
    runtime,
    db: runtime.pipeline.db,
    signer: new Signer(opts.sessionSecret, opts.adminToken),
    now: () => runtime.clock(),
    linkTtlMs: opts.linkTtlMs ?? LINK_TTL_MS,
    trustProxy: opts.trustProxy ?? false,
  };

  app.route("/", loginPage(deps, opts));

  // Everything below needs a session (the routes above answered already).
  const auth = async (c: Context<DashboardEnv>, next: Next) => {
    const viewer = await viewerOf(deps.db, deps.signer, c, deps.now().getTime());
    if (!viewer) {
      if (c.req.method === "GET" && !c.req.path.startsWith("/dashboard/export")) return c.redirect("/dashboard/login", 303);
      return c.text("请先登录", 401);
    }
    // The viewer's units, from the tree kept between requests: every scoped query takes them as one list.
    if (viewer.scope.rootId) viewer.scope.unitIds = (await scopeTree(deps.db)).below(viewer.scope.rootId);
    c.set("viewer", viewer);
    await next();
  };
  app.use("/dashboard", auth);
  app.use("/dashboard/*", auth);

  for (const page of PAGES) app.route("/", page(deps));
  // A dashboard address no page answered (a mistyped or outdated link): the dashboard's own page, not the API's JSON.
  app.get("/dashboard/*", (c) => notFoundPage(c, "找不到这一页", ["/dashboard", "返回概览"]));
  return app;
}
