/**
 * The meeting commands (恳谈会, 分析会, 纪要, 议定), called from the command table inside the message's transaction,
 * and their answers. The notice with its agenda is the answer in the group; the day-before reminder goes through
 * the outbox (src/workflows/meetings/schedule.ts).
 */
import type { MeetingKind } from "../db/schema/index.js";
import { formatWhenZh } from "../lib/time.js";
import { formatMeetingTime } from "../lib/when-zh.js";
import type { Ctx } from "../workflows/context.js";
import { type DecisionDone, type RecordRefusal, recordDecision, recordMinutes } from "../workflows/meetings/record.js";
import { cancelMeeting, type MeetingResult, rescheduleMeeting, scheduleMeeting } from "../workflows/meetings/schedule.js";
import { MEETING_WORD, MEETING_ZH, placeForGroup } from "../workflows/meetings/texts.js";
import { ROLE_ZH } from "../workflows/roles.js";
import type { Actor } from "../workflows/ticket-commands.js";
import type { Reply } from "./types.js";

const say = (text: string, mentions: string[] = []): Reply => ({ text, mentions });

/** The usage lines of the two meeting words (the command table's rows use them). */
export const MEETING_USAGE: Record<MeetingKind, string> = {
  talk: "恳谈会 日期 时间 地点，例如：恳谈会 12月20日 19:00 村部会议室（改期：恳谈会 改期 12月22日 19:00；取消：恳谈会 取消 原因）",
  analysis: "分析会 日期 时间 地点，例如：分析会 周五 15:00 村委会议室（每周五群众工作日、每月28日；改期、取消同恳谈会）",
};

const WHEN_PROBLEM = {
  no_date: "没看懂开会日期。",
  no_time: "请写上开会时间（如 19:00 或 晚上7点）。",
  past: "这个时间已经过去了。",
  far: "请安排三个月以内的日期。",
} as const;

/** 改期 / 取消 open a change; a question about one (取消了吗？) does not. */
const CHANGE = /^(?:改期|改到|改为|改成|延期|推迟|改時間|改时间)(?![了吗呢吧啊没])[\s：:，,、]*/u;
const CANCEL = /^取消(?![了吗呢吧啊没])[\s：:，,、]*/u;

function refusal(r: Exclude<MeetingResult, { ok: true }> | RecordRefusal): Reply {
  switch (r.reason) {
    case "wrong_chat":
      return r.kind === "talk"
        ? say("民情恳谈会由各村民小组召开，请组长在本组的群里安排；村里的民情分析会请在村群里发「分析会 日期 时间 地点」。")
        : say("民情分析会由村（社区）召开，请在村群里安排；各组的民情恳谈会请在组群里发「恳谈会 日期 时间 地点」。");
    case "forbidden":
      return say(`${MEETING_ZH[r.kind]}由${r.kind === "talk" ? "本组组长" : "村干部"}及以上的负责人安排和记录。`);
    case "exists": {
      const m = r.meeting;
      const word = MEETING_WORD[m.kind];
      return say(
        `已经安排了 ${formatMeetingTime(m.startsAt)} 的${MEETING_ZH[m.kind]}（${placeForGroup(m.place, [])}）。要改时间请发「${word} 改期 日期 时间」，不开了请发「${word} 取消」。`,
      );
    }
    case "none":
      return say(`还没有安排${MEETING_ZH[r.kind]}。安排请发：${MEETING_USAGE[r.kind]}`);
    case "when":
      return say(
        `${WHEN_PROBLEM[r.problem]}用法：${r.change ? `${MEETING_WORD[r.kind]} 改期 12月22日 19:00（地点不变可不写）` : MEETING_USAGE[r.kind]}`,
      );
    case "no_place":
      return say(`请写上开会地点。用法：${MEETING_USAGE[r.kind]}`);
    case "no_meeting":
      return say(
        `本群还没有安排${MEETING_ZH[r.kind]}（或上次已过去一个多月），先发「${MEETING_WORD[r.kind]} 日期 时间 地点」安排一次，再记录纪要和议定事项。`,
      );
  }
}

/** 恳谈会 / 分析会 with what follows: schedule, 改期 or 取消. */
export async function meetingCommand(ctx: Ctx, actor: Actor, kind: MeetingKind, body: string): Promise<Reply[]> {
  const change = CHANGE.exec(body);
  const cancel = CANCEL.exec(body);
  const r = change
    ? await rescheduleMeeting(ctx, kind, actor.chat, actor.person, body.slice(change[0].length))
    : cancel
      ? await cancelMeeting(ctx, kind, actor.chat, actor.person, body.slice(cancel[0].length).trim() || null)
      : await scheduleMeeting(ctx, kind, actor.chat, actor.person, body);
  return [r.ok ? say(r.text) : refusal(r)];
}

export async function minutesCommand(ctx: Ctx, actor: Actor, text: string): Promise<Reply[]> {
  const r = await recordMinutes(ctx, actor.chat, actor.person, text);
  if (!r.ok) return [refusal(r)];
  const day = formatMeetingTime(r.meeting.startsAt);
  return [say(`📝 已记入 ${day} ${MEETING_ZH[r.meeting.kind]}的纪要（第 ${r.count} 段），看板上可查看全文。`)];
}

function decided(r: DecisionDone, now: Date): Reply {
  const head = `✅ 已记录 ${formatMeetingTime(r.meeting.startsAt)} ${MEETING_ZH[r.meeting.kind]}的第 ${r.count} 项议定事项`;
  const d = r.ticket;
  if (!d) return say(`${head}（备案，不立工单）。`);
  const t = d.ticket;
  const who = d.holders.find((p) => p.id === t.assigneeId) ?? d.holders[0];
  const holder = who ? `${who.name}（${ROLE_ZH[who.role]}）` : "待分派";
  const answer = t.answerDueAt ? `，请在${formatWhenZh(t.answerDueAt, now)}前认领` : "";
  const deadline = r.resolveBy ? `\n办结期限：${formatWhenZh(r.resolveBy, now)}` : "";
  return say(
    `${head}，已立为工单 #${t.id}（议定事项）。\n负责人：${holder}${answer}（发「认领 #${t.id}」）。${deadline}\n查进度发「进度 #${t.id}」。`,
    who ? [who.id] : [],
  );
}

export async function decisionCommand(ctx: Ctx, actor: Actor, text: string): Promise<Reply[]> {
  const r = await recordDecision(ctx, actor.chat, actor.person, text);
  return [r.ok ? decided(r, ctx.now) : refusal(r)];
}
