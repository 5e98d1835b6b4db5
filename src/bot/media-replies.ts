/** The bot's words about photos and places. A photo is never reposted and an address never repeated in a group. */
import type { Reply } from "./types.js";

const say = (text: string): Reply => ({ text, mentions: [] });

export const mediaReplies = {
  received: (n: number) => say(`📷 收到照片 ${n} 张，正在保存到工单（看板可查看）。`),
  resultReceived: (n: number) => say(`📷 收到办结照片 ${n} 张，已附到工单。`),
  attached: (ticketId: number, n: number) => say(`📷 已附到工单 #${ticketId}${n > 1 ? `（${n} 张）` : ""}。`),
  located: (ticketId: number) => say(`📍 已记下工单 #${ticketId} 的位置（看板可查看）。`),
  notUsed: () => say("照片没有保存：这次办结没有成功。"),
  ask: (n: number) =>
    say(`要用这${n > 1 ? ` ${n} ` : ""}张照片报事吗？回复「是」即登记报事，回复「不用」则不保存。补充说明请发「报事 问题描述」。`),
  dropped: () => say("好的，照片不保存。"),
  noReportHere: () => say("照片没有保存：这里没有你 10 分钟内的报事。请在所在的群里 @我 发「报事 问题描述」并附上照片。"),
  /** With a 通知, or alone right after one: the picture follows the text to every group once it is saved. */
  circularPhotos: (n: number) => say(`📷 收到图片 ${n} 张，保存后随通知发到各群（在文字之后）。`),
  circularAttached: (id: number, n: number) => say(`📷 已附到通知 #${id}${n > 1 ? `（${n} 张）` : ""}，保存后发到各群。`),
  placeWithoutReport: () => say("收到位置。请先发「报事 问题描述」，再发位置，我会记到工单上。"),
};
