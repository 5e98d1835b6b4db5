/** The HTTP app: health, readiness, and the routes of each enabled platform. */
import { errInfo } from "./lib/errors.js";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { Logger } from "pino";
import { simRoutes } from "./bot/sim/routes.js";
import { type DashboardOptions, dashboardRoutes } from "./dashboard/routes.js";
import { WecomAdapter } from "./bot/wecom/callback.js";
import type { WecomConfig } from "./bot/wecom/config.js";
import { wecomRoutes } from "./bot/wecom/routes.js";
import type { Runtime } from "./runtime.js";
import { gauges, renderMetrics } from "./workflows/metrics.js";
import { registry } from "./lib/metrics.js";
import { cleanParams } from "./http/params.js";

/** An extra readiness check (e.g. a platform connection): `ok: false` makes /readyz answer 503. */
export type ReadinessCheck = () => { name: string; ok: boolean; detail?: unknown } | Promise<{ name: string; ok: boolean; detail?: unknown }>;

export type AppOptions = { runtime: Runtime; logger: Logger; sim: boolean; wecom?: WecomConfig | null; readiness?: ReadinessCheck[]; /** The leaders' dashboard at /dashboard. */ dashboard?: DashboardOptions };

export function createApp({ runtime, logger, sim, wecom, readiness: given = [], dashboard }: AppOptions): Hono {
  const readiness = [...given];
  const app = new Hono();
  app.use(requestId());
  app.use(cleanParams);

  app.get("/healthz", (c) => c.json({ ok: true }));
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

  app.get("/metrics", async (c) => {
    const text = renderMetrics(await gauges(runtime.opts.database.db, runtime.clock())) + (await registry.metrics());
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4" });
  });

  if (sim) app.route("/", simRoutes(runtime));
  if (dashboard) app.route("/", dashboardRoutes(runtime, dashboard));
  if (wecom) {
    const adapter = new WecomAdapter({ config: wecom, pipeline: runtime.pipeline, logger });
    readiness.push(() => adapter.botNames.readiness());
    app.route("/", wecomRoutes(adapter));
  }

  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    logger.error({ ...errInfo(err), path: c.req.path, requestId: c.get("requestId") }, "request failed");
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
