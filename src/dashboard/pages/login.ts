/** Sign-in (admin token, or a leader's signed login link) and sign-out: the routes that need no session. */
import { eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { people } from "../../db/schema/index.js";
import { formatDurationZh } from "../../lib/duration.js";
import { ADMIN, SESSION_TTL_MS, tokenMatches } from "../auth.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { clientAddress, LoginLimiter, type LoginLimits } from "../login-limit.js";
import { COOKIE, overHttps } from "../session.js";
import { h, page } from "../views.js";

export function loginPage(deps: DashboardDeps, opts: { adminToken?: string; loginLimits?: LoginLimits }) {
  const app = new Hono<DashboardEnv>();
  const { db, signer, now, linkTtlMs, trustProxy } = deps;
  const limiter = new LoginLimiter(opts.loginLimits);
  // Path "/": the simulator, when it sits behind the admin sign-in, reads the same session.
  const startSession = (c: Context, sub: string, v?: number) => {
    setCookie(c, COOKIE, signer.sign("session", { sub, exp: now().getTime() + SESSION_TTL_MS, ...(v === undefined ? {} : { v }) }), {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: overHttps(c, trustProxy),
      maxAge: SESSION_TTL_MS / 1000,
    });
  };

  const form = (error?: string) =>
    page(
      "登录",
      h`<div class="login card"><h1>好邻看板 · 登录</h1>
        ${error ? h`<p class="err">${error}</p>` : ""}
        <form method="post" action="/dashboard/login">
          <label>管理员口令<br><input type="password" name="token" autocomplete="current-password" required style="width:100%"></label>
          <p><button class="primary" type="submit">登录</button></p>
        </form>
        <p class="muted">村、组负责人请使用管理员发给你的个人登录链接（${formatDurationZh(linkTtlMs)}内有效）。</p></div>`,
      null,
    );

  app.get("/dashboard/login", (c) => c.html(form()));

  app.post("/dashboard/login", async (c) => {
    const refusal = limiter.check(clientAddress(c, trustProxy), now().getTime());
    if (refusal) {
      c.header("retry-after", String(Math.ceil(refusal.retryAfterMs / 1000)));
      return c.html(form(refusal.text), 429);
    }
    const body = await c.req.parseBody();
    const token = typeof body.token === "string" ? body.token : "";
    if (!tokenMatches(token, opts.adminToken)) return c.html(form("口令不正确。"), 401);
    startSession(c, ADMIN);
    return c.redirect("/dashboard", 303);
  });

  app.get("/dashboard/login/link", async (c) => {
    const link = signer.verify("link", c.req.query("k"), now().getTime());
    if (!link) return c.html(form("登录链接无效或已过期，请向管理员重新索取。"), 401);
    // A link made before the person's links were revoked is refused like an expired one.
    const [p] = await db.select({ v: people.linkVersion }).from(people).where(eq(people.id, link.sub));
    if (!p || p.v !== (link.v ?? 0)) return c.html(form("登录链接无效或已过期，请向管理员重新索取。"), 401);
    startSession(c, link.sub, p.v);
    return c.redirect("/dashboard", 303);
  });

  app.post("/dashboard/logout", (c) => {
    deleteCookie(c, COOKIE, { path: "/" });
    return c.redirect("/dashboard/login", 303);
  });
  return app;
}
