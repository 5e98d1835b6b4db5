/**
 * Chat command parser for the Haolin (好邻) grassroots-governance bot.
 *
 * A message is a command only when a command word opens it (after the bot's
 * own @mention is removed). Everything else is ordinary chat and parses as
 * `none`, so the bot stays quiet in busy group chats. A recognisable command
 * with a missing or malformed argument parses as `invalid` with a usage hint.
 * This function never throws.
 */

import { COMMANDS, type Shape, type Words } from "./commands.js";
import { startsWithCI, stripMentions } from "./mentions.js";
import { nearMiss } from "./near-miss.js";
import { haoStartsText, objectAfter } from "./phrase.js";

export type Intent =
  | "report"
  | "onBehalf"
  | "visit"
  | "contact"
  | "due"
  | "status"
  | "claim"
  | "reply"
  | "resolve"
  | "escalate"
  | "rate"
  | "todo"
  | "digest"
  | "talkMeeting"
  | "analysisMeeting"
  | "minutes"
  | "decision"
  | "goodNeighbors"
  | "circular"
  | "relayed"
  | "mediate"
  | "mediated"
  | "mediationFailed"
  | "mediations"
  | "help"
  | "none"
  | "invalid";

/** Intents that a command word can produce (i.e. not `none` / `invalid`). */
export type CommandIntent = Exclude<Intent, "none" | "invalid">;

export type ParsedCommand = {
  intent: Intent;
  ticket: number | null;
  body: string | null;
  /** Only for `rate`: true for 满意, false for 不满意. */
  satisfied?: boolean;
  /** Only for `invalid`: a usage line in simplified Chinese. */
  hint?: string;
};

/** One usage line per command (the command table's); also used by the help menu. */
export const USAGE: Readonly<Record<CommandIntent, string>> = Object.fromEntries(
  Object.entries(COMMANDS).map(([intent, command]) => [intent, command.usage]),
) as Record<CommandIntent, string>;

type Rule = { intent: CommandIntent; shape: Shape; needsText: boolean } & Pick<Words, "spaced" | "satisfied">;

/** Every command word of the table, simplified and traditional, with its command. */
const RULES = (Object.entries(COMMANDS) as [CommandIntent, (typeof COMMANDS)[CommandIntent]][]).flatMap(([intent, command]) =>
  command.words.map((w) => ({
    words: [...w.simplified, ...(w.traditional ?? [])],
    rule: { intent, shape: command.shape, needsText: command.needsText, spaced: w.spaced, satisfied: w.satisfied } as Rule,
  })),
);

/** Longest word first, so 上报问题 beats 上报, 不满意 beats 满意, 已办结 beats 办结. */
const WORDS = RULES.flatMap(({ words, rule }) => words.map((word) => ({ word, rule }))).sort(
  (a, b) => b.word.length - a.word.length,
);

const SEPARATOR = /^[\s：:，,、；;！!]/u;
/** Sentence-final punctuation right after a ticket (进度 12。 / 认领 #3？) belongs to the sentence, not the body. */
const SENTENCE_END = /^[。？?…～~]+/u;
const LEADING_SEPARATORS = /^[\s：:，,、；;！!]+/u;
const ONLY_PUNCTUATION = /^[\s\p{P}\p{S}]*$/u;
const BRACKETS: Readonly<Record<string, string>> = { "【": "】", "[": "]" };
const MAX_TICKET = 2 ** 31 - 1;

/**
 * A ticket token. `#`/`工单`/`单号` are strong markers: text may be glued after
 * them (#12已修好). A bare number or 第12号 must end at a separator, so house
 * numbers like 12号楼 or 3栋 are never mistaken for tickets.
 */
