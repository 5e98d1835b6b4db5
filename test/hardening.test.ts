/**
 * Issue 16 items 3 and 4, over real HTTP on the real app and database: the simulator beside real platform credentials
 * is refused or sits behind the admin sign-in; the sign-in is rate-limited per address and overall (429 in Chinese);
 * every response carries the security headers; cookies are Secure behind a trusted TLS proxy; leaders' links are
 * short-lived and revocable; /readyz and /metrics say the database is down without its error text, and /metrics can
 * require a bearer token.
 */
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { serve } from "@hono/node-server";
import { count } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type AppOptions } from "../src/app.js";
import { inboundMessages } from "../src/db/schema/index.js";
import { EnvError, loadEnv, simMode } from "../src/env.js";
import { createHarness, type Harness, silent } from "./helpers/harness.js";

const TOKEN = "hardening-admin-token-0123";
const SECRET = "h".repeat(40);
const WECOM = { WECOM_TOKEN: "Tok123", WECOM_ENCODING_AES_KEY: "a".repeat(43), WECOM_BOT_ID: "aib1" };
let h: Harness;
let offsetMs = 0;
const servers: { close: () => Promise<void> }[] = [];

beforeAll(async () => {
  h = await createHarness({ clock: () => new Date(Date.now() + offsetMs) });
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await h?.close();
});

/** The real app on a real port; returns its base URL. */
async function listen(opts: Partial<AppOptions>): Promise<string> {
  const app = createApp({ runtime: h.runtime, logger: silent, sim: true, ...opts });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  servers.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const form = (body: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(body).toString(),
  redirect: "manual" as const,
});
const cookieOf = (res: Response) => (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
async function adminCookie(base: string): Promise<string> {
  const res = await fetch(`${base}/dashboard/login`, form({ token: TOKEN }));
  expect(res.status).toBe(303);
  return cookieOf(res);
}
/** A leader's login link as the admin's links page shows it. */
async function linkFor(base: string, admin: string, personId: string): Promise<string> {
  const html = await (await fetch(`${base}/dashboard/links`, { headers: { cookie: admin } })).text();
  const m = new RegExp(`value="([^"]+)" style="width:100%" data-person="${personId}"`).exec(html);
  return (m?.[1] ?? "").replaceAll("&amp;", "&");
}

describe("the simulator beside real platform credentials", () => {
  it("is off unless asked for, and refused without ADMIN_TOKEN", () => {
    expect(simMode(loadEnv({}))).toBe("open"); // the embedded default
    expect(simMode(loadEnv({ ...WECOM }))).toBe("off");
    expect(simMode(loadEnv({ DINGTALK_CLIENT_ID: "ding1", DINGTALK_CLIENT_SECRET: "s" }))).toBe("off");
    expect(() => simMode(loadEnv({ ...WECOM, SIM_ENABLED: "true" }))).toThrow(EnvError);
    expect(() => simMode(loadEnv({ ...WECOM, SIM_ENABLED: "true" }))).toThrow(/ADMIN_TOKEN/);
    expect(simMode(loadEnv({ ...WECOM, SIM_ENABLED: "true", ADMIN_TOKEN: TOKEN }))).toBe("behind-sign-in");
  });

  it("the real binary refuses to start with SIM_ENABLED=true beside WeCom credentials and no ADMIN_TOKEN", async () => {
    const root = path.resolve(import.meta.dirname, "..");
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("WECOM_") && k !== "ADMIN_TOKEN" && k !== "VITEST"));
    const child = spawn(process.execPath, ["--import", "tsx", "src/index.ts"], {
      cwd: root,
      env: { ...env, ...WECOM, SIM_ENABLED: "true", PORT: "0", DATA_DIR: "/nonexistent-never-used" },
    });
    let out = "";
    child.stderr.on("data", (d) => (out += d));
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    expect(code).toBe(1);
    expect(out).toContain("SIM_ENABLED");
    expect(out).toContain("ADMIN_TOKEN");
  });

  it("behind the sign-in: nobody but a signed-in admin can post, read a chat or open the page", async () => {
    const base = await listen({ sim: "behind-sign-in", dashboard: { adminToken: TOKEN, sessionSecret: SECRET } });
    const before = (await h.db.select({ n: count() }).from(inboundMessages))[0]?.n;
    const post = (cookie?: string) =>
      fetch(`${base}/sim/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
        body: JSON.stringify({ chatId: "c1", userId: "nl1", text: "待办" }),
      });
    expect((await post()).status).toBe(401);
    expect((await fetch(`${base}/sim/chats/dm-nl1/messages`)).status).toBe(401);
    expect((await fetch(`${base}/sim/directory`)).status).toBe(401);
    const page = await fetch(`${base}/`, { redirect: "manual" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/dashboard/login");
    expect((await h.db.select({ n: count() }).from(inboundMessages))[0]?.n).toBe(before);

    const admin = await adminCookie(base);
    // A leader signed in with their link sees their dashboard, not the simulator.
    const leader = cookieOf(await fetch(await linkFor(base, admin, "gl1"), { redirect: "manual" }));
    expect((await fetch(`${base}/dashboard`, { headers: { cookie: leader } })).status).toBe(200);
    const simPage = await fetch(`${base}/`, { headers: { cookie: leader }, redirect: "manual" });
    expect(simPage.status).toBe(403);
    const said = await simPage.text();
    expect(said).toContain("这一页只对管理员开放");
    expect(said).toContain('href="/dashboard"');
    expect((await post(leader)).status).toBe(403);
    expect((await fetch(`${base}/sim/chats/dm-nl1/messages`, { headers: { cookie: leader } })).status).toBe(403);

    const ok = await post(admin);
    expect(ok.status).toBe(200);
    expect((await fetch(`${base}/`, { headers: { cookie: admin } })).status).toBe(200);
  });
});

describe("sign-in rate limit", () => {
  it("per address: after the limit even the right token gets 429 with a Chinese message", async () => {
    const base = await listen({ dashboard: { adminToken: TOKEN, sessionSecret: SECRET, loginLimits: { perAddress: 3, overall: 100, windowMs: 60_000 } } });
    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/dashboard/login`, form({ token: "wrong-wrong-wrong" }))).status).toBe(401);
    const refused = await fetch(`${base}/dashboard/login`, form({ token: TOKEN }));
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain("登录尝试太频繁");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.headers.get("set-cookie")).toBeNull();
  });

  it("overall: many addresses (through a trusted proxy) are limited together", async () => {
    const base = await listen({
      dashboard: { adminToken: TOKEN, sessionSecret: SECRET, trustProxy: true, loginLimits: { perAddress: 3, overall: 5, windowMs: 60_000 } },
    });
    const from = (ip: string, token = "wrong-wrong-wrong") => {
      const f = form({ token });
      return fetch(`${base}/dashboard/login`, { ...f, headers: { ...f.headers, "x-forwarded-for": `203.0.113.9, ${ip}` } });
    };
    for (let i = 0; i < 5; i++) expect((await from(`198.51.100.${i}`)).status).toBe(401);
    const refused = await from("198.51.100.77", TOKEN);
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain("登录请求太多");
  });
});

