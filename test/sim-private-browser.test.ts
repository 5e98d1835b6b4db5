/**
 * The simulator's 私信 tab as a single chat with the bot, in a real headless Chromium: what is sent there goes to the
 * bot privately and is answered there, never in a group. A newcomer can try the private paths of issues 18 and 21:
 * a 调解 registered privately, and a 报事 by voice (🎤), which opens in the reporter's group. Screenshots in
 * screenshots/sim-private.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserBot, startBrowserBot } from "./helpers/browser.js";
import { waitFor } from "./helpers/harness.js";

const SHOTS = "screenshots/sim-private";
let bot: BrowserBot;
let browser: Browser;

beforeAll(async () => {
  bot = await startBrowserBot({ shots: SHOTS, token: "browser-admin-token-0123456789" });
  ({ browser } = bot);
});
afterAll(async () => {
  await bot?.close();
});

async function sendFrom(page: Page, text: string) {
  await page.fill("#input", text);
  await page.click("#send");
}

describe("the simulator's 私信 tab", () => {
  it("sends privately: a 调解 is answered there and the group sees nothing; a voice 报事 opens in the group", { timeout: 120_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, locale: "zh-CN" });
    const sim = await context.newPage();
    await sim.goto(bot.base);
    await sim.waitForFunction(() => (document.querySelector("#person") as HTMLSelectElement).options.length > 1);
    await sim.selectOption("#person", "nl1");
    await sim.selectOption("#chat", "c1");
    await sim.click("#tab-dm");
    expect(await sim.getAttribute("#input", "placeholder")).toContain("私聊好邻");
    const groupBefore = (await bot.h.chatLog("c1")).length;

    await sendFrom(sim, "调解 两户因宅基地边界起争执");
    await sim.locator("#dm-messages").getByText(/已登记调解 #\d+/).waitFor();
    expect((await sim.locator("#dm-messages").textContent()) ?? "").toContain("事由：两户因宅基地边界起争执");
    // Nothing of it in the group: neither the message nor an answer.
    expect((await bot.h.chatLog("c1")).length).toBe(groupBefore);
    await sim.screenshot({ path: `${SHOTS}/mediation.png` });

    // A resident's voice 报事, sent privately as the platforms deliver voice: the ticket opens in 东村一组群.
    await sim.selectOption("#person", "r1");
    await sim.click("#voice");
    expect(await sim.getAttribute("#voice", "aria-pressed")).toBe("true");
    await sendFrom(sim, "报事 村口的水管爆了");
    await sim.locator("#dm-messages").getByText(/已转到「东村一组群」/).waitFor();
    expect(await sim.getAttribute("#voice", "aria-pressed")).toBe("false");
    const dm = (await sim.locator("#dm-messages").textContent()) ?? "";
    const id = Number(/已登记工单 #(\d+)/.exec(dm)?.[1]);
    expect(id).toBeGreaterThan(0);
    const posted = await waitFor(async () => (await bot.h.chatLog("c1")).find((m) => m.from === "bot" && m.text.includes(`#${id}`)));
    expect(posted.text).toContain("李一发来语音报事：村口的水管爆了");
    await sim.click("#tab-chat");
    await sim.locator("#messages").getByText("李一发来语音报事").waitFor();
    await sim.screenshot({ path: `${SHOTS}/voice-report-in-group.png` });

    // On a phone the 📷 and 🎤 buttons keep their icons (named for screen readers) and the message box its width.
    await sim.setViewportSize({ width: 390, height: 800 });
    await sim.click("#tab-dm");
    const fit = await sim.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      input: (document.querySelector("#input") as HTMLElement).getBoundingClientRect().width,
    }));
    expect(fit.page).toBeLessThanOrEqual(390);
    expect(fit.input).toBeGreaterThanOrEqual(180);
    expect(await sim.getByRole("button", { name: "🎤 语音" }).count()).toBe(1);
    await sim.screenshot({ path: `${SHOTS}/phone.png` });
    await context.close();
  });
});