const TICKET =
  /^(?:(?<strong>(?:工单|工單|单号|單號)[\s：:]*[#＃]?|[#＃])|第)?\s*(?<digits>[0-9０-９]+)[号號]?/u;

type TicketToken = { ticket: number | null; rest: string };

const none = (): ParsedCommand => ({ intent: "none", ticket: null, body: null });

const invalid = (usage: string, problem = ""): ParsedCommand => ({
  intent: "invalid",
  ticket: null,
  body: null,
  hint: `${problem}用法：${usage}`,
});

/** Leading separators go, trailing whitespace goes; everything else is verbatim. */
function cleanBody(text: string): string | null {
  const body = text.replace(LEADING_SEPARATORS, "").trimEnd();
  return body === "" ? null : body;
}

/** A required text that is only punctuation (办结 12 。) says nothing: treat it as missing. Emoji do say something. */
const PUNCTUATION_ONLY = /^[\s\p{P}]*$/u;
const meaningful = (body: string | null) => (body === null || PUNCTUATION_ONLY.test(body) ? null : body);

/** Finds the command word opening the message, plain or wrapped as 【word】 / [word]. */
function matchCommand(text: string): { rule: Rule; word: string; rest: string; bracketed: boolean } | null {
  const close = BRACKETS[text.charAt(0)];
  if (close !== undefined) {
    const end = text.indexOf(close);
    const inner = end > 0 ? text.slice(1, end).trim().toLowerCase() : "";
    const found = WORDS.find(({ word }) => word.toLowerCase() === inner);
    return found ? { rule: found.rule, word: found.word, rest: text.slice(end + 1), bracketed: true } : null;
  }
  const found = WORDS.find(({ word }) => startsWithCI(text, word));
  return found ? { rule: found.rule, word: found.word, rest: text.slice(found.word.length), bracketed: false } : null;
}

/**
 * 报是 路灯坏了 / 办洁 #3 已修好: a word one slip from a command, followed by what that command needs, gets the
 * command's name back as a question. Anything else (报是报了) stays chat.
 */
function misspelt(text: string): ParsedCommand {
  const miss = nearMiss(text);
  if (!miss) return none();
  const found = WORDS.find(({ word }) => word === miss.word);
  if (!found) return none();
  const parsed = parseArguments(found.rule, found.word, miss.rest, false);
  const wellFormed = parsed.intent !== "none" && parsed.intent !== "invalid";
  if (!wellFormed || !(SEPARATOR.test(miss.rest) || /^[#＃]/u.test(miss.rest))) return none();
  return invalid(USAGE[found.rule.intent], `你是想「${found.word}」吗？`);
}

/**
 * Reads a ticket at the start of `text`; `ticket: null` means ticket-shaped but out of range. `textFollows`: the
 * command takes a text, so N号 glued to it is a ticket when the text reads as one (回复7号电工明天到), not an
 * address, a date or a quantity (7号楼, 3号之前).
 */
function readTicket(text: string, textFollows = false): TicketToken | null {
  const match = TICKET.exec(text);
  if (!match?.groups) return null;
  const after = text.slice(match[0].length);
  const rest = after.replace(SENTENCE_END, "");
  const hao = /[号號]$/u.test(match[0]);
  const gluedText = textFollows && hao && haoStartsText(after);
  if (match.groups.strong === undefined && after !== "" && rest === after && !SEPARATOR.test(rest) && !gluedText) return null;
  const digits = (match.groups.digits ?? "")
    .replace(/[０-９]/gu, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0))
    .replace(/^0+/u, "");
  const value = digits.length > 0 && digits.length <= 10 ? Number(digits) : 0;
  return { ticket: value >= 1 && value <= MAX_TICKET ? value : null, rest };
}

/**
 * 报事 代方福生：… is the old way to write 代报: 代, a name or house number of up to six characters, a separator.
 * 代 also opens ordinary words (代收点, 代办点), which are never a household.
 */
const ON_BEHALF = /^代(?!收|办|辦|表|理|替|购|購|缴|繳|发|發|课|課|码|碼|价|價|言|驾|駕|步|销|銷|管|付)\s*([^\s：:，,、；;]{1,6})[\s：:，,、；;]+\S/u;

function textCommand(intent: CommandIntent, rest: string): ParsedCommand {
  const body = meaningful(cleanBody(rest));
  if (body === null) return invalid(USAGE[intent]);
  if (intent === "report" && ON_BEHALF.test(body)) return { intent: "onBehalf", ticket: null, body: body.slice(1).trimStart() };
  return { intent, ticket: null, body };
}

function ticketCommand(rule: Rule, token: TicketToken | null): ParsedCommand {
  const usage = USAGE[rule.intent];
  if (token === null) return invalid(usage);
  if (token.ticket === null) return invalid(usage, rule.shape === "number" ? "编号无效，请核对后再发。" : "单号无效，请填写正确的工单编号。");
  const body = cleanBody(token.rest);
  if (meaningful(body) === null && rule.needsText) return invalid(usage);
  const parsed: ParsedCommand = { intent: rule.intent, ticket: token.ticket, body };
  if (rule.satisfied !== undefined) parsed.satisfied = rule.satisfied;
  return parsed;
}

/** Free text after a command word: a command only when the text reads as the verb's object (see phrase.ts). */
function freeText(intent: CommandIntent, word: string, rest: string, bracketed: boolean): ParsedCommand {
  if (bracketed || ONLY_PUNCTUATION.test(rest)) return textCommand(intent, rest);
  const reading = objectAfter(word, rest);
  return reading.command ? textCommand(intent, reading.rest) : none();
}

function parseArguments(rule: Rule, word: string, rest: string, bracketed: boolean, quotedTicket?: number): ParsedCommand {
  const args = rest.replace(LEADING_SEPARATORS, "");
  // 联系一下物业 is chat, 联系 王阿姨 … is a command.
  if (rule.spaced && !bracketed && rest !== "" && !SEPARATOR.test(rest)) return none();
  switch (rule.shape) {
    case "bare":
      return ONLY_PUNCTUATION.test(rest) ? { intent: rule.intent, ticket: null, body: null } : none();
    case "text":
      return freeText(rule.intent, word, rest, bracketed);
    case "ticketOrText": {
      if (args === "") return invalid(`${USAGE.escalate}；反映新问题请用：${USAGE.report}`);
      const token = readTicket(args, true);
      return token ? ticketCommand(rule, token) : freeText("report", word, rest, bracketed);
    }
    case "ticket":
    case "number": {
      const token = readTicket(args, rule.needsText);
      // Glued to ordinary words (进度很快啊) means chat, not a malformed command.
      const glued = !bracketed && rest !== "" && !SEPARATOR.test(rest);
      if (glued && token === null) return none();
      // No number typed, but the message quotes one ticket: 认领 / 办结 已修好 under the bot's ping. A notice's or a
      // case's number is never taken from a quote: a quoted ticket number is not theirs.
      const quoted = rule.shape === "ticket" && quotedTicket ? { ticket: quotedTicket, rest: args } : null;
      return ticketCommand(rule, token ?? quoted);
    }
  }
}

/**
 * `quotedTicket`: the ticket the message quotes (see bot/quote.ts), used when a ticket command names none.
 */
export function parseCommand(text: string, options?: { botNames?: string[]; quotedTicket?: number }): ParsedCommand {
  if (typeof text !== "string") return none();
  const names = (Array.isArray(options?.botNames) ? options.botNames : ["好邻"]).filter(
    (name): name is string => typeof name === "string" && name.trim() !== "",
  );
  // Zero-width characters some clients put before a message are not text.
  const { text: message, mentioned } = stripMentions(text.replace(/^[\s\u200b-\u200d\ufeff]+/u, "").trim(), names);
  // A message that is only the bot's @mention asks for the menu.
  if (message === "") return mentioned ? { intent: "help", ticket: null, body: null } : none();
  const command = matchCommand(message);
  return command
    ? parseArguments(command.rule, command.word, command.rest, command.bracketed, options?.quotedTicket)
    : misspelt(message);
}
