/**
 * Imports the directory file (YAML, plus an optional households CSV) into units, households, people,
 * identities and chats. The format is documented in docs/directory-format.md.
 *
 * Two stages: parseDirectoryFile validates everything without touching the database and reports every problem
 * with file, line and field; writeDirectory then upserts the result in one transaction. A bad file therefore
 * writes nothing, and re-importing the same file updates rows in place instead of duplicating them.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { CsvError, parse as parseCsv } from "csv-parse/sync";
import { getTableColumns, type SQL, sql } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import type { PgTable } from "drizzle-orm/pg-core";
import { isNode, LineCounter, parseDocument, type ScalarTag, type Tags } from "yaml";
import { z } from "zod";
import { townSettingsSchema } from "../workflows/policy.js";
import { LEADER_ROLE, ROLE_ZH } from "../workflows/roles.js";
import type { Db } from "./client.js";
import {
  chats,
  households,
  type IdentityKind,
  identities,
  type Platform,
  people,
  platforms,
  type Role,
  roles,
  type UnitKind,
  unitKinds,
  units,
} from "./schema/index.js";

// ───────────────────────────── Public types ─────────────────────────────

/** The columns the file controls; `-?` makes nullable columns explicit so a field removed from the file clears it. */
type Row<T extends PgTable, K extends keyof T["$inferInsert"]> = { [P in K]-?: Exclude<T["$inferInsert"][P], undefined> };

export type UnitRow = Row<typeof units, "id" | "parentId" | "kind" | "name" | "settings">;
export type HouseholdRow = Row<
  typeof households,
  "id" | "unitId" | "headName" | "members" | "tags" | "careLevel" | "houseNo" | "nickname" | "address" | "phone"
>;
export type PersonRow = Row<typeof people, "id" | "name" | "role" | "unitId" | "householdId" | "phone">;
export type IdentityRow = Row<typeof identities, "platform" | "externalId" | "personId" | "kind">;
export type ChatRow = Row<typeof chats, "id" | "platform" | "externalId" | "unitId" | "name" | "webhookUrl" | "meta">;

/** A validated directory, ready to write. Units are ordered parents first. */
export type Directory = {
  units: UnitRow[];
  households: HouseholdRow[];
  people: PersonRow[];
  identities: IdentityRow[];
  chats: ChatRow[];
};

export type ImportCounts = { inserted: number; updated: number; unchanged: number };
export type ImportSummary = Record<keyof Directory, ImportCounts>;

export type DirectoryIssue = { file: string; line?: number; field?: string; message: string };

/** At most this many problems are listed; the rest are counted, so a wholly wrong file stays readable. */
const MAX_LISTED_ISSUES = 10;

export class DirectoryError extends Error {
  constructor(readonly issues: DirectoryIssue[]) {
    const listed = issues.slice(0, MAX_LISTED_ISSUES).map(formatIssue);
    const rest = issues.length - listed.length;
    super(rest > 0 ? [...listed, `……另有 ${rest} 处错误未列出`].join("\n") : listed.join("\n"));
    this.name = "DirectoryError";
  }
}

/** `demo/directory.yaml:42: people[3].role: 未知角色 "leader"（…）` — the shape editors and CI logs understand. */
function formatIssue({ file, line, field, message }: DirectoryIssue): string {
  const place = line === undefined ? file : `${file}:${line}`;
  return field ? `${place}: ${field}: ${message}` : `${place}: ${message}`;
}

// ───────────────────────────── Domain rules ─────────────────────────────

const KIND_LABEL: Record<UnitKind, string> = {
  town: "镇",
  village: "村/社区",
  area: "片",
  group: "组",
  neighborhood: "邻",
};


/** The tree town → village → (area) → group → neighborhood; the area level is optional. */
const PARENT_KINDS: Record<UnitKind, readonly UnitKind[]> = {
  town: [],
  village: ["town"],
  area: ["village"],
  group: ["area", "village"],
  neighborhood: ["group"],
};

/** Leaders sit in the unit they lead; residents and admins may be anywhere. */
const ROLE_UNIT_KIND: Partial<Record<Role, UnitKind>> = Object.fromEntries(
  Object.entries(LEADER_ROLE).map(([kind, role]) => [role, kind as UnitKind]),
);

