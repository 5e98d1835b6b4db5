/**
 * The directory workbook uploaded on the dashboard, over HTTP on the real database: the preview (same reader,
 * validator and writer as `npm run import`, nothing written), 确认导入, errors by sheet/row/column, the preview bound
 * to the rows it was computed against, and the size limits.
 */
import { eq } from "drizzle-orm";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { queryRows, sql } from "../src/db/client.js";
import { directoryChanges, directoryUploads, households, people } from "../src/db/schema/index.js";
import { createHarness, type Harness, silent } from "./helpers/harness.js";

const TOKEN = "upload-admin-token-0123456789";
let h: Harness;
let app: ReturnType<typeof createApp>;
let cookie = "";

beforeAll(async () => {
  h = await createHarness();
  app = createApp({ runtime: h.runtime, logger: silent, sim: true, dashboard: { adminToken: TOKEN, sessionSecret: "u".repeat(40) } });
  const res = await app.request("/dashboard/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: TOKEN }).toString(),
  });
  cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
}, 120_000);
afterAll(async () => {
  await h?.close();
});

/** Every directory row as JSON, to prove that a preview or a refusal wrote nothing (not even updated_at). */
async function snapshot(): Promise<string> {
  const parts: unknown[] = [];
  for (const table of ["units", "households", "people", "identities", "chats"])
    parts.push(await queryRows(h.db, sql`select * from ${sql.identifier(table)} order by 1, 2`));
  return JSON.stringify(parts);
}

