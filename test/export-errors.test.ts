/**
 * A dashboard export whose query fails part-way: the download is cut short, the structured log says so without the
 * query's parameters, and nothing — not the HTTP server's own error print — puts the SQL or its parameters (which
 * may be ticket text or phones) on stderr. Through a real HTTP server, since that is what prints.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app.js";
import { createHarness, type Harness } from "./helpers/harness.js";

const TOKEN = "test-admin-token-0123456789";
const PHONE = "13812345678";
let h: Harness;
let base: string;
let server: ReturnType<typeof serve>;
const logLines: string[] = [];

beforeAll(async () => {
  const logger = pino({ level: "info" }, { write: (line: string) => void logLines.push(line) });
  h = await createHarness({ logger });
  const app = createApp({ runtime: h.runtime, logger, sim: true, dashboard: { adminToken: TOKEN, sessionSecret: "s".repeat(40) } });
  server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await h.say("c1", "r1", `报事 路灯坏了，电话${PHONE}`);
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await h.close();
});

async function cookie(): Promise<string> {
  const res = await fetch(`${base}/dashboard/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: TOKEN }).toString(),
    redirect: "manual",
  });
  return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
}

describe("a failing export", () => {
  it("logs without SQL or parameters and prints nothing of them to stderr", async () => {
    const c = await cookie();
    // The filter's value goes into the query as a parameter; then the query is made to fail.
    await h.db.execute(sql`alter table tickets rename column category to category_gone`);
    const printed: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      printed.push(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}\n${a.stack}` : String(a))).join(" "));
    });
    try {
      for (const path of ["/dashboard/export.csv", "/dashboard/export.xlsx"]) {
        const res = await fetch(`${base}${path}?category=${encodeURIComponent(`电话${PHONE}`)}`, { headers: { cookie: c } });
        expect(res.status).toBe(200); // the headers went before the first page was read
        await res.text().catch(() => "cut short");
      }
    } finally {
      spy.mockRestore();
      await h.db.execute(sql`alter table tickets rename column category_gone to category`);
    }
    const failures = logLines.filter((l) => l.includes("export failed part-way"));
    expect(failures).toHaveLength(2);
    for (const text of [...logLines, ...printed]) {
      expect(text).not.toContain(PHONE);
      expect(text.toLowerCase()).not.toContain("select");
      expect(text).not.toContain("params");
    }
    // The error's name and the driver's code (42703: no such column) only.
    for (const l of failures) expect(JSON.parse(l)).toMatchObject({ err: expect.stringMatching(/^\w+$/), code: "42703" });
    expect(printed).toEqual(["Error: export failed part-way", "Error: export failed part-way"].map((p) => expect.stringContaining(p)));
  });
});
