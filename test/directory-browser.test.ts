/**
 * A town clerk's round trip in a real headless Chromium (Debian's chromium driven by playwright-core): sign in,
 * 名册 → 导入名册, download the workbook, edit it as Excel would, upload a version with a mistake and read the
 * sheet/row/column errors, upload the corrected one, read the preview (nothing written yet), 确认导入, and see it in
 * the history; then a simulator group bound on 群聊绑定. Screenshots go to screenshots/directory.
 */
import { eq } from "drizzle-orm";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chats, households, people } from "../src/db/schema/index.js";
import { type BrowserBot, signInAsAdmin, startBrowserBot } from "./helpers/browser.js";

const SHOTS = "screenshots/directory";
const TOKEN = "directory-browser-token-0123456789";

let bot: BrowserBot;

beforeAll(async () => {
  bot = await startBrowserBot({ shots: SHOTS, token: TOKEN });
}, 120_000);
afterAll(async () => {
  await bot?.close();
});

function rowOf(ws: ExcelJS.Worksheet, id: string): ExcelJS.Row {
  for (let n = 2; n <= ws.rowCount; n++) if (ws.getRow(n).getCell(1).value === id) return ws.getRow(n);
  throw new Error(`no row ${id}`);
}

describe("the directory on the dashboard, in Chromium", () => {
  // A whole clerk's session of page loads and uploads: generous for a loaded 2-core machine.
  it("downloads the workbook, shows an upload's errors, previews the corrected one and imports it on 确认导入", { timeout: 240_000 }, async () => {
    const { h, base, browser } = bot;
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
    const external: string[] = [];
    context.on("request", (r) => {
      if (!r.url().startsWith(base)) external.push(r.url());
    });
    const page = await context.newPage();
    await signInAsAdmin(page, base, TOKEN);

    await Promise.all([page.waitForURL(`${base}/dashboard/directory`), page.click("header >> text=名册")]);
    expect(await page.locator("#count").textContent()).toMatch(/共 3 个邻，其中 3 个需关注/);
    await page.screenshot({ path: `${SHOTS}/neighborhoods.png`, fullPage: true });

    await Promise.all([page.waitForURL(`${base}/dashboard/directory/import`), page.click("#directory-tabs >> text=导入名册")]);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    expect(download.suggestedFilename()).toMatch(/^mingce-\d{4}-\d{2}-\d{2}\.xlsx$/);
    const original = `${SHOTS}/mingce.xlsx`;
    await download.saveAs(original);

    // The clerk's edits: 赵二's household gets a 门牌 change, a new resident joins 二邻 — and one typo in a role.
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(original);
    const hh = wb.getWorksheet("住户") as ExcelJS.Worksheet;
    rowOf(hh, "h2").getCell(7).value = "2号之一";
    const ppl = wb.getWorksheet("人员") as ExcelJS.Worksheet;
    const added = ppl.addRow(["r9", "钱九", "居民长", "n2"]);
    const withTypo = `${SHOTS}/mingce-typo.xlsx`;
    await wb.xlsx.writeFile(withTypo);

    await page.setInputFiles('input[type="file"]', withTypo);
    await Promise.all([page.waitForLoadState("load"), page.click("text=上传并预览")]);
    expect(await page.locator("h1").textContent()).toBe("名册有错误，没有导入");
    expect(await page.locator("#errors li").allTextContents()).toEqual([
      `人员!C${added.number}：未知角色 "居民长"（可选：居民、邻长、组长、片长、村干部、镇干部、管理员）`,
    ]);
    await page.screenshot({ path: `${SHOTS}/upload-errors.png`, fullPage: true });
    expect((await h.db.select().from(people).where(eq(people.id, "r9"))).length).toBe(0);

    added.getCell(3).value = "居民";
    const fixed = `${SHOTS}/mingce-fixed.xlsx`;
    await wb.xlsx.writeFile(fixed);
    await page.setInputFiles('input[type="file"]', fixed);
    await Promise.all([page.waitForURL(/\/dashboard\/directory\/import\/[0-9a-f-]{36}$/), page.click("text=上传并预览")]);
    expect(await page.locator("#checked").textContent()).toContain("数据库还没有改动");
    const cells = async (entity: string) => page.locator(`#preview-counts tr[data-entity="${entity}"] td`).allTextContents();
    expect(await cells("households")).toEqual(["住户", "0", "1", "3"]);
    expect(await cells("people")).toEqual(["人员", "1", "0", "11"]);
    expect(await page.locator("#preview-changes").textContent()).toContain("新增：钱九（r9）");
    await page.screenshot({ path: `${SHOTS}/upload-preview.png`, fullPage: true });
    // The preview wrote nothing.
    expect((await h.db.select().from(households).where(eq(households.id, "h2")))[0]?.houseNo).toBe("2号");

    await Promise.all([page.waitForLoadState("load"), page.click("#confirm")]);
    expect(await page.locator("#imported").textContent()).toContain("已导入");
    await page.screenshot({ path: `${SHOTS}/upload-done.png`, fullPage: true });
    expect((await h.db.select().from(households).where(eq(households.id, "h2")))[0]?.houseNo).toBe("2号之一");
    expect((await h.db.select().from(people).where(eq(people.id, "r9")))[0]).toMatchObject({ name: "钱九", unitId: "n2" });

    await Promise.all([page.waitForURL(`${base}/dashboard/directory/history`), page.click("text=查看变更记录")]);
    expect(await page.locator("#history").textContent()).toContain("导入名册 mingce-fixed.xlsx：住户 更新 1，人员 新增 1");
    expect(external).toEqual([]);
    await context.close();
  });

  it("binds a group that @-mentioned the bot in the simulator, on a phone-sized screen", { timeout: 240_000 }, async () => {
    const { h, base, browser } = bot;
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN" });
    const sim = await context.newPage();
    await signInAsAdmin(sim, base, TOKEN);
    await sim.goto(`${base}/`);
    await sim.selectOption("#person", "r3");
    await sim.selectOption("#chat", "c-new");
    await sim.fill("#input", "@好邻 报事 桥栏杆松了");
    await sim.click("#send");
    await sim.waitForSelector("text=还没有登记到好邻");

    const page = await context.newPage();
    await page.goto(`${base}/dashboard/directory/chats`);
    const row = page.locator('#pending tr[data-chat="c-new"]');
    expect(await row.textContent()).toContain("孙三");
    await row.locator('select[name="unitId"]').selectOption("g2");
    await row.locator('input[name="name"]').fill("东村二组新群");
    await page.screenshot({ path: `${SHOTS}/bind-pending.png`, fullPage: true });
    await Promise.all([page.waitForURL(/bound=new/), row.locator("button").click()]);
    expect(await page.locator("#flash").textContent()).toContain("已绑定");
    expect(await page.locator("#bound").textContent()).toContain("东村二组新群");
    expect((await h.db.select().from(chats).where(eq(chats.externalId, "c-new")))[0]?.unitId).toBe("g2");

    // Back in the simulator the group hears it, and a report now opens a ticket.
    await sim.reload();
    await sim.selectOption("#chat", "c-new");
    await sim.waitForSelector("text=本群已登记到好邻");
    await sim.fill("#input", "@好邻 报事 桥栏杆松了");
    await sim.click("#send");
    await sim.waitForSelector("text=/已登记工单 #\\d+/");
    await sim.screenshot({ path: `${SHOTS}/sim-bound.png`, fullPage: true });
    await context.close();
  });
});