/** The directory as the dashboard's download gives it. */
async function download(): Promise<ExcelJS.Workbook> {
  const res = await app.request("/dashboard/directory/export.xlsx", { headers: { cookie } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-disposition")).toMatch(/attachment; filename="mingce-\d{4}-\d{2}-\d{2}\.xlsx"/);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(await res.arrayBuffer());
  return wb;
}

async function upload(data: Uint8Array | ArrayBuffer, name = "名册.xlsx") {
  const body = new FormData();
  body.append("file", new File([new Uint8Array(data)], name, { type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" }));
  return app.request("/dashboard/directory/import", { method: "POST", headers: { cookie }, body });
}
const page = async (path: string) => app.request(path, { headers: { cookie } });
const confirm = (location: string) => app.request(`${location}/confirm`, { method: "POST", headers: { cookie } });
const sheet = (wb: ExcelJS.Workbook, name: string) => wb.getWorksheet(name) as ExcelJS.Worksheet;
/** The row of a sheet whose first cell (编号) is `id`. */
function rowOf(ws: ExcelJS.Worksheet, id: string): ExcelJS.Row {
  for (let n = 2; n <= ws.rowCount; n++) if (ws.getRow(n).getCell(1).value === id) return ws.getRow(n);
  throw new Error(`no row ${id}`);
}
/** The preview's counts table as { entity: [新增, 更新, 未变] }. */
function counts(html: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const m of html.matchAll(/<tr data-entity="(\w+)"><td>[^<]*<\/td><td>(\d+)<\/td><td>(\d+)<\/td><td>(\d+)<\/td><\/tr>/g))
    out[m[1] as string] = [Number(m[2]), Number(m[3]), Number(m[4])];
  return out;
}

// Each test downloads and uploads whole workbooks: generous limits for a loaded 2-core machine.
describe("uploading the directory workbook", { timeout: 240_000 }, () => {
  it("previews an unchanged download as all 未变 and offers nothing to confirm", async () => {
    const wb = await download();
    const res = await upload(await wb.xlsx.writeBuffer());
    expect(res.status).toBe(303);
    const html = await (await page(res.headers.get("location") as string)).text();
    expect(counts(html)).toEqual({ units: [0, 0, 7], households: [0, 0, 4], people: [0, 0, 11], identities: [0, 0, 4], chats: [0, 0, 3] });
    expect(html).toContain('id="nothing"');
    expect(html).not.toContain('id="confirm"');
  });

  it("previews an edit without writing it, and writes it on 确认导入, once", async () => {
    const wb = await download();
    rowOf(sheet(wb, "住户"), "h2").getCell(2).value = "赵二新";
    sheet(wb, "人员").addRow(["r9", "钱九", "居民", "n2"]);
    const before = await snapshot();
    const res = await upload(await wb.xlsx.writeBuffer(), "东村名册.xlsx");
    const location = res.headers.get("location") as string;
    expect(location).toMatch(/^\/dashboard\/directory\/import\/[0-9a-f-]{36}$/);
    const html = await (await page(location)).text();
    expect(html).toContain("导入预览：东村名册.xlsx");
    expect(counts(html)).toMatchObject({ households: [0, 1, 3], people: [1, 0, 11] });
    expect(html).toContain("更新：赵二新（2号）（h2）");
    expect(html).toContain("新增：钱九（r9）");
    expect(await snapshot()).toBe(before); // a preview writes nothing

    const done = await confirm(location);
    expect(done.status).toBe(200);
    const result = await done.text();
    expect(result).toContain("导入完成");
    expect(counts(result)).toMatchObject({ households: [0, 1, 3], people: [1, 0, 11] });
    expect((await h.db.select().from(households).where(eq(households.id, "h2")))[0]?.headName).toBe("赵二新");
    expect((await h.db.select().from(people).where(eq(people.id, "r9")))[0]).toMatchObject({ name: "钱九", role: "resident", unitId: "n2" });

    // A second click, or the back button and confirm again: nothing more.
    const again = await confirm(location);
    expect(await again.text()).toContain("已经导入过了");
    const imports = await h.db.select().from(directoryChanges).where(eq(directoryChanges.kind, "import"));
    expect(imports).toHaveLength(1);
    expect(imports[0]).toMatchObject({ actorName: "管理员", summary: "导入名册 东村名册.xlsx：住户 更新 1，人员 新增 1" });
    expect(await (await page("/dashboard/directory/history")).text()).toContain("导入名册 东村名册.xlsx：住户 更新 1，人员 新增 1");
  });

  it("names the sheet, row and column of each error, as the command line does, and writes nothing", async () => {
    const wb = await download();
    const person = rowOf(sheet(wb, "人员"), "r2");
    person.getCell(3).value = "村长";
    const household = rowOf(sheet(wb, "住户"), "h3");
    household.getCell(6).value = "特别";
    const before = await snapshot();
    const uploads = (await h.db.select().from(directoryUploads)).length;
    const res = await upload(await wb.xlsx.writeBuffer());
    expect(res.status).toBe(422);
    const html = await res.text();
    const errors = [...html.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]?.replaceAll("&quot;", '"'));
    expect(errors).toEqual([
      `人员!C${person.number}：未知角色 "村长"（可选：居民、邻长、组长、片长、村干部、镇干部、管理员）`,
      `住户!F${household.number}：未知关怀等级 "特别"（可选：重点、一般）`,
    ]);
    expect(html).toContain("数据库没有任何改动");
    expect(await snapshot()).toBe(before);
    expect(await h.db.select().from(directoryUploads)).toHaveLength(uploads);
  });

  it("previews again when a record it touches changed after the preview; a change elsewhere does not disturb it", async () => {
    const wb = await download();
    rowOf(sheet(wb, "住户"), "h3").getCell(2).value = "孙三新";
    const first = (await upload(await wb.xlsx.writeBuffer())).headers.get("location") as string;
    // Someone deactivates 赵二 (in the workbook) on the dashboard meanwhile.
    const off = await app.request("/dashboard/directory/people/r2/active", {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: "active=0",
    });
    expect(off.status).toBe(303);
    const stale = await confirm(first);
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain("预览之后，名册里相关的记录有了改动");
    expect((await h.db.select().from(households).where(eq(households.id, "h3")))[0]?.headName).toBe("孙三");
    // Confirmed again against the records as they are now, it imports (and leaves the deactivation alone).
    expect(await (await confirm(first)).text()).toContain("导入完成");
    expect((await h.db.select().from(households).where(eq(households.id, "h3")))[0]?.headName).toBe("孙三新");
    expect((await h.db.select().from(people).where(eq(people.id, "r2")))[0]?.active).toBe(false);

    // A group bound after the preview is not in the workbook: the confirmation goes through at once.
    const wb2 = await download();
    rowOf(sheet(wb2, "住户"), "h4").getCell(8).value = "周婆婆";
    const second = (await upload(await wb2.xlsx.writeBuffer())).headers.get("location") as string;
    await h.say("c-later", "r1", "@好邻 在吗");
    const bound = await app.request("/dashboard/directory/chats/bind", {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ platform: "sim", externalId: "c-later", unitId: "g1", name: "后来的群" }).toString(),
    });
    expect(bound.status).toBe(303);
    expect(await (await confirm(second)).text()).toContain("导入完成");
  });

  it("refuses what is not a workbook, one too large to take and one that would unpack too large", async () => {
    const uploads = (await h.db.select().from(directoryUploads)).length;
    const text = await upload(new TextEncoder().encode("id,name\nh1,李一\n"), "名册.csv");
    expect(text.status).toBe(422);
    expect(await text.text()).toContain("名册.csv: 无法读取，不是有效的 Excel 工作簿（.xlsx）");

    const big = await upload(new Uint8Array(11 * 1024 * 1024));
    expect(big.status).toBe(413);
    expect(await big.text()).toContain("文件超过 10 MB");

    // A zip whose one entry says it unpacks to 300 MB: refused from its central directory, before anything unpacks it.
    const bomb = await upload(zipDeclaring(300 * 1024 * 1024));
    expect(bomb.status).toBe(422);
    expect(await bomb.text()).toContain("工作簿解压后超过 200 MB");
    expect(await h.db.select().from(directoryUploads)).toHaveLength(uploads);
  });
});

/** A zip archive (PKWARE APPNOTE 4.3.12 / 4.3.16) with one stored entry whose header declares `size` unpacked bytes. */
function zipDeclaring(size: number): Uint8Array {
  const name = Buffer.from("xl/workbook.xml");
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt32LE(size, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt32LE(size, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE(0, 42); // offset of the local header
  const cdOffset = local.length + name.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return new Uint8Array(Buffer.concat([local, name, central, name, end]));
}
