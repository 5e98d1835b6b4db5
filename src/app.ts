/** The HTTP app: health, readiness, and the routes of each enabled platform. */
import { errInfo } from "./lib/errors.js";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { Logger } from "pino";
import { simRoutes } from "./bot/sim/routes.js";
import { type DashboardOptions, dashboardRoutes } from "./dashboard/routes.js";
import type { WecomAppApi } from "./bot/wecom/app-api.js";
import { WecomAdapter } from "./bot/wecom/callback.js";
import type { WecomConfig } from "./bot/wecom/config.js";
import { wecomRoutes } from "./bot/wecom/routes.js";
import type { Runtime } from "./runtime.js";
import { gauges, renderMetrics } from "./workflows/metrics.js";
import { registry } from "./lib/metrics.js";
import { cleanParams } from "./http/params.js";
import { securityHeaders } from "./http/security-headers.js";
import { adminOnly } from "./dashboard/admin-only.js";
import { bearerAuth } from "hono/bearer-auth";

const databaseUp = (up: 0 | 1) =>
  `# HELP haolin_database_up Whether the database answered the gauges above (0: they are left out)\n# TYPE haolin_database_up gauge\nhaolin_database_up ${up}\n`;

function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => {});
  return Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** An extra readiness check (e.g. a platform connection): `ok: false` makes /readyz answer 503. */
export type ReadinessCheck = () => { name: string; ok: boolean; detail?: unknown } | Promise<{ name: string; ok: boolean; detail?: unknown }>;

export type AppOptions = {
  runtime: Runtime;
  logger: Logger;
  /** The simulator: off, open (embedded default, demos), or only for a signed-in admin (beside real platforms). */
  sim: boolean | "behind-sign-in";
  wecom?: WecomConfig | null;
  /** The WeCom 自建应用, when configured (the callback uses it to resolve open_userids). */
  wecomApp?: WecomAppApi | null;
  readiness?: ReadinessCheck[];
  /** The leaders' dashboard at /dashboard. */
  dashboard?: DashboardOptions;
  /** METRICS_TOKEN: /metrics only with this bearer token. */
  metricsToken?: string;
};

/** The app's mark (the simulator's 邻 on green) for the browser tab. */
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#12a36b"/>' +
  '<text x="32" y="45" font-size="38" text-anchor="middle" fill="#fff" font-family="sans-serif">邻</text></svg>';

/** How long /metrics waits for the database-wide gauges before serving the process's own metrics without them. */
const GAUGES_TIMEOUT_MS = 2000;

export function createApp({ runtime, logger, sim, wecom, wecomApp, readiness: given = [], dashboard, metricsToken }: AppOptions): Hono {
  const readiness = [...given];
  const app = new Hono();
  // The WeCom callback comes first: its answers go to WeCom's servers, never a browser, so the browser-facing
  // middleware below (request ids, security headers, the query check) would only cost each callback its CPU — on a
  // flood day a thousand callbacks a second (docs/performance.md). The adapter checks its own query and body.
  if (wecom) {
    const adapter = new WecomAdapter({ config: wecom, pipeline: runtime.pipeline, logger, app: wecomApp });
    readiness.push(() => adapter.botNames.readiness());
    app.route("/", wecomRoutes(adapter));
  }
  app.use(requestId());
  app.use(securityHeaders());
  app.use(cleanParams);

  app.get("/healthz", (c) => c.json({ ok: true }));
  // Browsers ask every page's origin for /favicon.ico; without one each page logs a 404 in the console.
  app.get("/favicon.ico", (c) => c.body(FAVICON, 200, { "content-type": "image/svg+xml", "cache-control": "public, max-age=86400" }));
  app.get("/readyz", async (c) => {
    const checks: Record<string, unknown> = {};
    let ok = true;
    try {
      await runtime.opts.database.ping();
      checks.database = "ok";
    } catch {
      // Which dependency is down, not the driver's words (they can name hosts, users and databases).
      ok = false;
      checks.database = "unavailable";
    }
    const sched = await runtime.opts.scheduler.health();
    checks.scheduler = sched;
    ok &&= sched.ok;
    const last = runtime.lastReconcile;
    checks.reconciler = last
      ? { at: last.at.toISOString(), oldestOverdueMs: last.oldestOverdueMs, applied: last.applied }
      : "not run yet";
    for (const check of readiness) {
      const r = await check();
      checks[r.name] = { ok: r.ok, ...(r.detail && typeof r.detail === "object" ? r.detail : { detail: r.detail }) };
      ok &&= r.ok;
    }
    return c.json({ ok, checks }, ok ? 200 : 503);
  });

  if (metricsToken) app.use("/metrics", bearerAuth({ token: metricsToken }));
  app.get("/metrics", async (c) => {
    // The database-wide gauges need the database; the process's own metrics must still be served when it is down.
    let shared: string;
    try {
      shared = renderMetrics(await bounded(gauges(runtime.opts.database.db, runtime.clock()), GAUGES_TIMEOUT_MS)) + databaseUp(1);
    } catch {
      shared = databaseUp(0);
    }
    return c.text(shared + (await registry.metrics()), 200, { "content-type": "text/plain; version=0.0.4" });
  });

  if (sim === "behind-sign-in") {
    if (!dashboard) throw new Error("the simulator behind the sign-in needs the dashboard's sign-in");
    const signIn = adminOnly(runtime, dashboard);
    app.use("/", signIn);
    app.use("/sim/*", signIn);
  }
  if (sim) app.route("/", simRoutes(runtime));
  if (dashboard) app.route("/", dashboardRoutes(runtime, dashboard));

  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    logger.error({ ...errInfo(err), path: c.req.path, requestId: c.get("requestId") }, "request failed");
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
