/**
 * Platform payloads shaped like the official documents' JSON examples (test/fixtures/platforms/, see
 * docs/platforms.md): the field names, nesting and types are the documents'; the placeholder values in capitals
 * are filled in per test, so one file serves every test that needs that shape.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const DIR = fileURLToPath(new URL("../fixtures/platforms/", import.meta.url));

/** A fixture with its placeholders replaced; every `MSGID…` placeholder becomes a fresh, unique id. */
export function platformFixture<T = Record<string, unknown>>(file: string, values: Record<string, string>): T {
  const unique = randomBytes(6).toString("hex");
  const filled = JSON.parse(readFileSync(`${DIR}${file}`, "utf8"), (_key, v: unknown) => {
    if (typeof v !== "string") return v;
    let out = v.replace(/\bMSGID_[A-Z_]+\b/g, (m) => `${m}_${unique}`);
    for (const [k, value] of Object.entries(values)) out = out.replaceAll(k, value);
    return out;
  });
  return filled as T;
}
