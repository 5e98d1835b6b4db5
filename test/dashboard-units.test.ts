/**
 * The dashboard's per-unit table (/dashboard/units) and its sheet in the XLSX export, held against the weekly digest
 * for the same period. The other side is the digest itself, through its own path: 周报 typed in each unit's group
 * chat (近 7 天) and the Friday digest the fan-out queues (上期周报), read back as the text a group receives. The
 * overview's "needs action now" lists are checked on the same data. Real PostgreSQL (or PGlite), HTTP, one injected
 * clock for the bot and the dashboard.
 */
import ExcelJS from "exceljs";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { chats, outbox } from "../src/db/schema/index.js";
import { fanOutWeeklyDigests } from "../src/workflows/digests/index.js";
import { Effects } from "../src/workflows/effects.js";
import { createHarness, type Harness, silent } from "./helpers/harness.js";

const TOKEN = "units-admin-token-0123456789";
const at = (iso: string) => new Date(iso);
let now = at("2026-02-20T02:00:00Z"); // Friday 20 Feb, 10:00 in Asia/Shanghai
let h: Harness;
let app: ReturnType<typeof createApp>;
const ids: Record<string, number> = {};
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
/** Local time in Asia/Shanghai (UTC+8) on a day of March 2026, as the instant the clock is set to. */
const march = (day: number, hh: number, mm = 0) => new Date(Date.UTC(2026, 2, day, hh - 8, mm));

beforeAll(async () => {
  // Not started: no timer fires, so nothing escalates by itself while the clock is moved by hand (the scheduler
  // arms timers on the machine's own clock, and these instants are long past on it).
  h = await createHarness({ clock: () => now, start: false });
  app = createApp({ runtime: h.runtime, logger: silent, sim: true, dashboard: { adminToken: TOKEN, sessionSecret: "u".repeat(40) } });
  const say = async (when: Date, chat: string, who: string, text: string) => {
    now = when;
    return (await h.say(chat, who, text)).text;
  };
  // A week before: an old report nobody answered, sent up to the town by hand (上报 is no answer).
  ids.old = ticketNo(await say(now, "c1", "r1", "报事 村道塌了一块"));
  await say(at("2026-02-20T03:00:00Z"), "c1", "nl1", `上报 #${ids.old} 需要组里协调`);
  await say(at("2026-02-20T04:00:00Z"), "c1", "gl1", `上报 #${ids.old} 需要村里协调`);
  await say(at("2026-02-20T05:00:00Z"), "cv", "vo1", `上报 #${ids.old} 需要镇里协调`);
  // Monday 2 March: 一邻's report answered in 30 min, resolved, 满意.
  ids.lamp = ticketNo(await say(march(2, 9), "c1", "r1", "报事 路灯坏了，电话19900000101"));
  await say(march(2, 9, 30), "c1", "nl1", `认领 #${ids.lamp}`);
  await say(march(2, 10), "c1", "nl1", `办结 #${ids.lamp} 已换灯泡`);
  await say(march(2, 10, 10), "c1", "r1", `满意 #${ids.lamp}`);
  // 二邻 (no 邻长): goes to the 组, never answered.
  ids.cover = ticketNo(await say(march(2, 9, 5), "c1", "r2", "报事 井盖松了"));
  // 三邻: answered after 5½ hours, resolved, 不满意 (reopened).
  ids.trash = ticketNo(await say(march(2, 11), "c2", "r3", "报事 垃圾没人清运"));
  await say(march(2, 16, 30), "c2", "nl3", `认领 #${ids.trash}`);
  await say(march(3, 9), "c2", "nl3", `办结 #${ids.trash} 已清运`);
  await say(march(3, 10), "c2", "r3", `不满意 #${ids.trash} 还有一堆`);
  // A special household visited; one more report on Wednesday, unanswered.
  await say(march(3, 15), "c1", "nl1", "走访 周奶奶 身体还行");
  ids.ditch = ticketNo(await say(march(4, 14), "c1", "r1", "报事 水沟堵了"));
  now = march(5, 10); // Thursday 10:00
});
afterAll(async () => {
  await h?.close();
});

async function login(): Promise<string> {
  const res = await app.request("/dashboard/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: TOKEN }).toString(),
  });
  return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
}
const page = async (path: string, cookie: string) => {
  const res = await app.request(path, { headers: { cookie } });
  expect(res.status).toBe(200);
  return res.text();
};

type Share = { n: number; d: number };
type Figures = { created: number; answer: Share; resolve: Share; satisfy: Share; overdue: number; special: Share; coverage: Share };

