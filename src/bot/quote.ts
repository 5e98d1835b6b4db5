/**
 * Quoting: which ticket a quoted message is about, so a leader who quotes the bot's escalation ping (or a
 * resident's report) and types just `认领`, `办结 已修好` or `进度` acts on that ticket. The platforms carry only
 * the quoted text (WeCom `quote`, doc 100719; DingTalk `text.repliedMsg`), never our ticket id, so:
 * - a quote naming exactly one ticket (`工单 #12`, as every message of the bot about a ticket does) is that ticket;
 * - a quote that is a report (`@好邻 报事 路灯坏了`) is the newest ticket of this chat with that text;
 * - anything else names no ticket, and the command gets its usual usage hint.
 */
import { desc, eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { tickets } from "../db/schema/index.js";
import { parseCommand } from "./parse.js";
import type { QuotedMessage } from "./types.js";

const TICKET_REF = /(?:工单|工單|单号|單號)\s*[#＃]?\s*(\d{1,10})|[#＃]\s*(\d{1,10})/gu;
/** How far back a quoted report is looked for among a chat's tickets. */
const RECENT_REPORTS = 50;

/** The ticket numbers a text names, each once. */
export function ticketRefs(text: string): number[] {
  const ids = [...text.matchAll(TICKET_REF)].map((m) => Number(m[1] ?? m[2]));
  return [...new Set(ids.filter((n) => n >= 1 && n <= 2 ** 31 - 1))];
}

/** The ticket a quoted message is about, or undefined when it names none (or several). */
export async function quotedTicketId(
  db: Db,
  quote: QuotedMessage | undefined,
  chatId: string | null,
  botNames: string[],
): Promise<number | undefined> {
  const text = quote?.text?.trim();
  if (!text) return undefined;
  const refs = ticketRefs(text);
  if (refs.length === 1) return refs[0];
  if (refs.length > 1 || !chatId) return undefined;
  const cmd = parseCommand(text, { botNames });
  const body = cmd.intent === "report" ? cmd.body?.trim() : undefined;
  if (!body) return undefined;
  const recent = await db
    .select({ id: tickets.id, text: tickets.text })
    .from(tickets)
    .where(eq(tickets.chatId, chatId))
    .orderBy(desc(tickets.createdAt), desc(tickets.id))
    .limit(RECENT_REPORTS);
  // A report on someone's behalf (报事 代王阿姨：…) keeps only the part after the name as its text.
  return recent.find((t) => t.text === body || body.endsWith(t.text))?.id;
}
