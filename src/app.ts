/** The HTTP app: health, readiness, and the routes of each enabled platform. */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { Logger } from "pino";
import { simRoutes } from "./bot/sim/routes.js";
import type { Runtime } from "./runtime.js";

export type AppOptions = { runtime: Runtime; logger: Logger; sim: boolean };

export function createApp({ runtime, logger, sim }: AppOptions): Hono {
  const app = new Hono();
  app.use(requestId());

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", async (c) => {
    const checks: Record<string, unknown> = {};
    let ok = true;
    try {
      await runtime.opts.database.ping();
      checks.database = "ok";
    } catch (err) {
      ok = false;
      checks.database = (err as Error).message;
    }
    const sched = await runtime.opts.scheduler.health();
    checks.scheduler = sched;
    ok &&= sched.ok;
    const last = runtime.lastReconcile;
    checks.reconciler = last
      ? { at: last.at.toISOString(), oldestOverdueMs: last.oldestOverdueMs, applied: last.applied }
      : "not run yet";
    return c.json({ ok, checks }, ok ? 200 : 503);
  });

  if (sim) app.route("/", simRoutes(runtime));

  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    logger.error({ err: err.message, path: c.req.path, requestId: c.get("requestId") }, "request failed");
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
