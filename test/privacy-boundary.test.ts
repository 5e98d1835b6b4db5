/**
 * The one way person-typed text reaches a group is forGroup (src/lib/privacy.ts). This check reads the source: a
 * template literal in the bot or the workflows that interpolates a person's words (`.text`, `.note`, `.reason`,
 * `.body`, `.caption`, `.summary`, `result`, `words`) must do it through forGroup — or be one of the few places listed here with
 * the reason it is not a group message of person-typed text. A new renderer that forgets fails here, before review.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIRS = ["src/bot", "src/workflows"];

/** Interpolations that are not person-typed text going into a group message, and why. */
const ALLOWED: [RegExp, string][] = [
  [/\breply\.text\b|\bpayload\.text\b/, "an already composed message (its renderer used forGroup; the outbox/pipeline guard ran)"],
  [/REASON_ZH\[a\.reason\]/, "a fixed word for an escalation reason, not typed text"],
  [/\ba\.text\.trim\(\)/, "escalationDirect: a private message to the responsible leader, who needs the full text"],
  [
    /^(?:secret|why)\.(?:summary|result|reason)\b|^short\(secret\.summary\b/,
    "矛盾调解 words in a private message to the mediating leaders (src/workflows/mediations/words.ts); a group only ever reads IN_GROUP",
  ],
];

const PERSON_TEXT = /\$\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}/g;
const WORDS = /\.(?:text|note|reason|body|caption|summary)\b|\bresult\b|\bwords\b/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "public" ? [] : files(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

describe("person-typed text reaches a group only through forGroup", () => {
  it("no template literal in src/bot or src/workflows interpolates a person's words without it", () => {
    const offending: string[] = [];
    let seen = 0;
    for (const file of DIRS.flatMap((d) => files(join(ROOT, d)))) {
      const lines = readFileSync(file, "utf8").split("\n");
      lines.forEach((line, i) => {
        for (const m of line.matchAll(PERSON_TEXT)) {
          const expr = m[1] as string;
          if (!WORDS.test(expr)) continue;
          seen += 1;
          if (expr.includes("forGroup(")) continue;
          if (ALLOWED.some(([re]) => re.test(expr))) continue;
          offending.push(`${relative(ROOT, file)}:${i + 1}: \${${expr}}`);
        }
      });
    }
    expect(offending).toEqual([]);
    // It does read the renderers: replies, notices and reporter updates interpolate through forGroup.
    expect(seen).toBeGreaterThan(8);
  });

  it("only src/lib/privacy.ts masks: nothing else imports maskPersonal", () => {
    const users = DIRS.concat(["src/dashboard", "src/lib", "src/db"])
      .flatMap((d) => files(join(ROOT, d)))
      .filter((f) => !f.endsWith("privacy.ts") && /\bmaskPersonal\b/.test(readFileSync(f, "utf8")));
    expect(users.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
