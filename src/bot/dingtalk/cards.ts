/**
 * Escalation cards (互动卡片高级版): the template variables we fill and the ids we give each card.
 * Template variables (all strings, see README): title, content, status, ticketId, result, canClaim, canResolve.
 * The template's buttons are 「回传请求」 buttons with the constant param action=claim / action=resolve.
 */
import { createHash } from "node:crypto";
import type { TicketStatus } from "../../db/schema/index.js";

/** A card's id encodes its ticket, so a tap needs no lookup table; the hash keeps a retried send the same card. */
export function encodeOutTrackId(ticketId: number, ...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 16);
  return `hl-${ticketId}-${h}`;
}

export function decodeOutTrackId(outTrackId: string | undefined): number | null {
  const m = /^hl-(\d+)-[0-9a-f]+$/.exec(outTrackId ?? "");
  return m ? Number(m[1]) : null;
}

export const CARD_STATUS_ZH: Record<TicketStatus, string> = {
  open: "待认领",
  answered: "处理中",
  resolved: "已办结，待评价",
  closed: "已关闭",
};

export type CardParams = Record<string, string>;

export function escalationCardParams(ticketId: number, text: string): CardParams {
  return {
    title: `工单 #${ticketId}`,
    content: text,
    status: CARD_STATUS_ZH.open,
    ticketId: String(ticketId),
    result: "",
    canClaim: "true",
    canResolve: "true",
  };
}

/** What the card shows after a tap, from the ticket as it now is. */
export function cardParamsFor(status: TicketStatus, assignee: string | null, result: string): CardParams {
  const label = assignee && status === "answered" ? `${CARD_STATUS_ZH[status]} · ${assignee}` : CARD_STATUS_ZH[status];
  return {
    status: label,
    result,
    canClaim: String(status === "open"),
    canResolve: String(status === "open" || status === "answered"),
  };
}