/** Households with these people get monthly visits or weekly contact (常态化联系机制). */
const SPECIAL_TAGS = new Set(["留守儿童", "孤寡老人", "独居老人", "残疾", "低保"]);
const careLevels = ["special", "normal"] as const;

const describeKind = (kind: UnitKind) => `${KIND_LABEL[kind]}（${kind}）`;
const describeRole = (role: Role) => `${ROLE_ZH[role]}（${role}）`;
/** Depth in the tree: sorting by it puts every parent before its children, since parents are always shallower. */
const kindDepth = (kind: UnitKind) => unitKinds.indexOf(kind);

// ───────────────────────────── Field schemas ─────────────────────────────

const REQUIRED = "必填";

/**
 * Text as people type it in YAML, quoted or not: an unquoted phone or house number arrives as a number and is
 * kept as its digits. Numbers that would not survive the round trip (decimals, too many digits) must be quoted.
 */
const text = z
  .union([z.string(), z.number()], { error: (iss) => (iss.input === undefined ? REQUIRED : "应为文本") })
  .transform((value, ctx) => {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      ctx.addIssue({ code: "custom", message: "这个数字会失真，请加引号写成文本" });
      return z.NEVER;
    }
    const trimmed = String(value).trim();
    if (!trimmed) {
      ctx.addIssue({ code: "custom", message: "不能为空" });
      return z.NEVER;
    }
    return trimmed;
  });

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Ids are stable codes (they appear in commands, URLs and the simulator), so keep them to plain ASCII. */
const id = text.refine((v) => ID_PATTERN.test(v), "id 只能由字母、数字和 - _ . 组成");

/** An empty YAML value (`nickname:`) or an empty CSV cell means "not given". */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null || v === "" ? undefined : v), schema.optional());
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined ? REQUIRED : `未知${what} ${JSON.stringify(iss.input)}（可选：${values.join(", ")}）`,
  });
}

/** Strict: a misspelt key (`careLvl`) would otherwise be silently ignored. */
function record<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === "unrecognized_keys") return `未知字段 ${iss.keys.map((k) => `"${k}"`).join("、")}（可选：${allowed}）`;
      return iss.input === undefined ? REQUIRED : "应为对象（键: 值）";
    },
  });
}

function list<T extends z.ZodType>(item: T) {
  return z.array(item, { error: (iss) => (iss.input === undefined ? REQUIRED : "应为列表，如 [甲, 乙]") });
}

/** Lists that may be left out or empty. */
const optionalList = <T extends z.ZodType>(item: T) => optional(list(item)).transform((v) => v ?? []);

const PHONE_PATTERN = /^\+?[0-9][0-9 -]{4,19}$/;
/** Phones are private: the message never echoes the value. */
const phone = optional(text.refine((v) => PHONE_PATTERN.test(v), "电话号码格式不对（只能含数字、空格、- 和开头的 +）"));

const freeObject = optional(
  z.record(z.string(), z.unknown(), { error: "应为对象（键: 值）" }).refine((v) => !Array.isArray(v), "应为对象（键: 值）"),
);

const unitKind = oneOf(unitKinds, "单位类型");

const unitSchema = record({
  id,
  parent: optional(text),
  kind: unitKind,
  name: text,
  // Free-form and stored as written; the keys the bot reads are checked with the policy's own schema.
  settings: optional(townSettingsSchema),
});

const householdSchema = record({
  id,
  unit: text,
  head: text,
  members: optionalList(text),
  tags: optionalList(text),
  careLevel: optional(oneOf(careLevels, "关怀等级")),
  houseNo: optional(text),
  nickname: optional(text),
  address: optional(text),
  phone,
});

const identitiesSchema = record({
  wecom: optional(text),
  dingtalk: optional(text),
  sim: optional(text),
  /** A WeChat user's external_userid as WeCom gives it (外部联系人): stored as a WeCom identity of that kind. */
  wecom_external: optional(text),
} satisfies Record<Platform | "wecom_external", unknown>);

const personSchema = record({
  id,
  name: text,
  role: oneOf(roles, "角色"),
  unit: text,
  household: optional(text),
  phone,
  identities: optional(identitiesSchema),
});

