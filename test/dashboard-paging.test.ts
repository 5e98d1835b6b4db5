/**
 * The 工单台账's pages: 下一页 and 上一页 carry the last / first ticket id of the page (keyset paging), and following
 * them walks every ticket of the filter exactly once, newest first, and back again; the count and the page numbers
 * agree with the tickets. A leader's paging never leaves their scope. Real PostgreSQL (or PGlite) and HTTP.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { Signer } from "../src/dashboard/auth.js";
import { createHarness, type Harness, silent } from "./helpers/harness.js";

const TOKEN = "paging-admin-token-0123456789";
const SECRET = "p".repeat(40);
let h: Harness;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  h = await createHarness({ start: false });
  app = createApp({ runtime: h.runtime, logger: silent, sim: false, dashboard: { adminToken: TOKEN, sessionSecret: SECRET } });
  // 130 tickets in 一邻 (n1) and 40 in 三邻 (n3, another group), interleaved by id.
  await h.db.execute(sql`insert into tickets (unit_id, holder_unit_id, level, category, text, status, created_at, updated_at)
    select case when g % 4 = 0 and g <= 160 then 'n3' else 'n1' end, 'n1', 'neighborhood', '其他', '第' || g || '件', 'open',
      now() - (200 - g) * interval '1 minute', now()
    from generate_series(1, 170) g`);
});
afterAll(async () => {
  await h.close();
});

async function cookieFor(sub: string) {
  if (sub === "admin") {
    const res = await app.request("/dashboard/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  }
  const link = new Signer(SECRET, TOKEN).sign("link", { sub, exp: Date.now() + 60_000, v: 0 });
  const res = await app.request(`/dashboard/login/link?k=${link}`);
  return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
}

type Page = { ids: number[]; next?: string; prev?: string; count: string };
async function page(cookie: string, path: string): Promise<Page> {
  const res = await app.request(path, { headers: { cookie } });
  expect(res.status).toBe(200);
  const html = await res.text();
  const find = (label: string) => {
    for (const m of html.matchAll(/<a href="(\?[^"]*)">([^<]*)<\/a>/g)) if (m[2] === label) return `/dashboard/tickets${(m[1] as string).replaceAll("&amp;", "&")}`;
    return undefined;
  };
  const table = html.slice(html.indexOf('<table id="tickets"'));
  return {
    ids: [...table.matchAll(/<a href="\/dashboard\/tickets\/(\d+)">/g)].map((m) => Number(m[1])),
    next: find("下一页"),
    prev: find("上一页"),
    count: /id="count">([^<]*)</.exec(html)?.[1] ?? "",
  };
}

describe("ticket list paging", () => {
  it("下一页 walks every ticket of the filter once, newest first; 上一页 comes back to the same pages", async () => {
    const cookie = await cookieFor("admin");
    const all = (await h.db.execute(sql`select id from tickets where unit_id = 'n1' order by id desc`)) as unknown;
    const want = (Array.isArray(all) ? all : (all as { rows: unknown[] }).rows).map((r) => Number((r as { id: number }).id));
    expect(want).toHaveLength(130);

    const pages: Page[] = [await page(cookie, "/dashboard/tickets?unit=n1")];
    while (pages.at(-1)?.next) pages.push(await page(cookie, pages.at(-1)?.next as string));
    expect(pages.map((p) => p.ids.length)).toEqual([50, 50, 30]);
    expect(pages.flatMap((p) => p.ids)).toEqual(want);
    expect(pages.map((p) => p.count)).toEqual(["共 130 件，第 1/3 页", "共 130 件，第 2/3 页", "共 130 件，第 3/3 页"]);
    expect(pages[0]?.prev).toBeUndefined();
    expect(pages[1]?.next).toContain("unit=n1");

    // Back from the last page: the same tickets as on the way down.
    const back = await page(cookie, pages[2]?.prev as string);
    expect(back.ids).toEqual(pages[1]?.ids);
    expect(back.count).toBe("共 130 件，第 2/3 页");
    expect((await page(cookie, back.prev as string)).ids).toEqual(pages[0]?.ids);
    // An address with only a page number (an old bookmark) still finds that page.
    expect((await page(cookie, "/dashboard/tickets?unit=n1&page=3")).ids).toEqual(pages[2]?.ids);
  });

  it("a 邻长's pages hold only their 邻's tickets, whatever id the address carries", async () => {
    const cookie = await cookieFor("nl3"); // 三邻's 邻长
    const first = await page(cookie, "/dashboard/tickets");
    expect(first.count).toBe("共 40 件");
    expect(first.ids).toHaveLength(40);
    const rows = (await h.db.execute(sql`select id from tickets where unit_id = 'n3'`)) as unknown;
    const n3 = new Set((Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows).map((r) => Number((r as { id: number }).id)));
    expect(first.ids.every((id) => n3.has(id))).toBe(true);
    const deep = await page(cookie, "/dashboard/tickets?page=2&before=1000000");
    expect(deep.ids.every((id) => n3.has(id))).toBe(true);
  });
});

describe("the unit tree kept between requests", () => {
  it("a unit renamed, added or moved shows on the next page view, in names and in a leader's scope", async () => {
    const cookie = await cookieFor("gl1"); // 组长 of g1 (一邻 n1, 二邻 n2)
    const before = await (await app.request("/dashboard/units", { headers: { cookie } })).text();
    expect(before).toContain("一邻");
    const count = async () => (await page(cookie, "/dashboard/tickets")).count;
    expect(await count()).toBe("共 130 件，第 1/3 页");

    await h.db.execute(sql`update units set name = '一邻（新）' where id = 'n1'`);
    expect(await (await app.request("/dashboard/units", { headers: { cookie } })).text()).toContain("一邻（新）");

    // 三邻 moves under g1: its 40 tickets come into the 组长's scope at once; a new 邻 appears in the table.
    await h.db.execute(sql`update units set parent_id = 'g1' where id = 'n3'`);
    expect(await count()).toBe("共 170 件，第 1/4 页");
    await h.db.execute(sql`insert into units (id, parent_id, kind, name) values ('n9', 'g1', 'neighborhood', '九邻')`);
    expect(await (await app.request("/dashboard/units", { headers: { cookie } })).text()).toContain("九邻");
    await h.db.execute(sql`delete from units where id = 'n9'`);
    await h.db.execute(sql`update units set parent_id = 'g2' where id = 'n3'`);
    expect(await count()).toBe("共 130 件，第 1/3 页");
  });
});
