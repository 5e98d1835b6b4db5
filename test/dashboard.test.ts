/** The dashboard over HTTP: sign-in, scope per leader, filters, timeline, exports, scorecard arithmetic. */
import { eq, sql } from "drizzle-orm";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { tickets, visits } from "../src/db/schema/index.js";
import { Signer } from "../src/dashboard/auth.js";
import { scoreOf } from "../src/workflows/digests/monthly.js";
import { createHarness, type Harness, silent } from "./helpers/harness.js";
import { leaks } from "./helpers/personal-oracle.js";

const TOKEN = "test-admin-token-0123456789";
let h: Harness;
let app: ReturnType<typeof createApp>;
const ids: Record<string, number> = {};
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);

beforeAll(async () => {
  h = await createHarness();
  app = createApp({ runtime: h.runtime, logger: silent, sim: true, dashboard: { adminToken: TOKEN, sessionSecret: "s".repeat(40) } });
  ids.lamp = ticketNo((await h.say("c1", "r1", "报事 村口路灯坏了，电话19900000101")).text);
  await h.say("c1", "nl1", `认领 #${ids.lamp}`);
  await h.say("c1", "nl1", `办结 #${ids.lamp} 已换新灯泡`);
  await h.say("c1", "r1", `满意 #${ids.lamp}`);
  ids.ditch = ticketNo((await h.say("c2", "r3", "报事 =水沟堵了")).text);
  await h.say("c2", "nl3", `上报 #${ids.ditch} 需要组里协调`);
  ids.relay = ticketNo((await h.say("c1", "nl1", "代报 李小一 家里屋顶漏雨")).text);
  await h.say("c1", "gl1", `认领 #${ids.relay}`);
});
afterAll(async () => {
  await h.close();
});