const chatSchema = record({
  id,
  platform: oneOf(platforms, "平台"),
  externalId: optional(text),
  unit: text,
  name: text,
  // The webhook is a secret: the message never echoes it.
  webhookUrl: optional(z.url({ protocol: /^https?$/, error: "应为 http(s) 地址" })),
  meta: freeObject,
});

const fileSchema = record({
  units: list(unitSchema).min(1, "至少要有一个单位"),
  households: optionalList(householdSchema),
  people: optionalList(personSchema),
  chats: optionalList(chatSchema),
  householdsCsv: optional(text),
});

type UnitInput = z.output<typeof unitSchema>;
type TownSettings = z.output<typeof townSettingsSchema>;
type HouseholdInput = z.output<typeof householdSchema>;
type PersonInput = z.output<typeof personSchema>;
type ChatInput = z.output<typeof chatSchema>;
type IdentityInput = { platform: Platform; externalId: string; personId: string; kind: IdentityKind };

/** Generic messages (e.g. "too small") in Chinese too; the schemas above override the common ones. */
const zhErrors = z.locales.zhCN().localeError;

// ───────────────────────────── Sources and locations ─────────────────────────────

type PathPart = string | number;
/** Where one field of a parsed record came from. */
type Where = Omit<DirectoryIssue, "message">;
/** A parsed record and how to point at its fields. */
type Entry<T> = { value: T; at: (...field: PathPart[]) => Where };

/** `["people", 3, "role"]` → `people[3].role`. */
function formatPath(parts: readonly PathPart[]): string {
  return parts.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

/** Collects problems; validation stages add to it and stop before writing if it is not empty. */
class Issues {
  readonly list: DirectoryIssue[] = [];
  add(where: Where, message: string): void {
    this.list.push({ ...where, message });
  }
  addZod(error: z.ZodError, at: (...field: PathPart[]) => Where): void {
    for (const issue of error.issues) {
      const parts = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
      // Point at the offending key itself rather than at the object around it.
      if (issue.code === "unrecognized_keys" && issue.keys[0] !== undefined) parts.push(issue.keys[0]);
      this.add(at(...parts), issue.message);
    }
  }
  /** Throws every problem found so far, in file order. */
  throwIfAny(): void {
    if (this.list.length === 0) return;
    const fileRank = new Map<string, number>();
    for (const { file } of this.list) if (!fileRank.has(file)) fileRank.set(file, fileRank.size);
    const rank = (i: DirectoryIssue) => (fileRank.get(i.file) ?? 0) * 1e9 + (i.line ?? 0);
    throw new DirectoryError([...this.list].sort((a, b) => rank(a) - rank(b)));
  }
}

/** Reads a text file, refusing non-UTF-8 (Excel in China often saves GBK) instead of importing mojibake. */
async function readText(file: string, referencedFrom?: Where): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "找不到文件" : "无法读取文件";
    // A referenced file is reported where it is referenced, naming the path that was tried.
    const issue = referencedFrom ? { ...referencedFrom, message: `${reason} ${file}` } : { file, message: reason };
    throw new DirectoryError([issue]);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new DirectoryError([{ file, message: "不是 UTF-8 编码（Excel 请另存为“CSV UTF-8”）" }]);
  }
}

/**
 * YAML would read `dingtalk: 0101` as the number 101. Plain integers with a leading zero stay text instead,
 * so ids and phone numbers keep their digits.
 */
const isDecimalInt = (tag: Tags[number]): tag is ScalarTag =>
  typeof tag === "object" && !("collection" in tag) && tag.tag === "tag:yaml.org,2002:int" && !tag.format;
const keepLeadingZeros = (tags: Tags): Tags =>
  tags.map((tag) => (isDecimalInt(tag) ? { ...tag, test: /^[-+]?(?:0|[1-9][0-9]*)$/ } : tag));

type YamlSource = { raw: unknown; at: (...field: PathPart[]) => Where };

