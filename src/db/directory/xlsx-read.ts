/**
 * The XLSX reader: a workbook laid out as xlsx-layout.ts says (what `npm run directory:export` writes) into the
 * same Sources as the YAML reader. Every problem names its cell in Chinese, `住户!C12：…`.
 */
import ExcelJS from "exceljs";
import type { z } from "zod";
import { chatSchema, householdSchema, LIST_SEPARATOR, personSchema, unitSchema, zhErrors } from "./fields.js";
import { DirectoryError, type Entry, type Issues, type PathPart, type Sources, type Where } from "./model.js";
import {
  CHOICE_WORDS,
  type Column,
  codeOf,
  columnLetter,
  SHEETS,
  type SheetKey,
  type SheetLayout,
  sheetOf,
} from "./xlsx-layout.js";
import { declaredUnzippedSize } from "./zip-size.js";

/** A cell as plain text or a number (which the text schema keeps as its digits), undefined when empty. */
function cellValue(value: ExcelJS.CellValue): string | number | undefined {
  if (value == null) return undefined;
  if (typeof value === "string") return value.trim() === "" ? undefined : value;
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return String(value);
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if ("richText" in value) return cellValue(value.richText.map((r) => r.text).join(""));
  if ("result" in value) return cellValue(value.result as ExcelJS.CellValue);
  if ("text" in value) return cellValue(value.text as ExcelJS.CellValue);
  return undefined;
}

type Row = {
  line: number;
  record: Record<string, unknown>;
  /** Fields whose cell was already reported as unreadable, so the schema's "必填" does not repeat it. */
  reported: Set<string>;
  at: (...field: PathPart[]) => Where;
};

/** The sheet's records, each with how to point at its cells; problems with single cells go to `issues`. */
function readSheet(ws: ExcelJS.Worksheet | undefined, layout: SheetLayout, issues: Issues): Row[] {
  if (!ws) return [];
  const cellAt = (line: number, letter?: string): Where => ({
    file: layout.name,
    line,
    field: letter,
    cell: true,
  });
  // Columns are found by header, so a clerk may reorder or hide columns; unknown headers are reported.
  const letters = new Map<string, string>(); // field → column letter
  const byIndex = new Map<number, Column>();
  ws.getRow(1).eachCell((cell, col) => {
    const header = String(cellValue(cell.value) ?? "").trim();
    const column = layout.columns.find((c) => c.header === header);
    if (!column) {
      if (header)
        issues.add(
          cellAt(1, columnLetter(col - 1)),
          `未知列 "${header}"（可选：${layout.columns.map((c) => c.header).join("、")}）`,
        );
      return;
    }
    letters.set(column.field, columnLetter(col - 1));
    byIndex.set(col, column);
  });
  const rows: Row[] = [];
  ws.eachRow((row, line) => {
    if (line === 1) return;
    const record: Record<string, unknown> = {};
    const reported = new Set<string>();
    let empty = true;
    row.eachCell((cell, col) => {
      const column = byIndex.get(col);
      const value = cellValue(cell.value);
      if (!column || value === undefined) return;
      empty = false;
      const where = cellAt(line, columnLetter(col - 1));
      const parsed = cellToField(column, value, where, issues);
      const [field, sub] = column.field.split(".") as [string, string | undefined];
      if (parsed === undefined) {
        reported.add(field);
        return;
      }
      if (sub)
        record[field] = {
          ...(record[field] as object | undefined),
          [sub]: parsed,
        };
      else record[field] = parsed;
    });
    if (empty) return;
    const at = (...field: PathPart[]): Where => {
      const key =
        field[0] === "identities" && field[1] !== undefined ? `identities.${field[1]}` : String(field[0] ?? "");
      return cellAt(line, letters.get(key) ?? letters.get(String(field[0])));
    };
    rows.push({ line, record, reported, at });
  });
  return rows;
}

/** A cell's value as its field wants it: codes for drop-down words, lists split, JSON parsed. */
function cellToField(column: Column, value: string | number, where: Where, issues: Issues): unknown {
  if (column.list) {
    return String(value)
      .split(LIST_SEPARATOR)
      .map((s) => s.trim())
      .filter(Boolean);
  }
  if (column.json) {
    try {
      return JSON.parse(String(value));
    } catch {
      issues.add(where, '不是有效的 JSON（如 {"answerDeadline": "4h"}）');
      return undefined;
    }
  }
  if (column.choice && column.choice !== "unit") {
    const code = codeOf(column.choice, String(value).trim());
    if (code === undefined) {
      const words = Object.values(CHOICE_WORDS[column.choice]).join("、");
      issues.add(where, `未知${column.header} ${JSON.stringify(String(value))}（可选：${words}）`);
    }
    return code;
  }
  return value;
}