async function login(token = TOKEN, on = app) {
  const res = await on.request("/dashboard/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });
  return { res, cookie: (res.headers.get("set-cookie") ?? "").split(";")[0] as string };
}
const get = (path: string, cookie: string) => app.request(path, { headers: { cookie } });
/** One admin session for the tests that only read (sign-ins are limited to ten a quarter hour per address). */
let admin: string | undefined;
const adminCookie = async () => (admin ??= (await login()).cookie);

describe("sign-in", () => {
  it("refuses a wrong token and pages without a session; accepts the admin token", async () => {
    expect((await login("wrong-token-wrong-token")).res.status).toBe(401);
    const anon = await app.request("/dashboard/tickets");
    expect(anon.status).toBe(303);
    expect(anon.headers.get("location")).toBe("/dashboard/login");
    expect((await app.request("/dashboard/export.csv")).status).toBe(401);
    const { res, cookie } = await login();
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).toMatch(/HttpOnly/i);
    expect(res.headers.get("set-cookie")).toMatch(/SameSite=Strict/i);
    const page = await get("/dashboard", cookie);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("每周工单量");
    expect(html).toContain("<svg");
    expect(html).not.toMatch(/(src|href)="https?:/); // offline: nothing external
  });

  it("a forged or tampered cookie is refused", async () => {
    const other = new Signer("x".repeat(40), undefined).sign("session", { sub: "admin", exp: Date.now() + 60_000 });
    expect((await get("/dashboard/tickets", `hl_dash=${other}`)).status).toBe(303);
    const { cookie } = await login();
    expect((await get("/dashboard/tickets", `${cookie.slice(0, -2)}xx`)).status).toBe(303);
  });

  it("a leader's login link shows only their own unit's subtree", async () => {
    const { cookie } = await login();
    const links = await (await get("/dashboard/links", cookie)).text();
    const url = /value="[^"]*(\/dashboard\/login\/link\?k=[^"]+)" [^>]*data-person="nl3"/.exec(links)?.[1];
    expect(url).toBeTruthy();
    const res = await app.request((url as string).replaceAll("&amp;", "&"));
    expect(res.status).toBe(303);
    const leader = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const table = await (await get("/dashboard/tickets", leader)).text();
    expect(table).toContain(`#${ids.ditch}`);
    expect(table).not.toContain(`#${ids.lamp}<`);
    expect((await get(`/dashboard/tickets/${ids.lamp}`, leader)).status).toBe(404);
    expect((await get("/dashboard/links", leader)).status).toBe(403);
    // A resident cannot use a link at all.
    const resident = new Signer("s".repeat(40), undefined).sign("link", { sub: "r1", exp: Date.now() + 60_000 });
    const r = await app.request(`/dashboard/login/link?k=${resident}`);
    const rc = (r.headers.get("set-cookie") ?? "").split(";")[0] as string;
    expect((await get("/dashboard/tickets", rc)).status).toBe(303);
  });
});

describe("tickets, timeline and exports", () => {
  it("filters by status and level, and shows the whole timeline", async () => {
    const { cookie } = await login();
    const closed = await (await get("/dashboard/tickets?status=closed", cookie)).text();
    expect(closed).toContain(`#${ids.lamp}`);
    expect(closed).not.toContain(`#${ids.ditch}<`);
    const group = await (await get("/dashboard/tickets?level=group&unit=g2", cookie)).text();
    expect(group).toContain(`#${ids.ditch}`);
    const t = await (await get(`/dashboard/tickets/${ids.lamp}`, cookie)).text();
    for (const step of ["报事", "认领", "办结", "评价满意", "王邻长", "已换新灯泡"]) expect(t).toContain(step);
  });

  it("exports the 台账 as CSV (formula-safe) and XLSX for a date range", async () => {
    const { cookie } = await login();
    const today = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai" }).format(new Date());
    const csv = await get(`/dashboard/export.csv?from=${today}&to=${today}`, cookie);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    expect(csv.headers.get("content-disposition")).toContain(`taizhang-${today}-${today}.csv`);
    const text = await csv.text();
    expect(text.split("\r\n")[0]).toContain("工单号");
    expect(text).toContain(`"${ids.lamp}"`);
    expect(text).toContain(`"'=水沟堵了"`);
    const none = await (await get("/dashboard/export.csv?from=2001-01-01&to=2001-01-02", cookie)).text();
    expect(none.trim().split("\r\n").length).toBe(1);

    const xlsx = await get(`/dashboard/export.xlsx?from=${today}&to=${today}`, cookie);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await xlsx.arrayBuffer());
    const sheet = wb.getWorksheet("工单台账");
    expect(sheet?.rowCount).toBe(4);
    expect(sheet?.getRow(1).getCell(1).value).toBe("工单号");
    const events = wb.getWorksheet("事件记录");
    expect(events?.rowCount).toBeGreaterThanOrEqual(7);
  });

  it("shows a 代报 ticket's 诉求户, 诉求人 and 经办人 apart from its 负责人, in the table, the timeline and both exports", async () => {
    const { cookie } = await login();
    const list = await (await get("/dashboard/tickets", cookie)).text();
    const head = /<thead>(.*?)<\/thead>/su.exec(list)?.[1] ?? "";
    expect(head).toMatch(/<th>负责人<\/th><th>诉求户<\/th><th>经办人<\/th>/u);
    const row = new RegExp(`<tr><td><a href="/dashboard/tickets/${ids.relay}">.*?</tr>`, "su").exec(list)?.[0] ?? "";
    // 负责人 is the 组长 who claimed it; 诉求户 the household; 经办人 the 邻长 who relayed it.
    expect(row).toMatch(/<td>张组长<\/td><td>李一（1号）<\/td><td>王邻长<\/td>/u);
    const detail = await (await get(`/dashboard/tickets/${ids.relay}`, cookie)).text();
    expect(detail).toContain("诉求户 李一（1号） · 诉求人 李小一 · 经办人 王邻长");
    expect(detail).toContain("负责人 张组长");
    expect(detail).toContain("代报（经办人登记）");

    const csv = (await (await get("/dashboard/export.csv", cookie)).text()).split("\r\n");
    const header = (csv[0] ?? "").split(",").map((c) => c.replaceAll('"', ""));
    const line = (csv.find((l) => l.startsWith(`"${ids.relay}"`)) ?? "").split(",").map((c) => c.replaceAll('"', ""));
    const cell = (name: string) => line[header.indexOf(name)];
    expect(cell("负责人")).toBe("张组长");
    expect(cell("诉求户")).toBe("李一（1号）");
    expect(cell("诉求人")).toBe("李小一");
    expect(cell("经办人")).toBe("王邻长");
    const own = (csv.find((l) => l.startsWith(`"${ids.lamp}"`)) ?? "").split(",").map((c) => c.replaceAll('"', ""));
    expect(own[header.indexOf("诉求人")]).toBe("李一");
    expect(own[header.indexOf("经办人")]).toBe("");

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await (await get("/dashboard/export.xlsx", cookie)).arrayBuffer());
    const sheet = wb.getWorksheet("工单台账");
    const names = ((sheet?.getRow(1).values ?? []) as unknown[]).map(String);
    const xrow = [...Array(sheet?.rowCount ?? 0).keys()].map((i) => sheet?.getRow(i + 1)).find((r) => r?.getCell(1).value === ids.relay);
    expect(xrow?.getCell(names.indexOf("诉求户")).value).toBe("李一（1号）");
    expect(xrow?.getCell(names.indexOf("经办人")).value).toBe("王邻长");
    expect(xrow?.getCell(names.indexOf("负责人")).value).toBe("张组长");
  });

  it("the table shows 事项 as a group would see it (the ticket's own page keeps the whole text)", async () => {
    const cookie = await adminCookie();
    const list = await (await get("/dashboard/tickets", cookie)).text();
    const head = /<thead>(.*?)<\/thead>/su.exec(list)?.[1] ?? "";
    expect(head).toContain("<th>事项</th>");
    const row = new RegExp(`<tr><td><a href="/dashboard/tickets/${ids.lamp}">.*?</tr>`, "su").exec(list)?.[0] ?? "";
    const item = /<td class="item">(.*?)<\/td>/su.exec(row)?.[1] ?? "";
    expect(item).toContain("村口路灯坏了");
    expect(leaks(item, [{ kind: "number", value: "19900000101" }])).toEqual([]);
    expect(await (await get(`/dashboard/tickets/${ids.lamp}`, cookie)).text()).toContain("电话19900000101");
  });

  it("the workbook's times are date cells holding Asia/Shanghai wall time", async () => {
    const cookie = await adminCookie();
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await (await get("/dashboard/export.xlsx", cookie)).arrayBuffer());
    const sheet = wb.getWorksheet("工单台账");
    const names = ((sheet?.getRow(1).values ?? []) as unknown[]).map(String);
    const row = [...Array(sheet?.rowCount ?? 0).keys()].map((i) => sheet?.getRow(i + 1)).find((r) => r?.getCell(1).value === ids.lamp);
    const [t] = await h.db.select().from(tickets).where(eq(tickets.id, ids.lamp as number));
    // A spreadsheet has no time zone: the cell's date and time are what a clock in Shanghai showed.
    const wall = (d: Date) => new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai", dateStyle: "short", timeStyle: "short" }).format(d);
    for (const [name, when] of [["报事时间", t?.createdAt], ["办结", t?.resolvedAt], ["关闭", t?.closedAt]] as const) {
      const cell = row?.getCell(names.indexOf(name));
      const value = cell?.value as Date;
      expect(value).toBeInstanceOf(Date);
      expect(cell?.numFmt).toBe("yyyy-mm-dd hh:mm");
      expect(value.toISOString().slice(0, 16).replace("T", " ")).toBe(wall(when as Date));
    }
    expect(row?.getCell(names.indexOf("首次答复")).value).toBeInstanceOf(Date);
    const events = wb.getWorksheet("事件记录");
    expect(events?.getRow(2).getCell(2).value).toBeInstanceOf(Date);
    expect(events?.getRow(2).getCell(2).numFmt).toBe("yyyy-mm-dd hh:mm");
    // The CSV keeps the same times as text.
    const csv = (await (await get("/dashboard/export.csv", cookie)).text()).split("\r\n");
    const header = (csv[0] ?? "").split(",").map((c) => c.replaceAll('"', ""));
    const line = (csv.find((l) => l.startsWith(`"${ids.lamp}"`)) ?? "").split(",").map((c) => c.replaceAll('"', ""));
    expect(line[header.indexOf("报事时间")]).toBe(wall(t?.createdAt as Date));
  });

  it("shows the scorecards with their formula", async () => {
    const { cookie } = await login();
    const html = await (await get("/dashboard/scorecards", cookie)).text();
    expect(html).toContain("王邻长");
    expect(html).toContain("综合分 = round(100 × (30×答复率");
  });
});

