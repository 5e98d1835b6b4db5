/**
 * The words of the visit commands (走访 / 电联 / 待走访). Group replies carry counts only — never a household's
 * name, tag, address or phone; names and house numbers go to the leader privately.
 */
import type { VisitKind } from "../db/schema/index.js";
import type { Household } from "../workflows/directory.js";
import { shortDateZh } from "../workflows/visits/calendar.js";
import type { DueList } from "../workflows/visits/due.js";
import type { Logged } from "../workflows/visits/log.js";
import { CHANNEL_ZH, dueListText, householdLabel } from "../workflows/visits/notices.js";
import type { Reply } from "./types.js";

const say = (text: string): Reply => ({ text, mentions: [] });

const what = (kind: VisitKind) => (kind === "visit" ? "走访" : "联系");

export const visitReplies = {
  forbidden: () => say("只有邻长、组长等负责人可以登记走访和联系。居民有事请发「报事 问题描述」。"),
  dueForbidden: () => say("只有负责人可以查看待走访名单。"),
  tooMany: (count: number) => say(`符合的住户有 ${count} 户，请写得更具体些（比如门牌号或全名）。`),
  outOfRange: (count: number) => say(`请回复 1–${count} 之间的序号。`),

  /** Group: how many were logged, nothing about whom. */
  // `sent`: whether the details went privately; without a private channel (WeCom) the leader is told to ask in a
  // private chat with the bot, since household names may not appear in the group.
  loggedInGroup: (kind: VisitKind, sent: boolean) =>
    say(`✅ 已记录 1 次${what(kind)}${sent ? "，详情已私信发给你" : ""}。`),
  unmatchedInGroup: (kind: VisitKind, sent: boolean) =>
    say(`✅ 已记录 1 次${what(kind)}，但没有对上住户，已留给管理员核对${sent ? "（详情已私信发给你）" : ""}。`),
  choicesInGroup: (count: number, sent: boolean) =>
    say(
      sent
        ? `找到 ${count} 户符合，选项已私信发给你，请在本群回复序号（如 1）。`
        : `找到 ${count} 户符合。为保护住户隐私，选项不在群里列出，请私聊我再发一次这条登记。`,
    ),

  /** Private: the household, its standing and what comes next. */
  loggedDetail(r: Logged, now: Date): string {
    const lines = [`📝 已记录：${CHANNEL_ZH[r.visit.channel]} ${householdLabel(r.household)}（${shortDateZh(now)}）`];
    const c = r.care;
    if (c.plan === "special") {
      if (c.visitedThisPeriod) lines.push("重点户：本期已走访 ✅");
      else if (c.contactDueBy) lines.push(`下次联系请在 ${shortDateZh(new Date(c.contactDueBy.getTime() - 1))} 前（或本期上门走访）。`);
    } else {
      lines.push(c.visitedThisPeriod ? "一般户：本期已走访 ✅" : "一般户：每季度需上门走访一次，电话联系不算走访。");
    }
    if (r.ticket) lines.push(`诉求已代报为工单 #${r.ticket.ticket.id}，按正常时限办理。`);
    return lines.join("\n");
  },

  unmatchedDetail(query: string, kind: VisitKind, request: string | null): string {
    const lines = [
      `📝 没找到“${query}”这一户，这次${what(kind)}已先记下，等管理员核对后归到对应住户。`,
      "登记时可以写户主姓名、家庭成员姓名、门牌号或昵称。",
    ];
    if (request) lines.push("其中的诉求还没有开工单，请发「代报 户主姓名 诉求内容」代报。");
    return lines.join("\n");
  },

  choicesList(query: string, candidates: Household[], ttlMinutes: number): string {
    const lines = [`“${query}”对应 ${candidates.length} 户，请回复序号选择（${ttlMinutes} 分钟内有效）：`];
    candidates.forEach((h, i) => {
      lines.push(`${i + 1}. ${householdLabel(h)}${h.nickname && h.nickname !== h.headName ? ` · ${h.nickname}` : ""}`);
    });
    return lines.join("\n");
  },

  /** Group: counts only. */
  dueInGroup(d: DueList, sent: boolean): Reply {
    if (d.items.length === 0) return say(`你负责的 ${d.total} 户都已按时走访、联系 👍`);
    return say(
      `你负责的 ${d.total} 户中：逾期 ${d.overdue} 户，本期待走访 ${d.due} 户（其中重点户 ${d.special} 户）。${sent ? "名单已私信发给你。" : "私聊我发「待走访」可查看名单。"}`,
    );
  },

  dueText(d: DueList): string {
    if (d.items.length === 0) return `你负责的 ${d.total} 户都已按时走访、联系 👍`;
    return dueListText(d.items, `📋 待走访 ${d.items.length} 户（逾期 ${d.overdue} 户），重点户在前：`);
  },
};
