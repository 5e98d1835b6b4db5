/** The YAML reader: the directory file, plus the households CSV it may name. */
import path from "node:path";
import { isNode, LineCounter, parseDocument, type ScalarTag, type Tags } from "yaml";
import type { z } from "zod";
import { readHouseholdsCsv } from "./csv.js";
import { fileSchema, zhErrors } from "./fields.js";
import {
  DirectoryError,
  type Entry,
  formatPath,
  type Issues,
  type PathPart,
  readText,
  type Sources,
  type Where,
} from "./model.js";

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
  const doc = parseDocument(await readText(file), {
    lineCounter,
    customTags: keepLeadingZeros,
    prettyErrors: false,
  });
  if (doc.errors.length > 0) {
    throw new DirectoryError(
      doc.errors.map((e) => ({
        file,
        line: lineCounter.linePos(e.pos[0]).line,
        message: `YAML 语法错误：${e.message}`,
      })),
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
    at: (...field) => ({
      file,
      line: lineOf(field),
      field: field.length ? formatPath(field) : undefined,
    }),
  };
}

/** Reads and schema-checks a YAML directory (and its households CSV); cross-references are left to the validator. */
export async function readYamlSources(file: string, issues: Issues): Promise<Sources> {
  const yaml = await readYaml(file);
  if (yaml.raw == null) throw new DirectoryError([{ file, message: "文件是空的（至少需要 units: 列表）" }]);
  const parsed = fileSchema.safeParse(yaml.raw, { error: zhErrors });
  if (!parsed.success) {
    issues.addZod(parsed.error, yaml.at);
    issues.throwIfAny();
  }
  const data = parsed.data as z.output<typeof fileSchema>;
  const entriesOf = <T>(list: readonly T[], name: string): Entry<T>[] =>
    list.map((value, i) => ({
      value,
      at: (...field) => yaml.at(name, i, ...field),
    }));

  const households = entriesOf(data.households, "households");
  if (data.householdsCsv) {
    const csvFile = path.isAbsolute(data.householdsCsv)
      ? data.householdsCsv
      : path.join(path.dirname(file), data.householdsCsv); // keeps messages relative when the YAML path is
    households.push(...(await readHouseholdsCsv(csvFile, yaml.at("householdsCsv"), issues)));
    issues.throwIfAny(); // a broken CSV would only cause follow-on reference errors
  }
  return {
    units: entriesOf(data.units, "units"),
    households,
    people: entriesOf(data.people, "people"),
    chats: entriesOf(data.chats, "chats"),
  };
}