/** "75%（3/4）" → 3 of 4; "—" → nothing to divide. */
const share = (s: string | undefined): Share => {
  if (s === "—") return { n: 0, d: 0 };
  const m = /^\d+%（(\d+)\/(\d+)）$/u.exec(s ?? "");
  if (!m) throw new Error(`not a share: ${s}`);
  return { n: Number(m[1]), d: Number(m[2]) };
};

/** The figures as the digest's text states them (src/workflows/digests/format.ts is not used to read them). */
function fromDigest(text: string): Figures {
  const rates = /三率：响应率 (\S+)｜解决率 (\S+)｜满意率 (\S+)/u.exec(text);
  const cov = /走访覆盖：.*特殊户 (\S+)｜全部 (\S+)/u.exec(text);
  if (!rates || !cov) throw new Error(`not a digest: ${text}`);
  return {
    created: Number(/新增 (\d+) 件/u.exec(text)?.[1]),
    answer: share(rates[1]),
    resolve: share(rates[2]),
    satisfy: share(rates[3]),
    overdue: /逾期：无/u.test(text) ? 0 : Number(/逾期未办：(\d+) 件/u.exec(text)?.[1]),
    special: share(cov[1]),
    coverage: share(cov[2]),
  };
}

/** The table's rows as the page shows them: each cell carries what it is made of (data-n of data-d). */
function fromTable(html: string): Map<string, Figures> {
  const out = new Map<string, Figures>();
  for (const [, unit, row] of html.matchAll(/<tr data-unit="([^"]+)"[^>]*>(.*?)<\/tr>/gsu)) {
    const cells = new Map([...(row as string).matchAll(/data-col="(\w+)" data-n="(\d+)"(?: data-d="(\d+)")?/gu)].map((m) => [m[1], { n: Number(m[2]), d: Number(m[3] ?? 0) }]));
    const c = (k: string) => cells.get(k) ?? { n: -1, d: -1 };
    out.set(unit as string, {
      created: c("created").n,
      answer: c("answer"),
      resolve: c("resolve"),
      satisfy: c("satisfy"),
      overdue: c("overdue").n,
      special: c("special"),
      coverage: c("coverage"),
    });
  }
  return out;
}

describe("the per-unit table against the weekly digest", () => {
  it("近 7 天 matches 周报 typed in each unit's group, for the groups and the village", async () => {
    const cookie = await login();
    const groups = fromTable(await page("/dashboard/units?period=7d&rows=group", cookie));
    expect([...groups.keys()].sort()).toEqual(["g1", "g2"]);
    const village = fromTable(await page("/dashboard/units?period=7d", cookie)); // the admin: the town's villages
    expect([...village.keys()]).toEqual(["v"]);
    const digest = async (chat: string, who: string) => fromDigest((await h.say(chat, who, "周报")).text);
    const [c1, c2, cv] = [await digest("c1", "gl1"), await digest("c2", "gl2"), await digest("cv", "vo1")];
    expect(groups.get("g1")).toEqual(c1);
    expect(groups.get("g2")).toEqual(c2);
    expect(village.get("v")).toEqual(cv);
    // The data is not trivial: each kind of figure is non-zero somewhere, so a table of zeros could not pass.
    expect(c1).toMatchObject({ created: 3, answer: { n: 1, d: 3 }, resolve: { n: 1, d: 3 }, satisfy: { n: 1, d: 1 }, overdue: 3, special: { n: 1, d: 1 } });
    expect(c2).toMatchObject({ created: 1, answer: { n: 0, d: 1 }, satisfy: { n: 0, d: 1 } });
  });

  it("上期周报 matches the Friday digest the fan-out queued for each group chat", async () => {
    now = march(6, 9); // Friday 09:00, after the 08:00 slot
    // The digest goes to chats registered before its slot; the fixture's were registered on the machine's clock.
    await h.db.update(chats).set({ createdAt: at("2026-01-01T00:00:00Z") });
    try {
      await h.db.transaction((db) => fanOutWeeklyDigests({ db, now, effects: new Effects(), overrides: {} }));
      const sent = async (chat: string) => {
        const [row] = await h.db.select().from(outbox).where(eq(outbox.dedupeKey, `digest-${chat}-2026-W10`));
        return fromDigest(String((row?.payload as { text?: string } | undefined)?.text));
      };
      const cookie = await login();
      const html = await page("/dashboard/units?period=week&rows=group", cookie);
      expect(html).toContain("上期周报（2月27日—3月5日）");
      const table = fromTable(html);
      expect(table.get("g1")).toEqual(await sent("c1"));
      expect(table.get("g2")).toEqual(await sent("c2"));
      expect(fromTable(await page("/dashboard/units?period=week", cookie)).get("v")).toEqual(await sent("cv"));
    } finally {
      now = march(5, 10);
    }
  });

  it("the export's 单位三率 sheet holds the same table for the same period", async () => {
    const cookie = await login();
    const shown = fromTable(await page("/dashboard/units?period=7d&rows=group", cookie));
    const res = await app.request("/dashboard/export.xlsx?period=7d&rows=group", { headers: { cookie } });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await res.arrayBuffer());
    const sheet = wb.getWorksheet("单位三率");
    const head = ((sheet?.getRow(1).values ?? []) as unknown[]).map((v) => String(v ?? ""));
    const col = (name: string) => head.indexOf(name);
    const byName = new Map<string, ExcelJS.Row>();
    sheet?.eachRow((row, n) => {
      if (n > 1) byName.set(String(row.getCell(1).value), row);
    });
    const g1 = byName.get("东村一组");
    const want = shown.get("g1") as Figures;
    expect(g1?.getCell(col("新增")).value).toBe(want.created);
    expect(g1?.getCell(col("逾期")).value).toBe(want.overdue);
    expect([g1?.getCell(col("响应率（达标）")).value, g1?.getCell(col("响应率（基数）")).value]).toEqual([want.answer.n, want.answer.d]);
    expect(g1?.getCell(col("响应率")).value).toBeCloseTo(want.answer.n / want.answer.d);
    expect(g1?.getCell(col("响应率")).numFmt).toBe("0%");
    expect([g1?.getCell(col("走访覆盖（达标）")).value, g1?.getCell(col("走访覆盖（基数）")).value]).toEqual([want.coverage.n, want.coverage.d]);
    expect(byName.has("东村二组")).toBe(true);
  });
});