describe("scorecard arithmetic", () => {
  const base = { personId: "p", name: "n", unitId: "u", unitName: "un", medianFirstAnswerMs: null, visits: null } as const;
  it("weights the parts that have data and subtracts 5 per reopen", () => {
    // 答复 3/4, 本级 2/4, 满意 1/2, 走访 5/10: (30×.75 + 25×.5 + 25×.5 + 20×.5) / 100 = 57.5 → 58; − 5 = 53
    expect(scoreOf({ ...base, tickets: 4, answerDecided: 4, answeredInTime: 3, ownLevel: 2, rated: 2, satisfied: 1, reopened: 1, visits: { visited: 5, due: 10 } })).toBe(53);
    // No ratings, no visits: only 答复 and 本级 count, 100 × (30×1 + 25×0) / 55 = 54.5 → 55
    expect(scoreOf({ ...base, tickets: 2, answerDecided: 2, answeredInTime: 2, ownLevel: 0, rated: 0, satisfied: 0, reopened: 0 })).toBe(55);
    expect(scoreOf({ ...base, tickets: 0, answerDecided: 0, answeredInTime: 0, ownLevel: 0, rated: 0, satisfied: 0, reopened: 0 })).toBeNull();
    expect(scoreOf({ ...base, tickets: 1, answerDecided: 1, answeredInTime: 0, ownLevel: 0, rated: 1, satisfied: 0, reopened: 3 })).toBe(0);
  });
});

