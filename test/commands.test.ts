import { describe, expect, it } from "vitest";
import { COMMANDS, helpReply } from "../src/bot/commands.js";
import { type CommandIntent, parseCommand } from "../src/bot/parse.js";

/** A well-formed argument for each shape, so every word of the table can be tried as a user would type it. */
const SAMPLE: Record<(typeof COMMANDS)[CommandIntent]["shape"], string> = {
  text: " 王阿姨 村口路灯坏了",
  ticket: " #12 已处理好",
  ticketOrText: " #12 需要村里协调",
  bare: "",
  number: " #12 已处理好",
};

describe("the command table", () => {
  const rows = Object.entries(COMMANDS) as [CommandIntent, (typeof COMMANDS)[CommandIntent]][];

  it("gives every word to exactly one command", () => {
    const owner = new Map<string, string>();
    for (const [intent, c] of rows)
      for (const w of c.words)
        for (const word of [...w.simplified, ...(w.traditional ?? [])]) {
          expect(owner.get(word.toLowerCase()), `${word} is in two rows`).toBeUndefined();
          owner.set(word.toLowerCase(), intent);
        }
  });

  it("opens its own command with each of its words, simplified and traditional", () => {
    for (const [intent, c] of rows)
      for (const w of c.words)
        for (const word of [...w.simplified, ...(w.traditional ?? [])]) {
          expect(parseCommand(`${word}${SAMPLE[c.shape]}`).intent, word).toBe(intent);
        }
  });

  it("has a Chinese usage line with an example for every command that takes an argument", () => {
    for (const [, c] of rows) {
      expect(c.usage).toMatch(/\p{Script=Han}/u);
      if (c.shape !== "bare") expect(c.usage).toContain("例如：");
    }
  });

  it("builds the help menu from the table: residents see their commands, leaders theirs", () => {
    const resident = helpReply("resident").text;
    const leader = helpReply("neighbor_leader").text;
    expect(resident).toContain(COMMANDS.rate.usage);
    expect(resident).not.toContain(COMMANDS.claim.usage);
    expect(leader).toContain(COMMANDS.claim.usage);
    expect(leader).toContain(COMMANDS.visit.usage);
    expect(helpReply(null).text).toBe(resident);
  });
});
