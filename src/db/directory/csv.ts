/** The households CSV reader: one household per row, columns named as in docs/directory-format.md. */
import { CsvError, parse as parseCsv } from "csv-parse/sync";
import { type HouseholdInput, householdSchema, LIST_SEPARATOR, zhErrors } from "./fields.js";
import { DirectoryError, type Entry, formatPath, type Issues, type PathPart, readText, type Where } from "./model.js";

/** CSV column → YAML field. */
const CSV_COLUMNS = {
  id: "id",
  unit: "unit",
  head: "head",
  members: "members",
  tags: "tags",
  care_level: "careLevel",
  house_no: "houseNo",
  nickname: "nickname",
  address: "address",
  phone: "phone",
} as const satisfies Record<string, keyof HouseholdInput>;
type CsvColumn = keyof typeof CSV_COLUMNS;
const REQUIRED_CSV_COLUMNS: readonly CsvColumn[] = ["id", "unit", "head"];
const csvColumnOf = (field: PathPart) =>
  (Object.keys(CSV_COLUMNS) as CsvColumn[]).find((c) => CSV_COLUMNS[c] === field) ?? String(field);

/** csv-parse's types do not model `info: true`, which wraps each record with its position. */
type CsvRecord = { record: string[]; info: { lines: number } };

function parseCsvRecords(file: string, text: string): { cells: string[]; line: number }[] {
  try {
    const records = parseCsv(text.replace(/\r\n?/g, "\n"), {
      info: true,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true, // checked per row below, with a clearer message
      comment: "#",
      comment_no_infix: true,
    }) as unknown as CsvRecord[];
    // `info.lines` is where the record ends; a quoted cell may span lines, so count back to where it starts.
    return records.map(({ record, info }) => ({
      cells: record,
      line: info.lines - record.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0),
    }));
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const line = typeof err.lines === "number" ? err.lines : undefined;
    throw new DirectoryError([{ file, line, message: `CSV 格式错误：${err.message}` }]);
  }
}

/** The header's columns, or undefined after reporting unknown or missing ones (rows could not be read then). */
function checkCsvHeader(file: string, header: { cells: string[]; line: number }, issues: Issues) {
  const known = Object.keys(CSV_COLUMNS);
  const columns = header.cells.map((c) => c.toLowerCase());
  const at = (field: string) => ({ file, line: header.line, field });
  const unknown = columns.filter((c) => !known.includes(c));
  const missing = REQUIRED_CSV_COLUMNS.filter((c) => !columns.includes(c));
  for (const c of unknown) issues.add(at(c || "（空列名）"), `未知列 "${c}"（可选：${known.join(", ")}）`);
  for (const c of missing) issues.add(at(c), "缺少必需的列");
  return unknown.length === 0 && missing.length === 0 ? (columns as CsvColumn[]) : undefined;
}

/** One CSV row in the YAML household shape; list cells are split on 、 or |, empty cells are left out. */
function csvRowToHousehold(columns: readonly CsvColumn[], cells: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  columns.forEach((column, i) => {
    const cell = cells[i];
    if (!cell) return;
    const field = CSV_COLUMNS[column];
    out[field] =
      field === "members" || field === "tags"
        ? cell
            .split(LIST_SEPARATOR)
            .map((s) => s.trim())
            .filter(Boolean)
        : cell;
  });
  return out;
}

/** The CSV's households; problems go to `issues`, each with the CSV's own line number. */
export async function readHouseholdsCsv(
  file: string,
  referencedFrom: Where,
  issues: Issues,
): Promise<Entry<HouseholdInput>[]> {
  const [header, ...rows] = parseCsvRecords(file, await readText(file, referencedFrom));
  if (!header) return [];
  const columns = checkCsvHeader(file, header, issues);
  if (!columns) return [];
  const entries: Entry<HouseholdInput>[] = [];
  for (const { cells, line } of rows) {
    const at = (...field: PathPart[]) => ({
      file,
      line,
      field: field.length ? formatPath([csvColumnOf(field[0] as PathPart), ...field.slice(1)]) : undefined,
    });
    if (cells.length !== columns.length) {
      issues.add(at(), `这一行有 ${cells.length} 列，表头有 ${columns.length} 列`);
      continue;
    }
    const parsed = householdSchema.safeParse(csvRowToHousehold(columns, cells), { error: zhErrors });
    if (parsed.success) entries.push({ value: parsed.data, at });
    else issues.addZod(parsed.error, at);
  }
  return entries;
}