describe("exports larger than a page", () => {
  it("streams every ticket and every event once, newest ticket first", async () => {
    const big = await createHarness();
    const bigApp = createApp({ runtime: big.runtime, logger: silent, sim: true, dashboard: { adminToken: TOKEN, sessionSecret: "s".repeat(40) } });
    await big.db.execute(sql`insert into tickets (unit_id, holder_unit_id, level, category, text, status, assignee_id, chat_id, reporter_id, created_at, updated_at)
      select 'n1', 'n1', 'neighborhood', '其他', '积水 ' || g, 'closed', 'nl1', 'c1', 'r1', now() - (g || ' minutes')::interval, now()
      from generate_series(1, 700) g`);
    await big.db.execute(sql`insert into ticket_events (ticket_id, at, actor_id, kind, from_status, to_status, level)
      select t.id, t.created_at + (k || ' seconds')::interval, 'nl1', (array['opened','claimed','resolved'])[k], 'open', 'closed', 'neighborhood'
      from tickets t, generate_series(1, 3) k`);
    const { cookie } = await login(TOKEN, bigApp);

    const csv = (await (await bigApp.request("/dashboard/export.csv", { headers: { cookie } })).text()).trimEnd().split("\r\n");
    const csvIds = csv.slice(1).map((l) => Number(l.split(",")[0]?.replaceAll('"', "")));
    expect(csvIds.length).toBe(700);
    expect(new Set(csvIds).size).toBe(700);
    expect(csvIds).toEqual([...csvIds].sort((a, b) => b - a));

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await (await bigApp.request("/dashboard/export.xlsx", { headers: { cookie } })).arrayBuffer());
    const sheet = wb.getWorksheet("工单台账");
    const ids = (sheet?.getColumn(1).values ?? []).slice(2).map(Number);
    expect(ids).toEqual(csvIds);
    const events = wb.getWorksheet("事件记录");
    expect(events?.rowCount).toBe(1 + 700 * 3);
    const eventTickets = (events?.getColumn(1).values ?? []).slice(2).map(Number);
    expect(new Set(eventTickets)).toEqual(new Set(ids));
    expect(eventTickets).toEqual([...eventTickets].sort((a, b) => a - b));
    await big.close();
  });
});

describe("visits to match by hand", () => {
  it("lists an unmatched visit, matches it to a household, and keeps other units' leaders out", async () => {
    await h.say("c1", "nl1", "走访 钱五 身体还行");
    const { cookie } = await login();
    const page = await (await get("/dashboard/visits", cookie)).text();
    expect(page).toContain("钱五");
    expect(page).toContain("王邻长");
    const visitId = Number(/action="\/dashboard\/visits\/(\d+)"/.exec(page)?.[1]);
    // The choices are the households under the visit's unit (一邻: 李一 and 周四), not the whole town.
    expect(page).toContain(`<option value="h1">李一（1号）</option>`);
    expect(page).not.toContain(`value="h3"`);

    // 吴邻长 (三邻) sees no such visit and cannot match it.
    const links = await (await get("/dashboard/links", cookie)).text();
    const url = (/value="[^"]*(\/dashboard\/login\/link\?k=[^"]+)" [^>]*data-person="nl3"/.exec(links)?.[1] ?? "").replaceAll("&amp;", "&");
    const other = ((await app.request(url)).headers.get("set-cookie") ?? "").split(";")[0] as string;
    expect(await (await get("/dashboard/visits", other)).text()).not.toContain("钱五");
    const post = (c: string, household: string) =>
      app.request(`/dashboard/visits/${visitId}`, {
        method: "POST",
        headers: { cookie: c, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ household }).toString(),
      });
    const refused = await post(other, "h3");
    expect(refused.headers.get("location")).toBe("/dashboard/visits?error=forbidden");

    const done = await post(cookie, "h1");
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe(`/dashboard/visits?done=${visitId}`);
    const [row] = await h.db.select().from(visits).where(eq(visits.id, visitId));
    expect(row).toMatchObject({ householdId: "h1", status: "matched", resolvedById: null });
    expect(await (await get("/dashboard/visits", cookie)).text()).not.toContain("钱五");
    expect((await post(cookie, "h1")).headers.get("location")).toBe("/dashboard/visits?error=not_unmatched");
  });
});
