/**
 * A whole bot behind a real HTTP port with the simulator and the dashboard, and Debian's headless Chromium driven by
 * playwright-core, for the browser tests (screenshots under `shots`, which the screenshots/ ignore rule covers).
 */
import { existsSync, mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type Browser, chromium, type Page } from "playwright-core";
import { createApp } from "../../src/app.js";
import { createHarness, type Harness, type HarnessOptions, silent } from "./harness.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export type BrowserBot = { h: Harness; base: string; browser: Browser; close: () => Promise<void> };

export async function startBrowserBot(opts: { shots: string; token: string; harness?: HarnessOptions }): Promise<BrowserBot> {
  if (!existsSync(CHROMIUM)) throw new Error(`浏览器测试需要 Chromium：${CHROMIUM} 不存在（Debian：apt-get install -y chromium）`);
  mkdirSync(opts.shots, { recursive: true });
  const h = await createHarness(opts.harness);
  const app = createApp({ runtime: h.runtime, logger: silent, sim: true, dashboard: { adminToken: opts.token } });
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((r) => server.once("listening", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  return {
    h,
    base,
    browser,
    async close() {
      await browser.close();
      server.close();
      await h.close();
    },
  };
}

/** Signs a page in with the admin token and waits for the overview. */
export async function signInAsAdmin(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/dashboard/login`);
  await page.fill('input[name="token"]', token);
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type="submit"]')]);
}
