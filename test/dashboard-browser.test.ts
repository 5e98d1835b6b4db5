/**
 * The dashboard in a real headless Chromium (Debian's chromium driven by playwright-core): sign in, look at the
 * charts, filter, open a ticket's timeline, download the Excel export, and keep screenshots (screenshots/dashboard).
 */
import ExcelJS from "exceljs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserBot, startBrowserBot } from "./helpers/browser.js";
import type { Harness } from "./helpers/harness.js";

const SHOTS = "screenshots/dashboard";
const TOKEN = "browser-admin-token-0123456789";

let bot: BrowserBot;
let h: Harness;
let base = "";
let browser: Browser;
const ids: number[] = [];
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);

beforeAll(async () => {
  bot = await startBrowserBot({ shots: SHOTS, token: TOKEN });
  ({ h, base, browser } = bot);
  const reports: [string, string, string][] = [
    ["c1", "r1", "报事 村口路灯坏了"],
    ["c1", "r1", "报事 水沟堵了，下雨就漫到路上"],
    ["c2", "r3", "报事 垃圾没人清运"],
    ["c1", "r2", "报事 邻里因占地吵架"],
  ];
  for (const [chat, who, text] of reports) ids.push(ticketNo((await h.say(chat, who, text)).text));
  await h.say("c1", "nl1", `认领 #${ids[0]}`);
  await h.say("c1", "nl1", `办结 #${ids[0]} 已换新灯泡`);
  await h.say("c1", "r1", `满意 #${ids[0]}`);
  await h.say("c1", "nl1", `上报 #${ids[1]} 需要组里协调`);
  await h.say("c1", "gl1", `认领 #${ids[1]}`);
});

afterAll(async () => {
  await bot?.close();
});

