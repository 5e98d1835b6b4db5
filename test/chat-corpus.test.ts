/**
 * Everyday group chat against the parser. The training files are what the phrase rules were built against; the
 * held-out files were written before the rules and never tuned on: on them the parser must take no false action
 * and be at least 98% exact (the figure is printed). Re-measure: npx vitest run test/chat-corpus.test.ts
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type ParsedCommand, parseCommand } from "../src/bot/parse.js";

const lines = (name: string) =>
  readFileSync(fileURLToPath(new URL(`./fixtures/chat/${name}`, import.meta.url)), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"));

type Labelled = { text: string; expected: Pick<ParsedCommand, "intent" | "ticket" | "body"> };

function load(prefix: string): Labelled[] {
  const chat = lines(`${prefix}-chat.txt`).map((text) => ({ text, expected: { intent: "none" as const, ticket: null, body: null } }));
  const commands = lines(`${prefix}-commands.txt`).map((l) => {
    const [text = "", intent = "", ticket = "", body = ""] = l.split("\t");
    return { text, expected: { intent: intent as ParsedCommand["intent"], ticket: ticket ? Number(ticket) : null, body: body || null } };
  });
  return [...chat, ...commands];
}

const ACTIONS = new Set(["report", "onBehalf", "visit", "contact", "claim", "reply", "resolve", "escalate", "rate"]);
const got = (text: string) => {
  const { intent, ticket, body } = parseCommand(text);
  return { intent, ticket, body };
};

describe("everyday chat the rules were built against", () => {
  const all = load("train");
  it("has a few hundred messages", () => expect(all.length).toBeGreaterThanOrEqual(250));
  it.each(all.map((x) => [x.text, x.expected] as const))("%s", (text, expected) => {
    expect(got(text)).toEqual(expected);
  });
});

describe("held-out everyday chat (never tuned on)", () => {
  const all = load("heldout");
  it("takes no false action and is at least 98% exact", () => {
    const wrong = all.filter((x) => JSON.stringify(got(x.text)) !== JSON.stringify(x.expected));
    const falseActions = all.filter((x) => x.expected.intent === "none" && ACTIONS.has(got(x.text).intent));
    const exact = (all.length - wrong.length) / all.length;
    console.log(
      `held-out: ${all.length} messages, ${(100 * exact).toFixed(1)}% exact, ${falseActions.length} false actions` +
        (wrong.length ? `; not exact: ${wrong.map((x) => `${x.text} → ${JSON.stringify(got(x.text))}`).join(" | ")}` : ""),
    );
    expect(falseActions.map((x) => x.text)).toEqual([]);
    expect(exact).toBeGreaterThanOrEqual(0.98);
  });
});