describe("the per-unit table's order and scope", () => {
  it("sorts by any column, a share with nothing to divide last either way", async () => {
    const cookie = await login();
    const order = async (q: string) => [...fromTable(await page(`/dashboard/units?period=7d&rows=neighborhood&${q}`, cookie)).keys()];
    // 响应率: 一邻 1/2, 二邻 0/1, 三邻 0/1 (ties by id).
    expect(await order("sort=answer&dir=desc")).toEqual(["n1", "n2", "n3"]);
    expect(await order("sort=answer&dir=asc")).toEqual(["n2", "n3", "n1"]);
    // 满意率: 一邻 1/1, 三邻 0/1, 二邻 — (no rating): last in both directions.
    expect(await order("sort=satisfy&dir=desc")).toEqual(["n1", "n3", "n2"]);
    expect(await order("sort=satisfy&dir=asc")).toEqual(["n3", "n1", "n2"]);
    expect(await order("sort=overdue&dir=desc")).toEqual(["n1", "n2", "n3"]);
  });

  it("a 组长 sees their own group's 邻 only", async () => {
    const admin = await login();
    const links = await page("/dashboard/links", admin);
    const url = /value="[^"]*(\/dashboard\/login\/link\?k=[^"]+)" [^>]*data-person="gl2"/u.exec(links)?.[1] as string;
    const res = await app.request(url.replaceAll("&amp;", "&"));
    const leader = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const rows = fromTable(await page("/dashboard/units", leader));
    expect([...rows.keys()]).toEqual(["n3"]);
    expect((await app.request("/dashboard/units?rows=village", { headers: { cookie: leader } })).status).toBe(200);
    expect([...fromTable(await page("/dashboard/units?rows=village", leader)).keys()]).toEqual(["n3"]); // not a level below theirs
  });
});

describe("the overview's needs-action lists", () => {
  it("lists overdue tickets with how long and whose, the town's tickets, and the last 24 hours' unanswered reports", async () => {
    const cookie = await login();
    const html = await page("/dashboard", cookie);
    const section = (id: string) => new RegExp(`<div class="card todo" id="${id}">(.*?)</div>`, "su").exec(html)?.[1] ?? "";
    const listed = (id: string) => [...section(id).matchAll(/href="\/dashboard\/tickets\/(\d+)"/gu)].map((m) => Number(m[1]));
    // Overdue since: the old one (20 Feb 14:00), 井盖 (Mon 13:05), 水沟 (Wed 18:00) — the most overdue first.
    expect(listed("overdue")).toEqual([ids.old, ids.cover, ids.ditch]);
    expect(section("overdue")).toContain('<span class="count">3</span>');
    expect(section("overdue")).toMatch(/井盖松了.*组级（东村一组）· 张组长.*超时 2天20小时/su);
    expect(section("overdue")).toMatch(/村道塌了一块.*镇级（测试镇）· 刘镇干/su);
    expect(listed("town-level")).toEqual([ids.old]);
    // Reports of the last 24 hours nobody answered: 水沟 (20 h ago), not 井盖 (3 days).
    expect(listed("unanswered")).toEqual([ids.ditch]);
    // 事项 masked as in the group: the phone in the 路灯 report would show as 【手机号】 (it is resolved, so not listed).
    expect(html).not.toContain("19900000101");
  });
});
