/**
 * The words of visit messages: private ones (to a leader, who may see their households' names and house numbers)
 * and group ones (counts only). Never a tag, an address or a phone number.
 */
import type { VisitChannel } from "../../db/schema/index.js";
import type { Household } from "../directory.js";
import { shortDateZh } from "./calendar.js";
import type { DueItem } from "./due.js";

/** 周四（4号） — a name and house number, for private messages only. */
/** How a visit or contact was made, in words. */
export const CHANNEL_ZH: Record<VisitChannel, string> = { home: "走访", phone: "电话联系", wechat: "微信联系", other: "联系" };

export const householdLabel = (h: Household) => (h.houseNo ? `${h.headName}（${h.houseNo}）` : h.headName);

const when = (d: Date | null) => (d ? shortDateZh(d) : "无");

export function dueLine(i: DueItem): string {
  const state = i.care.status === "overdue" ? "逾期" : i.care.plan === "special" ? "本月待访" : "本期待访";
  const last = `上次走访 ${when(i.history.lastVisitAt)}`;
  const contact = i.care.plan === "special" ? ` · 上次联系 ${when(i.history.lastContactAt)}` : "";
  return `· ${householdLabel(i.household)} ${state} · ${last}${contact}`;
}

const MAX_LINES = 30;

/** The private due list: special households first, then the others. */
export function dueListText(items: DueItem[], head: string): string {
  const lines = [head];
  const special = items.filter((i) => i.care.plan === "special");
  const normal = items.filter((i) => i.care.plan !== "special");
  let shown = 0;
  for (const [title, part] of [
    ["【重点户】每月走访或每周联系", special],
    ["【一般户】每季度走访", normal],
  ] as const) {
    if (part.length === 0) continue;
    lines.push(title);
    for (const i of part) {
      if (shown >= MAX_LINES) break;
      lines.push(dueLine(i));
      shown += 1;
    }
  }
  if (items.length > shown) lines.push(`……另有 ${items.length - shown} 户`);
  lines.push("登记：走访 户主姓名 情况；电话或微信联系：电联 户主姓名 情况");
  return lines.join("\n");
}

export function contactReminder(h: Household, days: number | null): string {
  const since = days === null ? "还没有联系记录" : `已 ${days} 天没有联系`;
  return `⏰ 重点户 ${householdLabel(h)} ${since}。请尽快电话、微信联系或上门走访，完成后发「电联 ${h.headName} 情况」登记。`;
}

export function visitDayReminder(items: DueItem[], visitDay: Date): string {
  const overdue = items.filter((i) => i.care.status === "overdue").length;
  return dueListText(
    items,
    `📅 ${shortDateZh(visitDay)}是集中走访日。你负责的住户中有 ${items.length} 户待走访（逾期 ${overdue} 户）：`,
  );
}
