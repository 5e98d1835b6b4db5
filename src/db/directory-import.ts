/**
 * Imports the directory (a YAML file with an optional households CSV, or an XLSX workbook) into units,
 * households, people, identities and chats. The formats are documented in docs/directory-format.md.
 *
 * Three stages, one module each under ./directory/: a reader per format produces schema-checked records
 * (model.ts), the validator checks them as a whole and reports every problem with its place, and the writer
 * upserts the result in one transaction. A bad file therefore writes nothing, and re-importing the same file
 * updates rows in place instead of duplicating them.
 */
import type { Db } from "./client.js";
import { type Directory, type ImportSummary, Issues } from "./directory/model.js";
import { validateDirectory } from "./directory/validate.js";
import { writeDirectory } from "./directory/write.js";
import { readXlsxSources } from "./directory/xlsx-read.js";
import { readYamlSources } from "./directory/yaml.js";

export type {
  ChatRow,
  Directory,
  DirectoryIssue,
  HouseholdRow,
  IdentityRow,
  ImportCounts,
  ImportSummary,
  PersonRow,
  UnitRow,
} from "./directory/model.js";
export { DirectoryError } from "./directory/model.js";
export { describeSummary, dryRunDirectory, writeDirectory, writeDirectoryChanges, type WriteResult } from "./directory/write.js";

const isWorkbook = (file: string) => /\.xlsx$/i.test(file);

/** Reads and validates a directory file of any supported format. Pure: never touches the database. */
export async function parseDirectoryFile(file: string): Promise<Directory> {
  const issues = new Issues();
  const sources = isWorkbook(file) ? await readXlsxSources(file, issues) : await readYamlSources(file, issues);
  return validateDirectory(sources, issues);
}

/** Reads and validates a workbook given as bytes (a dashboard upload); `name` is what whole-file problems call it. */
export async function parseDirectoryWorkbook(name: string, data: Buffer): Promise<Directory> {
  const issues = new Issues();
  return validateDirectory(await readXlsxSources({ name, data }, issues), issues);
}

/** Validates `file` and, only if it is entirely valid, writes it. */
export async function importDirectory(db: Db, file: string): Promise<ImportSummary> {
  return writeDirectory(db, await parseDirectoryFile(file));
}
