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

  it("offers each the meeting commands they may use: 恳谈会, 纪要, 议定 from the 组长 up, 分析会 to officials", () => {
    const groupOnly = [COMMANDS.talkMeeting, COMMANDS.minutes, COMMANDS.decision].map((c) => c.usage);
    const menu = (role: Parameters<typeof helpReply>[0]) => helpReply(role).text;
    for (const u of [...groupOnly, COMMANDS.analysisMeeting.usage]) expect(menu("neighbor_leader")).not.toContain(u);
    for (const role of ["group_leader", "area_leader"] as const) {
      for (const u of groupOnly) expect(menu(role)).toContain(u);
      expect(menu(role)).not.toContain(COMMANDS.analysisMeeting.usage);
      expect(menu(role)).not.toContain(COMMANDS.circular.usage);
    }
    for (const role of ["village_official", "town_official", "admin"] as const) {
      for (const u of [...groupOnly, COMMANDS.analysisMeeting.usage, COMMANDS.circular.usage]) expect(menu(role)).toContain(u);
    }
    // Every command but 帮助 itself is in someone's menu.
    const all = [null, "neighbor_leader", "group_leader", "admin"].map((r) => menu(r as Parameters<typeof helpReply>[0])).join("\n");
    for (const [intent, c] of Object.entries(COMMANDS)) if (intent !== "help") expect(all, intent).toContain(c.usage);
  });
});