describe("dashboard in Chromium", () => {
  it("signs in, shows charts, filters, opens a timeline and downloads the Excel 台账", async () => {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
    const external: string[] = [];
    context.on("request", (r) => {
      if (!r.url().startsWith(base)) external.push(r.url());
    });
    const page = await context.newPage();
    await page.goto(`${base}/dashboard`);
    expect(page.url()).toContain("/dashboard/login");
    await page.screenshot({ path: `${SHOTS}/login.png` });
    await page.fill('input[name="token"]', "not-the-token-at-all");
    await Promise.all([page.waitForLoadState("load"), page.click('button[type="submit"]')]);
    expect(await page.locator(".err").textContent()).toBe("口令不正确。");
    await page.fill('input[name="token"]', TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/dashboard`);

    for (const id of ["chart-volume", "chart-answer", "chart-funnel", "chart-coverage"]) expect(await page.locator(`#${id}`).isVisible()).toBe(true);
    // ECharts' SSR marks each data shape with its series and index; the first series of the weekly chart is 新增.
    const bars = page.locator('#chart-volume svg [ecmeta_ssr_type="chart"][ecmeta_series_index="0"]');
    expect(await bars.count()).toBe(12);
    // Weeks are named by their dates (Monday "M/D"), never "W38"; each bar's tooltip names the week's days.
    const volume = (await page.locator("#chart-volume svg").textContent()) ?? "";
    expect(volume).not.toMatch(/W\d/);
    expect(volume).toMatch(/\b\d{1,2}\/\d{1,2}\b/);
    expect(await bars.last().locator("title").textContent()).toMatch(/^\d+月\d+日—\d+月\d+日：新增 4 件，已办结 1 件$/);
    expect(await page.locator("#chart-volume svg").textContent()).toContain("已办结"); // the legend
    expect(await page.locator("#chart-answer svg").textContent()).toContain("超过 4 小时"); // the late buckets
    // The escalated one and 二邻's (no 邻长: it starts at the 组) reached the 组.
    expect(await page.locator("#chart-funnel svg title").allTextContents()).toContain("到组级：2 件，占 50%");
    await page.screenshot({ path: `${SHOTS}/overview.png`, fullPage: true });

    const count = async () => (await page.locator("#count").textContent()) ?? "";
    await Promise.all([page.waitForURL(`${base}/dashboard/tickets`), page.click("header >> text=工单台账")]);
    expect(await count()).toMatch(/共 4 件/);
    await page.selectOption('select[name="level"]', "group");
    await Promise.all([page.waitForURL(/level=group/), page.click("text=筛选")]);
    expect(await count()).toMatch(/共 2 件/); // the escalated one, and 二邻's (no 邻长: starts at the 组)
    await page.selectOption('select[name="status"]', "answered");
    await Promise.all([page.waitForURL(/status=answered/), page.click("text=筛选")]);
    expect(await count()).toMatch(/共 1 件/);
    await page.screenshot({ path: `${SHOTS}/tickets.png`, fullPage: true });

    await Promise.all([page.waitForURL(`${base}/dashboard/tickets/${ids[1]}`), page.click(`#tickets a[href="/dashboard/tickets/${ids[1]}"]`)]);
    const tl = page.locator("#timeline li");
    expect(await tl.count()).toBe(3);
    expect(await tl.nth(1).textContent()).toContain("上报到组级");
    expect(await tl.nth(2).textContent()).toContain("张组长");
    await page.screenshot({ path: `${SHOTS}/ticket.png`, fullPage: true });

    await page.goto(`${base}/dashboard/tickets`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-xlsx")]);
    expect(download.suggestedFilename()).toMatch(/^taizhang-.*\.xlsx$/);
    const file = `${SHOTS}/taizhang.xlsx`;
    await download.saveAs(file);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    expect(wb.getWorksheet("工单台账")?.rowCount).toBe(5);

    await Promise.all([page.waitForURL(`${base}/dashboard/scorecards`), page.click("header >> text=履职评议")]);
    expect(await page.locator("#formula").textContent()).toContain("综合分");
    expect(await page.locator("#scorecards").textContent()).toContain("王邻长");
    await page.screenshot({ path: `${SHOTS}/scorecards.png`, fullPage: true });
    expect(external).toEqual([]);
    await context.close();
  });
  it("on a phone: the needs-action lists, charts whose text is readable, the per-unit table; a leader on an admin page", async () => {
    const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN" };
    const context = await browser.newContext(phone);
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/login`);
    await page.fill('input[name="token"]', TOKEN);
    await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type="submit"]')]);
    // Nothing wider than the screen: the page does not scroll sideways (wide tables scroll inside their box).
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // Four reports, none older than a day: all four are unanswered-in-24h candidates except the answered ones.
    expect(await page.locator("#unanswered .count").textContent()).toBe("2");
    expect(await page.locator("#unanswered li").count()).toBe(2);
    expect(await page.locator("#overdue .count").textContent()).toBe("0");
    // Chart text as drawn on the phone's screen, in CSS pixels: the week labels and the legend are at least 12 px tall.
    const heights = await page.locator("#chart-volume svg text").evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    expect(heights.length).toBeGreaterThan(5);
    expect(Math.min(...heights)).toBeGreaterThanOrEqual(12);
    await page.screenshot({ path: `${SHOTS}/phone-overview.png`, fullPage: true });

    await Promise.all([page.waitForURL(/\/dashboard\/units/), page.click("text=单位三率 >> nth=0")]);
    expect(await page.locator("#units tbody tr").count()).toBe(1); // the admin: the town's one village
    await page.selectOption('select[name="rows"]', "neighborhood");
    await Promise.all([page.waitForURL(/rows=neighborhood/), page.click("text=查看")]);
    const units = async () => page.locator("#units tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-unit")));
    expect((await units()).sort()).toEqual(["n1", "n2", "n3"]);
    // 新增: 一邻 2, 二邻 1, 三邻 1; the first click on a header puts the most first.
    await Promise.all([page.waitForURL(/sort=created/), page.click('#units th >> text=新增')]);
    expect((await units())[0]).toBe("n1");
    await page.screenshot({ path: `${SHOTS}/phone-units.png`, fullPage: true });

    const links = await (await context.request.get(`${base}/dashboard/links`)).text();
    const link = /value="[^"]*(\/dashboard\/login\/link\?k=[^"]+)" [^>]*data-person="nl1"/.exec(links)?.[1]?.replaceAll("&amp;", "&");
    expect(link).toBeTruthy();
    const leader = await (await browser.newContext(phone)).newPage();
    await leader.goto(`${base}${link}`);
    expect(leader.url()).toBe(`${base}/dashboard`);
    const refused = await leader.goto(`${base}/dashboard/links`);
    expect(refused?.status()).toBe(403);
    expect(await leader.locator("#admin-only h1").textContent()).toBe("这一页只对管理员开放");
    await leader.screenshot({ path: `${SHOTS}/phone-admin-only.png`, fullPage: true });
    await Promise.all([leader.waitForURL(`${base}/dashboard`), leader.click("#admin-only a.button")]);
    await leader.context().close();
    await context.close();
  });

  it("on a phone, every page of the nav fits the screen: the nav in two rows of five, the current page marked, tables scroll in their box", async () => {
    expect((await h.say("c1", "gl1", "恳谈会 下周五 19:00 村部会议室")).text).toContain("民情恳谈会通知");
    expect((await h.say("cv", "vo1", "通知 秋季森林防火\n即日起禁止野外用火，烧秸秆请先到村部登记。")).text).toContain("已发往");
    expect((await h.say("c1", "nl1", "调解 两户因宅基地边界起争执")).text).toContain("已记录一件调解");
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN" });
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/login`);
    await page.fill('input[name="token"]', TOKEN);
    await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type="submit"]')]);
    const hrefs = await page.locator("header nav a").evaluateAll((as) => as.map((a) => a.getAttribute("href") ?? ""));
    expect(hrefs).toHaveLength(10);
    for (const href of [...hrefs, `/dashboard/tickets/${ids[0]}`, "/dashboard/directory/people"]) {
      await page.goto(`${base}${href}`);
      // The page never scrolls sideways; a wide table scrolls inside its own box.
      expect(await page.evaluate(() => document.documentElement.scrollWidth), href).toBeLessThanOrEqual(390);
      // Every link of the nav is on screen, in two rows, each big enough to tap.
      const boxes = await page.locator("header nav a").evaluateAll((as) => as.map((a) => a.getBoundingClientRect().toJSON() as DOMRect));
      for (const b of boxes) {
        expect(b.left, href).toBeGreaterThanOrEqual(0);
        expect(b.right, href).toBeLessThanOrEqual(390);
        expect(b.height, href).toBeGreaterThanOrEqual(32);
      }
      expect(new Set(boxes.map((b) => Math.round(b.top))).size, href).toBe(2);
      // The page one is on (or a page under it) is marked in the nav.
      const here = await page.locator('header nav a[aria-current="page"]').evaluateAll((as) => as.map((a) => a.getAttribute("href")));
      expect(here, href).toEqual([hrefs.filter((x) => href === x || (x !== "/dashboard" && href.startsWith(`${x}/`))).at(-1)]);
      // A short name in a table cell (柳溪村一组一邻) stays on one line instead of one character per line.
      const wrapped = await page.locator("main td").evaluateAll((cells) =>
        cells
          .filter((td) => /^[\p{Script=Han}\w]{2,10}$/u.test(td.textContent?.trim() ?? ""))
          .filter((td) => {
            const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
              const range = document.createRange();
              range.selectNodeContents(node);
              if (new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1) return true;
            }
            return false;
          })
          .map((td) => td.textContent),
      );
      expect(wrapped, href).toEqual([]);
      if (href === "/dashboard/circulars") await page.screenshot({ path: `${SHOTS}/phone-circulars.png`, fullPage: true });
    }
    // An address no page answers, and another's page, get the dashboard's own page with a way back.
    for (const href of ["/dashboard/no-such-page", "/dashboard/meetings/99999", "/dashboard/tickets/99999"]) {
      const r = await page.goto(`${base}${href}`);
      expect(r?.status(), href).toBe(404);
      expect(await page.locator("#not-found p").first().textContent(), href).toBe("它不存在，或不在你负责的范围内。");
      expect(await page.locator("#not-found a.button").count(), href).toBe(1);
    }
    await context.close();
  });

  it("loads the simulator and the sign-in page without a failed request (the tab's icon included)", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
    const errors: string[] = [];
    const page = await context.newPage();
    // Chromium fetches the tab's icon outside the page's own requests; a missing one shows as a console error.
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`);
    });
    for (const p of ["/", "/dashboard/login"]) await page.goto(`${base}${p}`, { waitUntil: "networkidle" });
    const icon = await context.request.get(`${base}/favicon.ico`);
    expect(icon.status()).toBe(200);
    expect(icon.headers()["content-type"]).toBe("image/svg+xml");
    expect(errors).toEqual([]);
    await context.close();
  });
});
