/**
 * The directory model every reader (YAML, CSV, XLSX) produces and the validator and writer consume, plus the
 * problem list all of them report into. Readers turn their format into `Sources` (schema-checked records, each
 * able to point back at its place in the file); validateDirectory turns those into a `Directory` ready to write.
 */
import { readFile } from "node:fs/promises";
import type { PgTable } from "drizzle-orm/pg-core";
import type { z } from "zod";
import type { chats, households, identities, people, units } from "../schema/index.js";
import type { ChatInput, HouseholdInput, PersonInput, UnitInput } from "./fields.js";

/** The columns the file controls; `-?` makes nullable columns explicit so a field removed from the file clears it. */
type Row<T extends PgTable, K extends keyof T["$inferInsert"]> = {
  [P in K]-?: Exclude<T["$inferInsert"][P], undefined>;
};

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

export type ImportCounts = {
  inserted: number;
  updated: number;
  unchanged: number;
};
export type ImportSummary = Record<keyof Directory, ImportCounts>;

/**
 * One problem. In a text file `line` is the line and `field` the YAML path or CSV column; in a workbook (`cell`)
 * `file` is the sheet, `line` the row and `field` the column letter, so it reads `住户!C12`.
 */
export type DirectoryIssue = {
  file: string;
  line?: number;
  field?: string;
  cell?: boolean;
  message: string;
};

/** At most this many problems are listed; the rest are counted, so a wholly wrong file stays readable. */
const MAX_LISTED_ISSUES = 20;

export class DirectoryError extends Error {
  constructor(readonly issues: DirectoryIssue[]) {
    const listed = issues.slice(0, MAX_LISTED_ISSUES).map(formatIssue);
    const rest = issues.length - listed.length;
    super(rest > 0 ? [...listed, `……另有 ${rest} 处错误未列出`].join("\n") : listed.join("\n"));
    this.name = "DirectoryError";
  }
}

/** `demo/directory.yaml:42: people[3].role: 未知角色 "leader"（…）` — the shape editors and CI logs understand. */
export function formatIssue(issue: DirectoryIssue): string {
  if (issue.cell) return `${formatPlace(issue)}：${issue.message}`;
  const { file, line, field, message } = issue;
  const place = line === undefined ? file : `${file}:${line}`;
  return field ? `${place}: ${field}: ${message}` : `${place}: ${message}`;
}

/** `d.yaml:12`, or `住户!C12` for a workbook cell. */
export function formatPlace({ file, line, field, cell }: Omit<DirectoryIssue, "message">): string {
  if (cell) return line === undefined ? file : `${file}!${field ?? ""}${line}`;
  return line === undefined ? file : `${file}:${line}`;
}

export type PathPart = string | number;
/** Where one field of a parsed record came from. */
export type Where = Omit<DirectoryIssue, "message">;
/** A parsed record and how to point at its fields. */
export type Entry<T> = { value: T; at: (...field: PathPart[]) => Where };

/** `["people", 3, "role"]` → `people[3].role`. */
export function formatPath(parts: readonly PathPart[]): string {
  return parts.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

/** Collects problems; validation stages add to it and stop before writing if it is not empty. */
export class Issues {
  readonly list: DirectoryIssue[] = [];
  /** Files (or sheets) in the order their problems are listed; others follow in order of first problem. */
  readonly fileOrder: string[] = [];
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
    const fileRank = new Map<string, number>(this.fileOrder.map((f, i) => [f, i]));
    for (const { file } of this.list) if (!fileRank.has(file)) fileRank.set(file, fileRank.size);
    const rank = (i: DirectoryIssue) => (fileRank.get(i.file) ?? 0) * 1e9 + (i.line ?? 0);
    throw new DirectoryError([...this.list].sort((a, b) => rank(a) - rank(b)));
  }
}

/** Reads a text file, refusing non-UTF-8 (Excel in China often saves GBK) instead of importing mojibake. */
export async function readText(file: string, referencedFrom?: Where): Promise<string> {
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

/** Schema-checked records as a reader found them, before cross-references are checked. */
export type Sources = {
  units: Entry<UnitInput>[];
  households: Entry<HouseholdInput>[];
  people: Entry<PersonInput>[];
  chats: Entry<ChatInput>[];
};
