/**
 * The words of the bot's proactive messages (sent through the outbox). Names only: never a phone number,
 * address or household tag; person-typed text in a group message goes through `forGroup` (src/lib/privacy.ts),
 * `tags` being the town's extra sensitive words. A private message to the responsible leader carries the full text.
 */
import type { UnitKind } from "../db/schema/index.js";
import { formatWhenZh } from "../lib/time.js";
import { forGroup, GROUP_CUTS, type GroupText } from "../lib/privacy.js";
import type { Leader } from "./directory.js";
import { LEVEL_ZH, ROLE_ZH } from "./roles.js";

const at = (people: Leader[]) => people.map((p) => `@${p.name}`).join(" ");
const names = (people: Leader[]) => people.map((p) => `${p.name}（${ROLE_ZH[p.role]}）`).join("、");

export type EscalationReason = "timeout" | "resolve_timeout" | "manual";

const REASON_ZH: Record<EscalationReason, (from: UnitKind) => string> = {
  timeout: (from) => `${LEVEL_ZH[from]}级未在时限内答复`,
  resolve_timeout: (from) => `${LEVEL_ZH[from]}级超过办理期限未办结（督办）`,
  manual: () => "经办人申请上报",
};

/** A ticket's photos are never reposted in a group: the ping says how many there are and where to see them. */
const photoLine = (n: number | undefined) => (n ? [`附照片 ${n} 张（看板查看）`] : []);

export function escalationPing(a: {
  ticketId: number;
  text: string;
  from: UnitKind;
  to: UnitKind;
  reason: EscalationReason;
  note: string | null;
  leaders: Leader[];
  /** Whose request it is (see requesters.ts). */
  told: Leader[];
  dueAt: Date;
  now: Date;
  tags: readonly string[];
  /** Kept photos of the ticket. */
  photos?: number;
}): string {
  const lines = [
    `⏫ 工单 #${a.ticketId} 已上报到${LEVEL_ZH[a.to]}级（${REASON_ZH[a.reason](a.from)}）`,
    `事项：${forGroup(a.text, GROUP_CUTS.item, a.tags)}`,
    ...photoLine(a.photos),
  ];
  if (a.note) lines.push(`上报原因：${forGroup(a.note, GROUP_CUTS.reason, a.tags)}`);
  lines.push(`请 ${at(a.leaders)} 在${formatWhenZh(a.dueAt, a.now)}前认领或答复（发「认领 #${a.ticketId}」）。`);
  if (a.told.length) lines.push(`${at(a.told)} 你反映的事已转交 ${names(a.leaders)} 处理。`);
  return lines.join("\n");
}

/** Private, to a leader who now holds the ticket: the full text (they need the phone and the address to act). */
export function escalationDirect(a: { ticketId: number; text: string; dueAt: Date; now: Date }): string {
  return `你有一条上报来的工单 #${a.ticketId}：${a.text.trim()}\n请在${formatWhenZh(a.dueAt, a.now)}前答复。回复「认领 #${a.ticketId}」接单，「进度 #${a.ticketId}」查看详情。`;
}

export function topRePing(a: {
  ticketId: number;
  text: string;
  leaders: Leader[];
  round: number;
  dueAt: Date;
  now: Date;
  tags: readonly string[];
  photos?: number;
}): string {
  return [
    `⏰ 工单 #${a.ticketId} 已到最高层级，仍未答复（第 ${a.round} 次提醒）`,
    `事项：${forGroup(a.text, GROUP_CUTS.item, a.tags)}`,
    ...photoLine(a.photos),
    `请 ${at(a.leaders)} 尽快认领或答复，下次提醒：${formatWhenZh(a.dueAt, a.now)}。`,
  ].join("\n");
}

export function reopenedNotice(a: {
  ticketId: number;
  reason: string | null;
  leaders: Leader[];
  dueAt: Date;
  now: Date;
  tags: readonly string[];
}): string {
  const why = a.reason ? `，原因：${forGroup(a.reason, GROUP_CUTS.reason, a.tags)}` : "";
  return `🔁 工单 #${a.ticketId} 报事人不满意，已重新打开${why}。\n请 ${at(a.leaders)} 在${formatWhenZh(a.dueAt, a.now)}前重新答复。`;
}

/** News for the reporter's group: a leader's words from elsewhere (回复, 办结), cut for the group. */
export function reporterUpdate(a: {
  ticketId: number;
  /** Whose request it is (see requesters.ts). */
  told: Leader[];
  by: string;
  kind: "reply" | "resolve";
  words: string;
  tags: readonly string[];
}): string {
  const to = a.told.length ? `${at(a.told)} ` : "";
  const shown: GroupText = forGroup(a.words, GROUP_CUTS.update, a.tags);
  const what =
    a.kind === "reply"
      ? `${a.by}回复：${shown}`
      : `已办结：${shown}\n满意请回复「满意 #${a.ticketId}」，不满意请回复「不满意 #${a.ticketId} 原因」。`;
  return `${to}工单 #${a.ticketId} 有新进展：${what}`;
}
