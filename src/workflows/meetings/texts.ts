/**
 * The words of meeting messages read in a group: the notice (with its agenda), the change and cancel notices and the
 * day-before reminder. Every piece of person-typed text (a place, a ticket's words, a reason) goes through forGroup.
 */
import type { MeetingKind } from "../../db/schema/index.js";
import { forGroup, GROUP_CUTS } from "../../lib/privacy.js";
import { formatMeetingTime } from "../../lib/when-zh.js";
import { windowLabel } from "../digests/period.js";
import type { Leader } from "../directory.js";
import { ROLE_ZH } from "../roles.js";
import type { Agenda } from "./agenda.js";

export const MEETING_ZH: Record<MeetingKind, string> = { talk: "民情恳谈会", analysis: "民情分析会" };
/** The command word of each kind, for hints. */
export const MEETING_WORD: Record<MeetingKind, string> = { talk: "恳谈会", analysis: "分析会" };

/** A place as typed, safe for a group: masked, cut, made inert. */
export const placeForGroup = (place: string, tags: readonly string[]) => forGroup(place, GROUP_CUTS.item, tags);

function agendaLines(agenda: Agenda, tags: readonly string[]): string[] {
  const a = agenda.snapshot;
  const lines = [`议程（${windowLabel({ from: new Date(a.from), to: new Date(a.to) })}）：`];
  lines.push(`1. 近一个月报事 ${a.created} 件，办结 ${a.resolved} 件`);
  if (a.openTotal === 0) lines.push("2. 未办结工单：无 👍");
  else {
    lines.push(`2. 未办结工单 ${a.openTotal} 件${a.overdueTotal ? `（其中超时 ${a.overdueTotal} 件）` : ""}：`);
    for (const t of agenda.tickets) {
      lines.push(`  · #${t.id} ${t.category}${t.overdue ? "（超时）" : ""}：${forGroup(t.text, GROUP_CUTS.line, tags)}`);
    }
    if (a.openTotal > agenda.tickets.length) lines.push(`  · 另有 ${a.openTotal - agenda.tickets.length} 件，看板上可查`);
  }
  lines.push(
    a.repeated.length
      ? `3. 反复出现的问题：${a.repeated.map((r) => `${r.name}「${r.category}」${r.count} 次`).join("；")}`
      : "3. 反复出现的问题：无",
  );
  lines.push("4. 群众意见和建议");
  return lines;
}

export function meetingNotice(m: {
  kind: MeetingKind;
  unitName: string;
  startsAt: Date;
  place: string;
  organizer: Leader;
  agenda: Agenda;
  reminder: boolean;
  tags: readonly string[];
}): string {
  const word = MEETING_WORD[m.kind];
  return [
    `📣 ${MEETING_ZH[m.kind]}通知（${m.unitName}）`,
    `时间：${formatMeetingTime(m.startsAt)}`,
    `地点：${placeForGroup(m.place, m.tags)}`,
    `召集人：${m.organizer.name}（${ROLE_ZH[m.organizer.role]}）`,
    ...agendaLines(m.agenda, m.tags),
    `${m.reminder ? "会前一天我会在群里再提醒一次。" : ""}有变动请发「${word} 改期 日期 时间」或「${word} 取消」。`,
  ].join("\n");
}

export function meetingMoved(m: {
  kind: MeetingKind;
  unitName: string;
  from: Date;
  startsAt: Date;
  place: string;
  reminder: boolean;
  tags: readonly string[];
}): string {
  return [
    `📣 ${MEETING_ZH[m.kind]}改期（${m.unitName}）`,
    `原定 ${formatMeetingTime(m.from)}，改为 ${formatMeetingTime(m.startsAt)}`,
    `地点：${placeForGroup(m.place, m.tags)}`,
    m.reminder ? "议程不变，会前一天我会再提醒一次。" : "议程不变。",
  ].join("\n");
}

export function meetingCancelled(m: { kind: MeetingKind; unitName: string; startsAt: Date; reason: string | null; tags: readonly string[] }): string {
  const why = m.reason ? `\n原因：${forGroup(m.reason, GROUP_CUTS.reason, m.tags)}` : "";
  return `📣 原定 ${formatMeetingTime(m.startsAt)} 的${MEETING_ZH[m.kind]}（${m.unitName}）取消了。${why}`;
}

export function meetingReminder(m: { kind: MeetingKind; unitName: string; startsAt: Date; place: string; tags: readonly string[] }): string {
  return [
    `⏰ 明天开${MEETING_ZH[m.kind]}（${m.unitName}）`,
    `时间：${formatMeetingTime(m.startsAt)}`,
    `地点：${placeForGroup(m.place, m.tags)}`,
    "议程见群里的会议通知，请各位邻长和村民代表准时参加。",
  ].join("\n");
}