async function readYaml(file: string): Promise<YamlSource> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(await readText(file), { lineCounter, customTags: keepLeadingZeros, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new DirectoryError(
      doc.errors.map((e) => ({ file, line: lineCounter.linePos(e.pos[0]).line, message: `YAML 语法错误：${e.message}` })),
    );
  }
  /** The line of the deepest node that exists on the path (a missing field points at its record). */
  const lineOf = (parts: readonly PathPart[]): number => {
    for (let n = parts.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(parts.slice(0, n), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return 1;
  };
  return {
    raw: doc.toJS(),
    at: (...field) => ({ file, line: lineOf(field), field: field.length ? formatPath(field) : undefined }),
  };
}

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
const LIST_SEPARATOR = /[、|]/;
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
async function readHouseholdsCsv(file: string, referencedFrom: Where, issues: Issues): Promise<Entry<HouseholdInput>[]> {
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

// ───────────────────────────── Cross-reference checks ─────────────────────────────

/** Indexes entries by key; later duplicates are reported against the first occurrence. */
function indexUnique<T>(
  entries: readonly Entry<T>[],
  keyOf: (value: T) => string,
  field: PathPart[],
  what: string,
  issues: Issues,
): Map<string, Entry<T>> {
  const seen = new Map<string, Entry<T>>();
  for (const entry of entries) {
    const key = keyOf(entry.value);
    const first = seen.get(key);
    if (!first) {
      seen.set(key, entry);
      continue;
    }
    const { file, line } = first.at(...field);
    issues.add(entry.at(...field), `重复的${what} "${key}"（第一次出现在 ${file}:${line}）`);
  }
  return seen;
}

type UnitIndex = Map<string, Entry<UnitInput>>;

/** The unit a record refers to, or undefined after reporting the unknown reference. */
function resolveUnit(unitsById: UnitIndex, ref: string, where: Where, issues: Issues): UnitInput | undefined {
  const unit = unitsById.get(ref)?.value;
  if (!unit) issues.add(where, `未知单位 "${ref}"`);
  return unit;
}

const CLOCK = /^([01]?\d|2[0-3]):[0-5]\d$/;

/** Mistakes the policy schema lets through but the escalation ladder and quiet hours would trip over later. */
function checkTownSettings(settings: TownSettings, at: Entry<UnitInput>["at"], issues: Issues): void {
  const { ladder, quietHours } = settings;
  if (ladder?.some((kind, i) => i > 0 && kindDepth(kind) >= kindDepth(ladder[i - 1] as UnitKind))) {
    issues.add(at("settings", "ladder"), "应从低到高排列且不重复，如 [neighborhood, group, village, town]");
  }
  if (typeof quietHours === "string" && !quietHours.split("-").every((t) => CLOCK.test(t))) {
    issues.add(at("settings", "quietHours"), `时间不对 ${JSON.stringify(quietHours)}（应为 HH:MM-HH:MM，00:00–23:59）`);
  }
}

function checkUnits(entries: readonly Entry<UnitInput>[], unitsById: UnitIndex, issues: Issues): void {
  for (const { value: unit, at } of entries) {
    const allowed = PARENT_KINDS[unit.kind];
    if (unit.settings && unit.kind !== "town") issues.add(at("settings"), "settings 只对镇（town）有效");
    else if (unit.settings) checkTownSettings(unit.settings, at, issues);
    if (allowed.length === 0) {
      if (unit.parent) issues.add(at("parent"), `${describeKind(unit.kind)}是最上级，不能有 parent`);
      continue;
    }
    if (!unit.parent) {
      issues.add(at("parent"), `${describeKind(unit.kind)}必须有 parent（${allowed.map(describeKind).join("或")}）`);
      continue;
    }
    const parent = resolveUnit(unitsById, unit.parent, at("parent"), issues);
    if (parent && !allowed.includes(parent.kind)) {
      issues.add(
        at("parent"),
        `${describeKind(unit.kind)}的上级应为${allowed.map(describeKind).join("或")}，但 "${unit.parent}" 是${describeKind(parent.kind)}`,
      );
    }
  }
}

function checkHouseholds(entries: readonly Entry<HouseholdInput>[], unitsById: UnitIndex, issues: Issues): void {
  for (const { value: household, at } of entries) {
    const unit = resolveUnit(unitsById, household.unit, at("unit"), issues);
    if (unit && unit.kind !== "neighborhood") {
      issues.add(at("unit"), `住户应属于邻（neighborhood），但 "${household.unit}" 是${describeKind(unit.kind)}`);
    }
  }
}

/** True when `unitId` is `ancestorId` or lies below it. */
function isWithin(unitsById: UnitIndex, unitId: string, ancestorId: string): boolean {
  for (let id: string | undefined = unitId; id !== undefined; id = unitsById.get(id)?.value.parent) {
    if (id === ancestorId) return true;
  }
  return false;
}

function checkPeople(
  entries: readonly Entry<PersonInput>[],
  unitsById: UnitIndex,
  householdsById: Map<string, Entry<HouseholdInput>>,
  issues: Issues,
): void {
  for (const { value: person, at } of entries) {
    const unit = resolveUnit(unitsById, person.unit, at("unit"), issues);
    const expected = ROLE_UNIT_KIND[person.role];
    if (unit && expected && unit.kind !== expected) {
      issues.add(
        at("unit"),
        `${describeRole(person.role)}应属于${describeKind(expected)}，但 "${person.unit}" 是${describeKind(unit.kind)}`,
      );
    }
    if (!person.household) continue;
    const household = householdsById.get(person.household)?.value;
    if (!household) issues.add(at("household"), `未知住户 "${person.household}"`);
    // A resident's requests go to their unit's leaders, so their home must be inside that unit.
    else if (unit && person.role === "resident" && !isWithin(unitsById, household.unit, person.unit)) {
      issues.add(at("household"), `住户 "${person.household}" 在 "${household.unit}"，不在此人的单位 "${person.unit}" 内`);
    }
  }
}

function checkChats(entries: readonly Entry<ChatInput>[], unitsById: UnitIndex, issues: Issues): void {
  for (const { value: chat, at } of entries) resolveUnit(unitsById, chat.unit, at("unit"), issues);
}

// ───────────────────────────── Normalisation ─────────────────────────────

/** One identity per platform account; WeCom userids are case-insensitive, so they are stored lower-cased. */
function identitiesOf({ value: person, at }: Entry<PersonInput>): Entry<IdentityInput>[] {
  const own = platforms.flatMap((platform) => {
    const externalId = person.identities?.[platform];
    if (externalId === undefined) return [];
    return [
      {
        value: { platform, externalId: platform === "wecom" ? externalId.toLowerCase() : externalId, personId: person.id, kind: "userid" as const },
        at: () => at("identities", platform),
      },
    ];
  });
  // A person on personal WeChat may be known to WeCom by an external_userid only, or by both: that one is kept as is.
  const wechat = person.identities?.wecom_external;
  return wechat === undefined
    ? own
    : [...own, { value: { platform: "wecom", externalId: wechat, personId: person.id, kind: "external_userid" }, at: () => at("identities", "wecom_external") }];
}

const toUnitRow = (u: UnitInput): UnitRow => ({
  id: u.id,
  parentId: u.parent ?? null,
  kind: u.kind,
  name: u.name,
  settings: u.settings ?? {},
});

/** The special tags of the town above `unitId` (its `settings.visits.specialTags`), else the default list. */
function specialTagsFor(unitsById: UnitIndex, unitId: string): ReadonlySet<string> {
  let unit = unitsById.get(unitId)?.value;
  for (let depth = 0; unit && depth < unitKinds.length; depth++) {
    if (unit.kind === "town") {
      const tags = unit.settings?.visits?.specialTags;
      return tags ? new Set(tags) : SPECIAL_TAGS;
    }
    unit = unit.parent ? unitsById.get(unit.parent)?.value : undefined;
  }
  return SPECIAL_TAGS;
}

const toHouseholdRow = (h: HouseholdInput, specialTags: ReadonlySet<string> = SPECIAL_TAGS): HouseholdRow => ({
  id: h.id,
  unitId: h.unit,
  headName: h.head,
  members: h.members,
  tags: h.tags,
  careLevel: h.careLevel ?? (h.tags.some((t) => specialTags.has(t)) ? "special" : "normal"),
  houseNo: h.houseNo ?? null,
  nickname: h.nickname ?? null,
  address: h.address ?? null,
  phone: h.phone ?? null,
});

const toPersonRow = (p: PersonInput): PersonRow => ({
  id: p.id,
  name: p.name,
  role: p.role,
  unitId: p.unit,
  householdId: p.household ?? null,
  phone: p.phone ?? null,
});

const toChatRow = (c: ChatInput): ChatRow => ({
  id: c.id,
  platform: c.platform,
  externalId: c.externalId ?? c.id,
  unitId: c.unit,
  name: c.name,
  webhookUrl: c.webhookUrl ?? null,
  meta: c.meta ?? {},
});

// ───────────────────────────── Parse ─────────────────────────────

/** Reads and validates a directory file (and its households CSV). Pure: never touches the database. */
export async function parseDirectoryFile(file: string): Promise<Directory> {
  const yaml = await readYaml(file);
  if (yaml.raw == null) throw new DirectoryError([{ file, message: "文件是空的（至少需要 units: 列表）" }]);
  const issues = new Issues();
  const parsed = fileSchema.safeParse(yaml.raw, { error: zhErrors });
  if (!parsed.success) {
    issues.addZod(parsed.error, yaml.at);
    issues.throwIfAny();
  }
  const data = parsed.data as z.output<typeof fileSchema>;
  const entriesOf = <T>(list: readonly T[], name: string): Entry<T>[] =>
    list.map((value, i) => ({ value, at: (...field) => yaml.at(name, i, ...field) }));

  const unitEntries = entriesOf(data.units, "units");
  const personEntries = entriesOf(data.people, "people");
  const chatEntries = entriesOf(data.chats, "chats");
  const householdEntries = entriesOf(data.households, "households");
  if (data.householdsCsv) {
    const csvFile = path.isAbsolute(data.householdsCsv)
      ? data.householdsCsv
      : path.join(path.dirname(file), data.householdsCsv); // keeps messages relative when the YAML path is
    householdEntries.push(...(await readHouseholdsCsv(csvFile, yaml.at("householdsCsv"), issues)));
    issues.throwIfAny(); // a broken CSV would only cause follow-on reference errors
  }
  const identityEntries = personEntries.flatMap(identitiesOf);

  const byId = <T extends { id: string }>(entries: Entry<T>[], what: string) =>
    indexUnique(entries, (v) => v.id, ["id"], what, issues);
  const unitsById = byId(unitEntries, "单位 id");
  const householdsById = byId(householdEntries, "住户 id");
  byId(personEntries, "人员 id");
  byId(chatEntries, "群 id");
  indexUnique(identityEntries, (v) => `${v.platform}:${v.externalId}`, [], "账号", issues);
  indexUnique(chatEntries, (v) => `${v.platform}:${v.externalId ?? v.id}`, ["externalId"], "群账号", issues);

  checkUnits(unitEntries, unitsById, issues);
  checkHouseholds(householdEntries, unitsById, issues);
  checkPeople(personEntries, unitsById, householdsById, issues);
  checkChats(chatEntries, unitsById, issues);
  issues.throwIfAny();

  return {
    // Stable sort by depth: parents are inserted before their children.
    units: data.units.map(toUnitRow).sort((a, b) => kindDepth(a.kind) - kindDepth(b.kind)),
    households: householdEntries.map((e) => toHouseholdRow(e.value, specialTagsFor(unitsById, e.value.unit))),
    people: data.people.map(toPersonRow),
    identities: identityEntries.map((e) => e.value),
    chats: data.chats.map(toChatRow),
  };
}

// ───────────────────────────── Write ─────────────────────────────

/** Rows per INSERT: well under PostgreSQL's 65,535 bind parameters for the widest table. */
const BATCH_SIZE = 1000;

/** `xmax = 0` only for rows this statement inserted (an updated row carries the updating transaction's id). */
const insertedFlag = { inserted: sql<boolean>`(xmax = 0)` };

/**
 * ON CONFLICT clause that overwrites `keys` with the incoming values, but only when one of them differs, so
 * unchanged rows keep their updated_at and are counted as unchanged.
 */
function overwrite<T extends PgTable>(table: T, keys: readonly (keyof T["_"]["columns"] & string)[]) {
  const columns = getTableColumns(table);
  const incoming = (key: string) => sql`excluded.${sql.identifier(toSnakeCase(key))}`;
  const set: Record<string, SQL> = Object.fromEntries(keys.map((key) => [key, incoming(key)]));
  if ("updatedAt" in columns) set.updatedAt = sql`now()`;
  const current = sql.join(
    keys.map((key) => columns[key]),
    sql`, `,
  );
  const next = sql.join(keys.map(incoming), sql`, `);
  return { set, setWhere: sql`(${current}) is distinct from (${next})` };
}

async function upsertInBatches<R>(rows: readonly R[], write: (batch: R[]) => Promise<{ inserted: boolean }[]>) {
  const counts: ImportCounts = { inserted: 0, updated: 0, unchanged: 0 };
  for (let start = 0; start < rows.length; start += BATCH_SIZE) {
    const batch = rows.slice(start, start + BATCH_SIZE);
    const written = await write(batch);
    const inserted = written.filter((r) => r.inserted).length;
    counts.inserted += inserted;
    counts.updated += written.length - inserted;
    counts.unchanged += batch.length - written.length;
  }
  return counts;
}

/** Upserts a validated directory in one transaction, in dependency order. Rows not in the file are kept. */
export async function writeDirectory(db: Db, dir: Directory): Promise<ImportSummary> {
  return db.transaction(async (tx) => {
    const unitCounts = await upsertInBatches(dir.units, (batch) =>
      tx
        .insert(units)
        .values(batch)
        .onConflictDoUpdate({ target: units.id, ...overwrite(units, ["parentId", "kind", "name", "settings"]) })
        .returning(insertedFlag),
    );
    const householdCounts = await upsertInBatches(dir.households, (batch) =>
      tx
        .insert(households)
        .values(batch)
        .onConflictDoUpdate({
          target: households.id,
          ...overwrite(households, [
            "unitId",
            "headName",
            "members",
            "tags",
            "careLevel",
            "houseNo",
            "nickname",
            "address",
            "phone",
          ]),
        })
        .returning(insertedFlag),
    );
    const peopleCounts = await upsertInBatches(dir.people, (batch) =>
      tx
        .insert(people)
        .values(batch)
        .onConflictDoUpdate({
          target: people.id,
          ...overwrite(people, ["name", "role", "unitId", "householdId", "phone"]),
        })
        .returning(insertedFlag),
    );
    const identityCounts = await upsertInBatches(dir.identities, (batch) =>
      tx
        .insert(identities)
        .values(batch)
        .onConflictDoUpdate({
          target: [identities.platform, identities.externalId],
          ...overwrite(identities, ["personId", "kind"]),
        })
        .returning(insertedFlag),
    );
    // Chat status (active/dead) is the bot's own observation, so re-import leaves it alone. A webhook bound with
    // `npm run wecom:bind` is kept when the file names none (the file need not carry that secret).
    const chatFields = overwrite(chats, ["platform", "externalId", "unitId", "name", "meta"]);
    const chatCounts = await upsertInBatches(dir.chats, (batch) =>
      tx
        .insert(chats)
        .values(batch)
        .onConflictDoUpdate({
          target: chats.id,
          set: { ...chatFields.set, webhookUrl: sql`coalesce(excluded.webhook_url, ${chats.webhookUrl})` },
          setWhere: sql`${chatFields.setWhere} or (excluded.webhook_url is not null and excluded.webhook_url is distinct from ${chats.webhookUrl})`,
        })
        .returning(insertedFlag),
    );
    return {
      units: unitCounts,
      households: householdCounts,
      people: peopleCounts,
      identities: identityCounts,
      chats: chatCounts,
    };
  });
}

/** Validates `file` and, only if it is entirely valid, writes it. */
export async function importDirectory(db: Db, file: string): Promise<ImportSummary> {
  return writeDirectory(db, await parseDirectoryFile(file));
}

const ENTITY_LABEL: Record<keyof ImportSummary, string> = {
  units: "单位",
  households: "住户",
  people: "人员",
  identities: "账号",
  chats: "群",
};

/** `单位 12（新增 12，更新 0，未变 0），住户 …` for the CLI and logs. */
export function describeSummary(summary: ImportSummary): string {
  return (Object.keys(ENTITY_LABEL) as (keyof ImportSummary)[])
    .map((key) => {
      const { inserted, updated, unchanged } = summary[key];
      const total = inserted + updated + unchanged;
      return `${ENTITY_LABEL[key]} ${total}（新增 ${inserted}，更新 ${updated}，未变 ${unchanged}）`;
    })
    .join("，");
}