describe("headers and cookies", () => {
  it("every response carries CSP with frame-ancestors, nosniff and a referrer policy", async () => {
    const base = await listen({ dashboard: { adminToken: TOKEN, sessionSecret: SECRET } });
    for (const p of ["/", "/dashboard/login", "/dashboard/tickets", "/healthz", "/readyz", "/metrics", "/no-such-page", "/sim/chats/%00/messages"]) {
      const res = await fetch(`${base}${p}`, { redirect: "manual" });
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, p).toContain("frame-ancestors 'none'");
      expect(csp, p).toContain("default-src 'self'");
      expect(csp, p).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
      expect(res.headers.get("x-content-type-options"), p).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), p).toBe("same-origin");
      expect(res.headers.get("x-frame-options"), p).toBe("DENY");
    }
  });

  it("cookies are Secure behind a trusted TLS proxy, and only then", async () => {
    const login = (base: string) => fetch(`${base}/dashboard/login`, { ...form({ token: TOKEN }), headers: { ...form({}).headers, "x-forwarded-proto": "https" } });
    const trusted = await listen({ dashboard: { adminToken: TOKEN, sessionSecret: SECRET, trustProxy: true } });
    expect((await login(trusted)).headers.get("set-cookie")).toMatch(/;\s*Secure/i);
    const untrusted = await listen({ dashboard: { adminToken: TOKEN, sessionSecret: SECRET } });
    expect((await login(untrusted)).headers.get("set-cookie")).not.toMatch(/Secure/i);
  });
});

describe("leaders' login links", () => {
  it("last 2 hours by default, and an admin's 作废 ends the link and the session at once", async () => {
    const base = await listen({ dashboard: { adminToken: TOKEN, sessionSecret: SECRET } });
    const admin = await adminCookie(base);
    expect(await (await fetch(`${base}/dashboard/login`)).text()).toContain("2小时内有效");
    const link = await linkFor(base, admin, "vo1");
    const session = cookieOf(await fetch(link, { redirect: "manual" }));
    expect((await fetch(`${base}/dashboard`, { headers: { cookie: session }, redirect: "manual" })).status).toBe(200);

    const revoked = await fetch(`${base}/dashboard/links/vo1/revoke`, { method: "POST", headers: { cookie: admin }, redirect: "manual" });
    expect(revoked.status).toBe(303);
    expect((await fetch(`${base}/dashboard`, { headers: { cookie: session }, redirect: "manual" })).status).toBe(303); // back to sign-in
    expect((await fetch(link, { redirect: "manual" })).status).toBe(401);
    // A leader cannot revoke; a new link works; other people's links are untouched.
    const fresh = await linkFor(base, admin, "vo1");
    const again = cookieOf(await fetch(fresh, { redirect: "manual" }));
    expect((await fetch(`${base}/dashboard/links/vo2/revoke`, { method: "POST", headers: { cookie: again }, redirect: "manual" })).status).toBe(403);
    expect((await fetch(await linkFor(base, admin, "vo2"), { redirect: "manual" })).status).toBe(303);

    // Three hours later the link has lapsed.
    const later = await linkFor(base, admin, "gl1");
    offsetMs += 3 * 3_600_000;
    try {
      expect((await fetch(later, { redirect: "manual" })).status).toBe(401);
    } finally {
      offsetMs -= 3 * 3_600_000;
    }
  });
});

describe("/metrics and /readyz", () => {
  it("/metrics needs the bearer token when METRICS_TOKEN is set", async () => {
    const base = await listen({ metricsToken: "metrics-token-0123456789" });
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: "Bearer not-the-token-000000" } })).status).toBe(401);
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: "Bearer metrics-token-0123456789" } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("haolin_database_up 1");
  });

  it("with the database down: /readyz names it without the error text, /metrics still serves the process metrics", async () => {
    const down = await createHarness();
    const app = createApp({ runtime: down.runtime, logger: silent, sim: false });
    await down.database.close();
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(503);
    const body = await ready.json();
    expect(body.checks.database).toBe("unavailable");
    const metrics = await app.request("/metrics");
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain("haolin_database_up 0");
    expect(text).toContain("process_cpu_user_seconds_total");
    expect(text).not.toContain("haolin_tickets_open");
    await down.close().catch(() => {});
  });
});
