/**
 * A new user's path in a real headless Chromium: in the simulator, pick a photo with 📷, report with it, then open the
 * ticket on the dashboard, see the thumbnail in the timeline and the full image on click — without its GPS.
 * Screenshots in screenshots/media.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserBot, startBrowserBot } from "./helpers/browser.js";
import { waitFor } from "./helpers/harness.js";
import { gpsPhoto, imageSize, metadataLeft } from "./helpers/photos.js";

const SHOTS = "screenshots/media";
const TOKEN = "browser-admin-token-0123456789";

let bot: BrowserBot;
let base = "";
let browser: Browser;
const photoFile = join(tmpdir(), `haolin-photo-${process.pid}.jpg`);

beforeAll(async () => {
  bot = await startBrowserBot({ shots: SHOTS, token: TOKEN });
  ({ base, browser } = bot);
  writeFileSync(photoFile, await gpsPhoto(480, 360, "#8e44ad"));
});
afterAll(async () => {
  await bot?.close();
});

describe("a photo from the simulator to the dashboard", () => {
  it("📷 attaches a photo to a report; the dashboard shows its thumbnail and, on click, the image without GPS", async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 860 }, locale: "zh-CN" });
    const sim = await context.newPage();
    await sim.goto(base);
    await sim.waitForFunction(() => (document.querySelector("#person") as HTMLSelectElement).options.length > 1);
    await sim.selectOption("#person", "r1");
    await sim.selectOption("#chat", "c1");
    await sim.setInputFiles("#photo", photoFile);
    await sim.waitForFunction(() => document.querySelector("#pending")?.textContent?.includes("已选照片 1 张"));
    await sim.fill("#input", "报事 村口的路灯杆被车撞歪了");
    await sim.click("#send");
    const reply = sim.locator("#messages").getByText(/收到照片 1 张/);
    await reply.waitFor();
    await sim.screenshot({ path: `${SHOTS}/simulator.png` });
    const text = (await sim.locator("#messages").textContent()) ?? "";
    const id = Number(/已登记工单 #(\d+)/.exec(text)?.[1]);
    expect(id).toBeGreaterThan(0);

    const dash = await context.newPage();
    await dash.goto(`${base}/dashboard/login`);
    await dash.fill('input[name="token"]', TOKEN);
    await dash.click('button[type="submit"]');
    await dash.waitForURL(`${base}/dashboard`);
    // The photo job runs after the reply: reload until the timeline has it.
    await waitFor(async () => {
      await dash.goto(`${base}/dashboard/tickets/${id}`);
      return (await dash.locator("img.thumb").count()) > 0;
    });
    const thumb = dash.locator("img.thumb").first();
    await waitFor(async () => (await thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)) === 320);
    await dash.screenshot({ path: `${SHOTS}/ticket.png`, fullPage: true });
    const [full] = await Promise.all([context.waitForEvent("page"), thumb.click()]);
    const response = await full.waitForResponse((r) => r.url().includes("/dashboard/media/") && !r.url().includes("size=thumb"), { timeout: 10_000 }).catch(() => null);
    await full.waitForLoadState();
    const bytes = response ? await response.body() : Buffer.from(await (await full.request.get(full.url())).body());
    expect(full.url()).toMatch(/\/dashboard\/media\/\d+$/);
    expect(imageSize(bytes)).toEqual({ width: 480, height: 360 });
    expect(metadataLeft(bytes)).toEqual({ exif: false, gps: false, place: false });
    await context.close();
  });
});