/** Schema-checks each row; a nested path (settings.ladder) keeps its inner part in the message. */
function parseRows<T>(rows: readonly Row[], schema: z.ZodType<T>, issues: Issues): Entry<T>[] {
  const entries: Entry<T>[] = [];
  for (const { record, reported, at } of rows) {
    const parsed = schema.safeParse(record, { error: zhErrors });
    if (parsed.success) {
      entries.push({ value: parsed.data, at });
      continue;
    }
    for (const issue of parsed.error.issues) {
      const parts = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
      if (reported.has(String(parts[0]))) continue;
      const inner = parts.slice(parts[0] === "identities" ? 2 : 1).join(".");
      issues.add(at(...parts), inner ? `${inner}：${issue.message}` : issue.message);
    }
  }
  return entries;
}

/**
 * An uploaded workbook may unpack to at most this much: the directory of the largest town in the source article
 * (10,425 households) unpacks to a few megabytes.
 */
export const MAX_UNZIPPED_BYTES = 200 * 1024 * 1024;

/** A workbook as a path, or as bytes with the name to call it by (an upload). */
export type WorkbookInput = string | { name: string; data: Buffer };

/** Reads and schema-checks a workbook; cross-references are left to the validator. */
export async function readXlsxSources(input: WorkbookInput, issues: Issues): Promise<Sources> {
  const workbook = new ExcelJS.Workbook();
  const file = typeof input === "string" ? input : input.name;
  if (typeof input !== "string") {
    const size = declaredUnzippedSize(input.data);
    if (size === null) throw new DirectoryError([{ file, message: "无法读取，不是有效的 Excel 工作簿（.xlsx）" }]);
    if (size > MAX_UNZIPPED_BYTES)
      throw new DirectoryError([{ file, message: `工作簿解压后超过 ${MAX_UNZIPPED_BYTES / 1024 / 1024} MB，请分成几个文件上传` }]);
  }
  try {
    // The drop-downs are not read: exceljs expands each validated range (50,000 rows a column, xlsx-export.ts)
    // into one object per cell, which made reading the demo's workbook take seconds and hundreds of megabytes.
    const options = { ignoreNodes: ["dataValidations"] };
    if (typeof input === "string") await workbook.xlsx.readFile(input, options);
    else await workbook.xlsx.load(input.data as unknown as ExcelJS.Buffer, options);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new DirectoryError([
      {
        file,
        message: missing ? "找不到文件" : "无法读取，不是有效的 Excel 工作簿（.xlsx）",
      },
    ]);
  }
  issues.fileOrder.push(...SHEETS.map((s) => s.name)); // problems listed sheet by sheet, as the workbook reads
  const sheet = (key: SheetKey) => readSheet(workbook.getWorksheet(sheetOf(key).name), sheetOf(key), issues);
  if (!workbook.getWorksheet(sheetOf("units").name)) {
    throw new DirectoryError([{ file, message: `缺少工作表 "${sheetOf("units").name}"` }]);
  }

  // A town's settings live on their own sheet; they are checked as part of the unit, but pointed at where typed.
  const settings = new Map<string, Row>();
  for (const row of sheet("settings")) {
    const townId = row.record.id;
    if (typeof townId !== "string" && typeof townId !== "number") issues.add(row.at("id"), "必填");
    else if (settings.has(String(townId))) issues.add(row.at("id"), `重复的镇编号 "${townId}"`);
    else settings.set(String(townId), row);
  }
  const unitRows = sheet("units").map((row): Row => {
    const own = settings.get(String(row.record.id));
    if (!own) return row;
    settings.delete(String(row.record.id));
    return {
      ...row,
      record: { ...row.record, settings: own.record.settings },
      at: (...field) => (field[0] === "settings" ? own.at("settings") : row.at(...field)),
    };
  });
  for (const [townId, row] of settings) issues.add(row.at("id"), `找不到单位 "${townId}"`);

  const sources = {
    units: parseRows(unitRows, unitSchema, issues),
    people: parseRows(sheet("people"), personSchema, issues),
    households: parseRows(sheet("households"), householdSchema, issues),
    chats: parseRows(sheet("chats"), chatSchema, issues),
  };
  issues.throwIfAny(); // as with YAML: a record that could not be read would only cause follow-on reference errors
  return sources;
}
