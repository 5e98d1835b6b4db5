/**
 * button_interaction template cards (doc 101032) for replies about one ticket, and the card-click protocol: the
 * button key names the action and the ticket; the click is turned into the same text command a person would type,
 * so the rules stay in the workflows.
 */
import { createHash } from "node:crypto";
import type { Reply } from "../types.js";

export type Action = "claim" | "resolve" | "status";

/**
 * 办结 needs a written result (the 台账 must say what was done), which a button cannot carry, so cards offer
 * 认领 and 进度 only; the card text tells how to 办结.
 */
const BUTTONS: Partial<Record<Action, { text: string; style: number }>> = {
  claim: { text: "认领", style: 1 },
  status: { text: "进度", style: 2 },
};

const COMMAND: Record<Action, (id: number) => string> = {
  claim: (id) => `认领 #${id}`,
  resolve: (id) => `办结 #${id}`,
  status: (id) => `进度 #${id}`,
};

/** task_id: unique per bot, [0-9A-Za-z_-@], ≤128 bytes. Derived from the message id, so a redelivery reuses it. */
export const taskIdFor = (ticketId: number, msgid: string) =>
  `t${ticketId}-${createHash("sha1").update(msgid).digest("hex").slice(0, 20)}`;

export const ticketOfTask = (taskId: string): number | null => {
  const m = /^t(\d{1,10})-[0-9a-f]{20}$/.exec(taskId);
  return m ? Number(m[1]) : null;
};

/** The button key `<action>-<ticket>` back to its parts; null for anything we did not make. */
export function parseEventKey(key: string): { action: Action; ticketId: number } | null {
  const m = /^(claim|resolve|status)-(\d{1,10})$/.exec(key);
  return m ? { action: m[1] as Action, ticketId: Number(m[2]) } : null;
}

export const commandFor = (action: Action, ticketId: number) => COMMAND[action](ticketId);

/** sub_title_text: "建议不超过112个字" (template card docs, 101032 / 99110); the full text is in the stream. */
export const SUB_TITLE_MAX = 112;

const clip = (s: string, n: number) => ([...s].length > n ? `${[...s].slice(0, n - 1).join("")}…` : s);

function buttons(ticketId: number, actions: Action[]) {
  const list = actions.flatMap((a) => {
    const b = BUTTONS[a];
    return b ? [{ text: b.text, style: b.style, key: `${a}-${ticketId}` }] : [];
  });
  // A button card needs a button: 进度 is always safe.
  return list.length ? list : [{ text: "进度", style: 2, key: `status-${ticketId}` }];
}

/** A card for a reply about one ticket, or null when the reply offers nothing to click. */
export function ticketCard(reply: Reply, taskId: string) {
  if (reply.ticketId === undefined || !reply.actions?.some((a) => BUTTONS[a])) return null;
  return card(reply.ticketId, reply, taskId);
}

function card(ticketId: number, reply: Reply, taskId: string) {
  const hint = reply.actions?.includes("resolve") ? `\n办结请发「办结 #${ticketId} 处理结果」` : "";
  return {
    card_type: "button_interaction",
    main_title: { title: `工单 #${ticketId}` },
    sub_title_text: `${clip(reply.text, SUB_TITLE_MAX - [...hint].length)}${hint}`,
    button_list: buttons(ticketId, (reply.actions ?? []).filter((a) => a !== "resolve")),
    task_id: taskId,
  };
}

/** The update for a clicked card: the same task_id, the click's answer, and the buttons that still make sense. */
export function updatedCard(ticketId: number, reply: Reply, taskId: string) {
  const about = reply.ticketId === ticketId ? reply : { ...reply, actions: [] };
  return { response_type: "update_template_card", template_card: card(ticketId, about, taskId) };
}
