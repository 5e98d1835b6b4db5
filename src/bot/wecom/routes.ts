/** GET/POST /wecom/callback: one line each; the adapter speaks Web Request/Response. */
import { Hono } from "hono";
import type { WecomAdapter } from "./callback.js";

export function wecomRoutes(adapter: WecomAdapter): Hono {
  const app = new Hono();
  app.on(["GET", "POST"], "/wecom/callback", (c) => adapter.handleCallback(c.req.raw));
  return app;
}
