/**
 * The words of a 通知: what each group reads, and the private reminder. The group text is the official's own, but it
 * still goes through forGroup, so no phone number, address or household tag in it reaches a group; the reminder is
 * private and carries the full text (the 邻长 passes it on word for word).
 */
import { forGroup, GROUP_CUTS } from "../../lib/privacy.js";
import { formatWhenZh } from "../../lib/time.js";

/** A notice's title is its first line, up to this many characters (longer lines stay whole in the text). */
export const TITLE_MAX = 30;

/** `通知 <标题>\n<正文>`: the first line is the title, the lines after it the text. */
export function splitNotice(typed: string): { title: string; body: string } {
  const [first = "", ...rest] = typed.replace(/\r\n?/g, "\n").trim().split("\n");
  const line = first.trim();
  const body = rest.join("\n").trim();
  const chars = [...line];
  if (chars.length <= TITLE_MAX) return { title: line, body };
  return { title: `${chars.slice(0, TITLE_MAX).join("")}…`, body: [line, body].filter(Boolean).join("\n") };
}

export type NoticeText = {
  id: number;
  title: string;
  body: string;
  sender: string;
  senderUnit: string;
  /** The town's extra sensitive words (Policy.sensitiveTags). */
  tags: readonly string[];
};

/** What every group of the subtree reads. */
export function noticeForGroup(n: NoticeText): string {
  const lines = [`📢 通知 #${n.id}：${forGroup(n.title, GROUP_CUTS.item, n.tags)}`];
  if (n.body) lines.push(forGroup(n.body, GROUP_CUTS.notice, n.tags, { lines: true }));
  lines.push(`—— ${n.senderUnit} ${n.sender}`);
  lines.push(`请各位邻长转告联系户，转告后发「已传达 #${n.id}」。`);
  return lines.join("\n");
}

/** Private, to someone who has not confirmed three days on: the whole notice, as the official wrote it. */
export function reminderText(n: { id: number; title: string; body: string; sentAt: Date; now: Date }): string {
  const notice = [n.title, n.body].filter(Boolean).join("\n");
  return [
    `⏰ 通知 #${n.id}（${formatWhenZh(n.sentAt, n.now)} 发出）你还没有确认传达。`,
    `请把通知转告你联系的各户，然后发「已传达 #${n.id}」。原文：`,
    notice,
  ].join("\n");
}
