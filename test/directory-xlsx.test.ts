import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows, sql } from "../src/db/client.js";
import { DirectoryError, importDirectory, parseDirectoryFile } from "../src/db/directory-import.js";
import { exportDirectory } from "../src/db/directory/xlsx-export.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";

const DB_TIMEOUT = 30_000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haolin-xlsx-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);

const NOTHING_CHANGED = (n: number) => ({ inserted: 0, updated: 0, unchanged: n });

/** Every directory row as JSON, to prove a rejected import wrote nothing (not even updated_at). */
async function snapshot(t: TestDatabase): Promise<string> {
  const tables = ["units", "households", "people", "identities", "chats"];
  const parts: unknown[] = [];
  for (const table of tables) {
    parts.push(await queryRows(t.db, sql`select * from ${sql.identifier(table)} order by 1, 2`));
  }
  return JSON.stringify(parts);
}

async function readWorkbook(name: string): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(file(name));
  return wb;
}

async function rejection(name: string): Promise<string> {
  const err = await parseDirectoryFile(file(name)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DirectoryError);
  return (err as DirectoryError).message;
}

describe("the directory as an Excel workbook", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  }, DB_TIMEOUT);
  afterAll(async () => {
    await t?.close();
  });

  it("exports an empty template from an empty database", async () => {
    const counts = await exportDirectory(t.db, file("template.xlsx"));
    expect(counts).toEqual({ 单位: 0, 人员: 0, 住户: 0, 群: 0, 设置: 0 });
    const wb = await readWorkbook("template.xlsx");
    expect(wb.worksheets.map((ws) => ws.name)).toEqual(["单位", "人员", "住户", "群", "设置"]);
    const households = wb.getWorksheet("住户") as ExcelJS.Worksheet;
    expect(households.getRow(1).values).toEqual([
      undefined,
      "编号",
      "户主",
      "所属邻",
      "家庭成员",
      "标签",
      "关怀等级",
      "门牌号",
      "称呼",
      "地址",
      "电话",
    ]);
    expect(households.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
    // Drop-downs survive the file: care levels in words, units from the 单位 sheet, roles in words.
    expect(households.getCell("F2").dataValidation).toMatchObject({ type: "list", formulae: ['"重点,一般"'] });
    expect(households.getCell("C500").dataValidation).toMatchObject({
      type: "list",
      formulae: ["'单位'!$A$2:$A$50000"],
    });
    const roles = (wb.getWorksheet("人员") as ExcelJS.Worksheet).getCell("C2").dataValidation;
    expect(roles.formulae).toEqual(['"居民,邻长,组长,片长,村干部,镇干部,管理员"']);
    // An empty template imports as nothing.
    expect(await parseDirectoryFile(file("template.xlsx"))).toEqual({
      units: [],
      households: [],
      people: [],
      identities: [],
      chats: [],
    });
  });

  it("exports the demo directory and imports it back with everything 未变", async () => {
    await importDirectory(t.db, "demo/directory.yaml");
    const counts = await exportDirectory(t.db, file("demo.xlsx"));
    expect(counts).toMatchObject({ 单位: 23, 人员: 34, 住户: 63, 群: 5 });
    expect(counts.设置).toBeGreaterThan(0);
    const before = await snapshot(t);
    expect(await importDirectory(t.db, file("demo.xlsx"))).toEqual({
      units: NOTHING_CHANGED(23),
      households: NOTHING_CHANGED(63),
      people: NOTHING_CHANGED(34),
      identities: NOTHING_CHANGED(102),
      chats: NOTHING_CHANGED(5),
    });
    expect(await snapshot(t)).toBe(before);
  });

  it("imports an edit made in the workbook, by id, deleting nothing", async () => {
    const wb = await readWorkbook("demo.xlsx");
    const households = wb.getWorksheet("住户") as ExcelJS.Worksheet;
    const row = households.getRow(2);
    const id = String(row.getCell(1).value);
    // A household nobody in 人员 lives in, so removing its row breaks no reference.
    const lived = new Set<unknown>();
    (wb.getWorksheet("人员") as ExcelJS.Worksheet).eachRow((r) => lived.add(r.getCell(5).value));
    let spare = 3;
    while (lived.has(households.getCell(`A${spare}`).value)) spare++;
    row.getCell(2).value = "新户主";
    row.getCell(10).value = 13800001111; // Excel turns a typed phone into a number
    households.spliceRows(spare, 1); // a row removed from the sheet is kept in the database
    const peopleSheet = wb.getWorksheet("人员") as ExcelJS.Worksheet;
    expect(peopleSheet.getCell("J1").value).toBe("微信外部联系人");
    peopleSheet.getCell("J2").value = "wmEXTERNAL01"; // an external_userid is kept as WeCom gives it, not lower-cased
    await wb.xlsx.writeFile(file("edited.xlsx"));

    const summary = await importDirectory(t.db, file("edited.xlsx"));
    expect(summary.households).toEqual({ inserted: 0, updated: 1, unchanged: 61 });
    expect(summary.identities).toEqual({ inserted: 1, updated: 0, unchanged: 102 });
    const [account] = await queryRows<{ platform: string; kind: string }>(
      t.db,
      sql`select platform, kind from identities where external_id = 'wmEXTERNAL01'`,
    );
    expect(account).toEqual({ platform: "wecom", kind: "external_userid" });
    await exportDirectory(t.db, file("again.xlsx"));
    const again = (await readWorkbook("again.xlsx")).getWorksheet("人员") as ExcelJS.Worksheet;
    expect(again.getRow(2).getCell(10).value).toBe("wmEXTERNAL01");
    const [saved] = await queryRows<{ head_name: string; phone: string }>(
      t.db,
      sql`select head_name, phone from households where id = ${id}`,
    );
    expect(saved).toEqual({ head_name: "新户主", phone: "13800001111" });
    const [{ n }] = (await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from households`)) as [
      { n: number },
    ];
    expect(n).toBe(63);
  });

  it("names sheet, row and column of every error, in Chinese, and writes nothing", async () => {
    await exportDirectory(t.db, file("fresh.xlsx"));
    const wb = await readWorkbook("fresh.xlsx");
    const sheet = (name: string) => wb.getWorksheet(name) as ExcelJS.Worksheet;

    const unitRow = 3;
    sheet("单位").getCell(`C${unitRow}`).value = "街道";
    const personRow = 4;
    sheet("人员").getCell(`C${personRow}`).value = "村长";
    sheet("住户").getCell("J13").value = "call me";
    sheet("群").getCell("B2").value = "微信";
    sheet("设置").getCell("B2").value = "{not json";
    const townId = String(sheet("设置").getCell("A2").value);
    await wb.xlsx.writeFile(file("bad.xlsx"));

    const before = await snapshot(t);
    const message = await rejection("bad.xlsx");
    expect(message.split("\n")).toEqual([
      '单位!C3：未知类型 "街道"（可选：镇、村/社区、片、组、邻）',
      '人员!C4：未知角色 "村长"（可选：居民、邻长、组长、片长、村干部、镇干部、管理员）',
      "住户!J13：电话号码格式不对（只能含数字、空格、- 和开头的 +）",
      '群!B2：未知平台 "微信"（可选：企业微信、钉钉、模拟器）',
      '设置!B2：不是有效的 JSON（如 {"answerDeadline": "4h"}）',
    ]);
    expect(townId).not.toBe("");
    await expect(importDirectory(t.db, file("bad.xlsx"))).rejects.toBeInstanceOf(DirectoryError);
    expect(await snapshot(t)).toBe(before);
  });

  it("names the cell of every broken reference once all cells read, and writes nothing", async () => {
    const wb = await readWorkbook("fresh.xlsx");
    const sheet = (name: string) => wb.getWorksheet(name) as ExcelJS.Worksheet;
    sheet("住户").getCell("C12").value = "qh-lx-p9";
    sheet("人员").getCell("D5").value = "qh-nowhere";
    sheet("人员").getCell("E6").value = "h-999";
    sheet("群").getCell("D3").value = "qh-gone";
    sheet("单位").getCell("B4").value = "qh-void";
    const duplicate = String(sheet("单位").getCell("A2").value);
    sheet("单位").getCell(`A${sheet("单位").rowCount + 1}`).value = duplicate;
    sheet("单位").getCell(`C${sheet("单位").rowCount}`).value = "镇";
    sheet("单位").getCell(`D${sheet("单位").rowCount}`).value = "重复的镇";
    await wb.xlsx.writeFile(file("refs.xlsx"));

    const before = await snapshot(t);
    const last = sheet("单位").rowCount;
    expect((await rejection("refs.xlsx")).split("\n")).toEqual([
      '单位!B4：找不到单位 "qh-void"',
      `单位!A${last}：重复的单位 id "${duplicate}"（第一次出现在 单位!A2）`,
      '人员!D5：找不到单位 "qh-nowhere"',
      '人员!E6：未知住户 "h-999"',
      '住户!C12：找不到单位 "qh-lx-p9"',
      '群!D3：找不到单位 "qh-gone"',
    ]);
    await expect(importDirectory(t.db, file("refs.xlsx"))).rejects.toBeInstanceOf(DirectoryError);
    expect(await snapshot(t)).toBe(before);
  });

  it("lists at most 20 problems and counts the rest", async () => {
    const wb = await readWorkbook("fresh.xlsx");
    const households = wb.getWorksheet("住户") as ExcelJS.Worksheet;
    for (let r = 2; r <= 26; r++) households.getCell(`J${r}`).value = "call me";
    await wb.xlsx.writeFile(file("many.xlsx"));
    const lines = (await rejection("many.xlsx")).split("\n");
    expect(lines).toHaveLength(21);
    expect(lines[0]).toBe("住户!J2：电话号码格式不对（只能含数字、空格、- 和开头的 +）");
    expect(lines[20]).toBe("……另有 5 处错误未列出");
  });

  it("rejects a file that is not a workbook, naming it", async () => {
    fs.writeFileSync(file("fake.xlsx"), "units: []\n");
    expect(await rejection("fake.xlsx")).toBe(`${file("fake.xlsx")}: 无法读取，不是有效的 Excel 工作簿（.xlsx）`);
  });
});
