/**
 * The command table: the one home of every chat command. A row says which words open it (simplified and
 * traditional forms), how its argument is shaped, its usage hint, who may use it and where, and its handler.
 * src/bot/parse.ts reads the words and shapes from here; the pipeline looks the handler up here. A new command is
 * a new row, not a new branch somewhere else.
 */
import type { Role } from "../db/schema/index.js";
import type { Ctx } from "../workflows/context.js";
import { digestForChat } from "../workflows/digests/index.js";
import { latestGoodNeighbors } from "../workflows/good-neighbors.js";
import type { Person } from "../workflows/directory.js";
import { isLeader, isOfficial } from "../workflows/roles.js";
import {
  type Actor,
  claimTicket,
  escalateTicket,
  openTicket,
  rateTicket,
  replyTicket,
  resolveTicket,
} from "../workflows/ticket-commands.js";
import { describesProblem } from "../workflows/category.js";
import { CONFIRM_TTL_MS, offerReport } from "../workflows/pending-reports.js";
import { stripMentions } from "./mentions.js";
import { statusInChat, todoInChat } from "./group-lists.js";
import type { CommandIntent, ParsedCommand } from "./parse.js";
import { replies } from "./replies.js";
import type { Reply } from "./types.js";
import { dueCommand, onBehalfCommand, visitCommand } from "./visit-dispatch.js";
import { answerQuestion } from "./questions.js";
import { decisionCommand, MEETING_USAGE, meetingCommand, minutesCommand } from "./meeting-dispatch.js";
import { circularCommand, relayedCommand } from "./circular-commands.js";
import { failCommand, mediateCommand, mediationListCommand, settleCommand } from "./mediation-commands.js";

/**
 * How a command word relates to the text after it:
 * - text: free text, may be glued to the word (报事路灯坏了);
 * - ticket: needs a ticket first, and must not be glued to ordinary words,
 *   because 进度 / 完成 / 查看 are everyday words (进度很快啊 is chat);
 * - ticketOrText: 上报 escalates a ticket, but 上报 + description is a report;
 * - bare: no argument; only whitespace or punctuation may follow (待办？);
 * - number: like ticket, for a notice's or a case's number (已传达 #3), never filled in from a quoted ticket.
 */
export type Shape = "text" | "ticket" | "ticketOrText" | "bare" | "number";

/**
 * One group of words for a command. `spaced`: the words are everyday words too (联系), so they open the command
 * only when a separator follows. `satisfied`: for 满意 / 不满意, which share the rate command.
 */
export type Words = {
  simplified: readonly string[];
  traditional?: readonly string[];
  spaced?: boolean;
  satisfied?: boolean;
};

/**
 * Who may use a command. The dispatcher enforces `where` and `who: "leader"` itself; `ticket-leader` (a leader over
 * the ticket's unit) and `reporter` (the one who asked) need the ticket and are checked by the workflow, whose
 * refusal names it; `visit-leader` likewise (the visit workflow knows the leader's households).
 */
export type Permission = {
  who: "anyone" | "leader" | "official" | "ticket-leader" | "reporter" | "visit-leader";
  /** `group`: only in a registered group chat; the refusal explains where to send it. */
  where: "group" | "anywhere";
  /** The answer when `where` is not met. */
  elsewhere?: string;
};

/** What a handler is given: the transaction context, who is acting, and the parsed command. */
export type CommandCall = { ctx: Ctx; actor: Actor; cmd: ParsedCommand; text: string };
export type Handler = (call: CommandCall) => Promise<Reply[]>;

export type Audience = "resident" | "leader" | "group" | "official";

export type Command = {
  words: readonly Words[];
  shape: Shape;
  /** The text (after the ticket, or the whole argument) is mandatory. */
  needsText: boolean;
  usage: string;
  permission: Permission;
  /** The answer to someone `who` does not allow (a hint at what they can do instead). */
  refused?: string;
  /**
   * Listed in the help menu for these audiences, in table order: `leader` every leader, `group` the 组长 and above
   * (those who may hold a 组's 恳谈会), `official` village and town officials (see helpReply).
   */
  menu: readonly Audience[];
  run: Handler;
};

const one = (r: Reply) => [r];
const ticketOf = (cmd: ParsedCommand) => cmd.ticket as number;
const me = (actor: Actor) => actor.person as Person;

/**
 * Every command, in help-menu order. Keyed by intent so the compiler insists that each intent has exactly one row.
 */
export const COMMANDS: Readonly<Record<CommandIntent, Command>> = {
  report: {
    words: [
      { simplified: ["报事", "反映", "求助", "报修", "投诉", "上报问题"], traditional: ["報事", "報修", "投訴", "上報問題"] },
    ],
    shape: "text",
    needsText: true,
    usage: "报事 问题描述，例如：报事 村口路灯坏了",
    permission: { who: "anyone", where: "group", elsewhere: "请在所在的村、组群里报事，方便邻里和负责人一起看到进展。" },
    menu: ["resident", "leader"],
    run: async ({ ctx, actor, cmd }) => one(replies.opened(await openTicket(ctx, actor, cmd.body ?? ""), ctx.now)),
  },
  onBehalf: {
    words: [{ simplified: ["代报"], traditional: ["代報"] }],
    shape: "text",
    needsText: true,
    usage: "代报 户主或成员或门牌 问题描述，例如：代报 李大爷 家里屋顶漏雨",
    permission: {
      who: "leader",
      where: "group",
      elsewhere: "请在住户所在的村、组群里代报，方便负责人和住户一起看到进展。",
    },
    refused: "代报是邻长、组长等负责人替住户登记的。你自己的事请直接发「报事 问题描述」，我会转给负责人。",
    menu: ["leader"],
    run: ({ ctx, actor, cmd }) => onBehalfCommand(ctx, actor, cmd.body ?? ""),
  },
  status: {
    words: [{ simplified: ["进度", "查询", "查看"], traditional: ["進度", "查詢"] }],
    shape: "ticket",
    needsText: false,
    usage: "进度 #单号，例如：进度 #12",
    permission: { who: "anyone", where: "anywhere" },
    menu: ["resident", "leader"],
    run: ({ ctx, actor, cmd }) => statusInChat(ctx, actor, ticketOf(cmd)),
  },
  claim: {
    words: [{ simplified: ["认领", "签收", "接单"], traditional: ["認領", "簽收", "接單"] }],
    shape: "ticket",
    needsText: false,
    usage: "认领 #单号，例如：认领 #12",
    permission: { who: "ticket-leader", where: "anywhere" },
    menu: ["leader"],
    run: async ({ ctx, actor, cmd }) => {
      const r = await claimTicket(ctx, actor, ticketOf(cmd));
      return one(r.ok ? replies.claimed(r, me(actor), ctx.now) : replies.refusal(r));
    },
  },
  reply: {
    words: [
      { simplified: ["回复", "答复", "跟进"], traditional: ["回覆", "回復", "答覆", "答復", "跟進"] },
    ],
    shape: "ticket",
    needsText: true,
    usage: "回复 #单号 内容，例如：回复 #12 师傅下午上门",
    permission: { who: "ticket-leader", where: "anywhere" },
    menu: ["leader"],
    run: async ({ ctx, actor, cmd }) => {
      const r = await replyTicket(ctx, actor, ticketOf(cmd), cmd.body ?? "");
      return one(r.ok ? replies.replied(r, me(actor), cmd.body ?? "") : replies.refusal(r));
    },
  },
  resolve: {
    words: [{ simplified: ["办结", "解决", "完成", "已办结"], traditional: ["辦結", "解決", "已辦結"] }],
    shape: "ticket",
    needsText: true,
    usage: "办结 #单号 处理结果，例如：办结 #12 路灯已修好",
    permission: { who: "ticket-leader", where: "anywhere" },
    menu: ["leader"],
    run: async ({ ctx, actor, cmd }) => {
      const r = await resolveTicket(ctx, actor, ticketOf(cmd), cmd.body ?? "");
      return one(r.ok ? replies.resolved(r, cmd.body ?? "") : replies.refusal(r));
    },
  },
  escalate: {
    words: [{ simplified: ["上报"], traditional: ["上報"] }],
    shape: "ticketOrText",
    needsText: true,
    usage: "上报 #单号 原因，例如：上报 #12 需要村里协调",
    permission: { who: "ticket-leader", where: "anywhere" },
    menu: ["leader"],
    run: async ({ ctx, actor, cmd }) => {
      const r = await escalateTicket(ctx, actor, ticketOf(cmd), cmd.body ?? "");
      return one(r.ok ? replies.escalated(r) : replies.refusal(r));
    },
  },
  rate: {
    words: [
      { simplified: ["满意"], traditional: ["滿意"], satisfied: true },
      { simplified: ["不满意"], traditional: ["不滿意"], satisfied: false },
    ],
    shape: "ticket",
    needsText: false,
    usage: "满意 #单号，或 不满意 #单号 原因，例如：不满意 #12 灯还是不亮",
    permission: { who: "reporter", where: "anywhere" },
    menu: ["resident"],
    run: async ({ ctx, actor, cmd }) => {
      const r = await rateTicket(ctx, actor, ticketOf(cmd), cmd.satisfied === true, cmd.body);
      return one(r.ok ? replies.rated(r, ctx.now) : replies.refusal(r));
    },
  },
  todo: {
    words: [{ simplified: ["待办", "我的工单"], traditional: ["待辦", "我的工單"] }],
    shape: "bare",
    needsText: false,
    usage: "待办（查看我的工单：负责人看手上的，居民看自己报的）",
    permission: { who: "anyone", where: "anywhere" },
    menu: ["resident", "leader"],
    run: ({ ctx, actor }) => todoInChat(ctx, actor),
  },
  visit: {
    words: [{ simplified: ["走访"], traditional: ["走訪"] }],
    shape: "text",
    needsText: true,
    usage: "走访 户或人 情况，例如：走访 王阿姨 身体良好，家里一切正常",
    permission: { who: "visit-leader", where: "anywhere" },
    menu: ["leader"],
    run: ({ ctx, actor, cmd, text }) => visitCommand(ctx, actor, "visit", cmd.body ?? "", text),
  },
  contact: {
    words: [
      { simplified: ["电联", "电访"], traditional: ["電聯", "電訪"] },
      {
        simplified: ["联系", "联络", "电话联系", "微信联系"],
        traditional: ["聯繫", "聯係", "聯絡", "電話聯繫", "微信聯繫"],
        spaced: true,
      },
    ],
    shape: "text",
    needsText: true,
    usage: "电联 户或人 情况（电话、微信联系），例如：电联 王阿姨 电话问候，一切都好",
    permission: { who: "visit-leader", where: "anywhere" },
    menu: ["leader"],
    run: ({ ctx, actor, cmd, text }) => visitCommand(ctx, actor, "contact", cmd.body ?? "", text),
  },
  due: {
    words: [{ simplified: ["待走访"], traditional: ["待走訪"] }],
    shape: "bare",
    needsText: false,
    usage: "待走访（查看该走访、该联系的住户）",
    permission: { who: "visit-leader", where: "anywhere" },
    menu: ["leader"],
    run: ({ ctx, actor }) => dueCommand(ctx, actor),
  },
  digest: {
    words: [{ simplified: ["周报", "本周统计"], traditional: ["週報", "周報", "本週統計", "本周統計"] }],
    shape: "bare",
    needsText: false,
    usage: "周报（查看本周统计）",
    permission: { who: "anyone", where: "group", elsewhere: "请在村、组群里发「周报」，查看本群所在单位近 7 天的统计。" },
    menu: ["leader"],
    run: async ({ ctx, actor }) => (actor.chat ? one({ text: await digestForChat(ctx, actor.chat), mentions: [] }) : []),
  },
  talkMeeting: {
    words: [{ simplified: ["恳谈会", "民情恳谈会"], traditional: ["懇談會", "民情懇談會"], spaced: true }],
    shape: "text",
    needsText: true,
    usage: MEETING_USAGE.talk,
    permission: { who: "leader", where: "group", elsewhere: "请在本组的群里安排民情恳谈会，通知会发在群里。" },
    refused: "民情恳谈会由组长及以上的负责人安排。有想在会上说的事，可以先发「报事 问题描述」。",
    menu: ["group"],
    run: ({ ctx, actor, cmd }) => meetingCommand(ctx, actor, "talk", cmd.body ?? ""),
  },
  analysisMeeting: {
    words: [{ simplified: ["分析会", "民情分析会"], traditional: ["分析會", "民情分析會"], spaced: true }],
    shape: "text",
    needsText: true,
    usage: MEETING_USAGE.analysis,
    permission: { who: "leader", where: "group", elsewhere: "请在村（社区）的群里安排民情分析会，通知会发在群里。" },
    refused: "民情分析会由村干部及以上的负责人安排。",
    menu: ["official"],
    run: ({ ctx, actor, cmd }) => meetingCommand(ctx, actor, "analysis", cmd.body ?? ""),
  },
  minutes: {
    words: [{ simplified: ["纪要", "会议纪要"], traditional: ["紀要", "會議紀要"], spaced: true }],
    shape: "text",
    needsText: true,
    usage: "纪要 会议内容，例如：纪要 到会 12 人，大家反映二组水渠淤堵、路灯不亮",
    permission: { who: "leader", where: "group", elsewhere: "请在开会的群里发「纪要 …」，会记到这次会议上。" },
    refused: "会议纪要由召开会议的负责人记录。",
    menu: ["group"],
    run: ({ ctx, actor, cmd }) => minutesCommand(ctx, actor, cmd.body ?? ""),
  },
  decision: {
    words: [{ simplified: ["议定", "议定事项"], traditional: ["議定", "議定事項"], spaced: true }],
    shape: "text",
    needsText: true,
    usage: "议定 事项（可写负责人和期限），例如：议定 清理二组水渠，王秀英负责，12月31日前完成（只备案不立工单：议定 备案 …）",
    permission: { who: "leader", where: "group", elsewhere: "请在开会的群里发「议定 …」，会记到这次会议上。" },
    refused: "议定事项由召开会议的负责人记录。",
    menu: ["group"],
    run: ({ ctx, actor, cmd }) => decisionCommand(ctx, actor, cmd.body ?? ""),
  },
  goodNeighbors: {
    words: [{ simplified: ["好邻榜", "好邻标兵"], traditional: ["好鄰榜", "好鄰標兵"] }],
    shape: "bare",
    needsText: false,
    usage: "好邻榜（查看本村最近一次评出的好邻）",
    permission: { who: "anyone", where: "anywhere" },
    menu: ["resident", "leader"],
    run: async ({ ctx, actor }) => {
      // In a group its village's list; in a single chat the list of the sender's own village.
      const unitId = actor.chat?.unitId ?? actor.person?.unitId;
      if (!unitId) return [];
      const r = await latestGoodNeighbors(ctx, unitId);
      const none = `${r.villageName}还没有评出好邻。每月 28 日按邻长履职评议自动评出，发到村群里。`;
      return one({ text: r.text ?? none, mentions: [] });
    },
  },
  circular: {
    // 通知 is an everyday word too: it opens the command only when a separator follows (通知 秋季防火…).
    words: [{ simplified: ["通知"], spaced: true }, { simplified: ["发通知", "政策通知"], traditional: ["發通知"] }],
    shape: "text",
    needsText: true,
    usage: "通知 标题（换行写正文）：发到你管辖范围内的每个群，例如：通知 秋季森林防火 即日起禁止野外用火",
    permission: { who: "official", where: "anywhere" },
    refused: "通知由村、镇干部发布。有要传达的事，请告诉村干部。",
    menu: ["official"],
    run: ({ ctx, actor, cmd }) => circularCommand(ctx, me(actor), actor.chat, cmd.body ?? ""),
  },
  relayed: {
    words: [{ simplified: ["已传达"], traditional: ["已傳達"] }],
    shape: "number",
    needsText: false,
    usage: "已传达 #通知号（把通知转告联系户后确认），例如：已传达 #3",
    permission: { who: "leader", where: "anywhere" },
    menu: ["leader"],
    run: ({ ctx, actor, cmd }) => relayedCommand(ctx, me(actor), cmd.ticket as number),
  },
  mediate: {
    words: [{ simplified: ["调解", "登记调解"], traditional: ["調解", "登記調解"] }],
    shape: "text",
    needsText: true,
    usage: "调解 事由（私下登记，群里只显示“已记录一件调解”），例如：调解 两户因宅基地边界起争执",
    permission: { who: "leader", where: "anywhere" },
    refused: "调解由邻长等负责人登记。家里有矛盾纠纷，可以私下告诉你的邻长。",
    menu: ["leader"],
    run: ({ ctx, actor, cmd }) => mediateCommand(ctx, me(actor), actor.chat, cmd.body ?? ""),
  },
  mediated: {
    words: [{ simplified: ["调解成功", "已调解"], traditional: ["調解成功", "已調解"] }],
    shape: "number",
    needsText: true,
    usage: "调解成功 #编号 结果，例如：调解成功 #3 双方签了调解协议",
    permission: { who: "leader", where: "anywhere" },
    refused: "调解由邻长等负责人办理。",
    menu: ["leader"],
    run: ({ ctx, actor, cmd }) => settleCommand(ctx, me(actor), actor.chat, cmd.ticket as number, cmd.body ?? ""),
  },
  mediationFailed: {
    words: [{ simplified: ["调解不成", "调解失败"], traditional: ["調解不成", "調解失敗"] }],
    shape: "number",
    needsText: true,
    usage: "调解不成 #编号 原因（上报到上一级继续调解），例如：调解不成 #3 双方分歧大，需要村里出面",
    permission: { who: "leader", where: "anywhere" },
    refused: "调解由邻长等负责人办理。",
    menu: ["leader"],
    run: ({ ctx, actor, cmd }) => failCommand(ctx, me(actor), actor.chat, cmd.ticket as number, cmd.body ?? ""),
  },
  mediations: {
    words: [{ simplified: ["待调解", "调解清单"], traditional: ["待調解", "調解清單"] }],
    shape: "bare",
    needsText: false,
    usage: "待调解（正在调解的矛盾纠纷，清单私信给你）",
    permission: { who: "leader", where: "anywhere" },
    refused: "调解由邻长等负责人办理。",
    menu: ["leader"],
    run: ({ ctx, actor }) => mediationListCommand(ctx, me(actor), actor.chat),
  },
  help: {
    words: [{ simplified: ["帮助", "菜单", "选单", "help", "?", "？"], traditional: ["幫助", "菜單", "選單"] }],
    shape: "bare",
    needsText: false,
    usage: "帮助（查看全部指令）",
    permission: { who: "anyone", where: "anywhere" },
    menu: [],
    run: async ({ actor }) => one(helpReply(actor.person?.role ?? null)),
  },
};

/** The help menu for a person of this role (null: not in the directory): the table's usage lines, in order. */
export function helpReply(role: Role | null): Reply {
  const audiences: Audience[] =
    !role || !isLeader(role)
      ? ["resident"]
      : isOfficial(role)
        ? ["leader", "group", "official"]
        : role === "neighbor_leader"
          ? ["leader"]
          : ["leader", "group"];
  const usage = Object.values(COMMANDS)
    .filter((c) => c.menu.some((a) => audiences.includes(a)))
    .map((c) => c.usage);
  return replies.help(usage);
}

/**
 * A message that is no command: an answer (是 / 不用 / a number) to a question the bot asked this person here
 * (src/bot/questions.ts); addressed to the bot, a problem gets the question whether to report it and anything else the
 * "didn't understand" answer; plain chat gets nothing.
 */
export async function answerChat(call: {
  ctx: Ctx;
  actor: Actor;
  text: string;
  botNames: string[];
  addressed: boolean;
}): Promise<Reply[]> {
  const { ctx, actor } = call;
  const bare = stripMentions(call.text.trim(), call.botNames).text.trim();
  const answered = await answerQuestion(ctx, actor, bare);
  if (answered) return answered;
  if (!call.addressed) return [];
  if (actor.chat && describesProblem(bare)) {
    await offerReport(ctx, actor, bare);
    return one(replies.offerReport(CONFIRM_TTL_MS));
  }
  return one(replies.notUnderstood());
}

/** Runs a parsed command: the table's permission first, then its handler. */
export function runCommand(intent: CommandIntent, call: CommandCall): Promise<Reply[]> {
  const command = COMMANDS[intent];
  const { permission } = command;
  if (permission.where === "group" && !call.actor.chat) {
    return Promise.resolve([replies.invalid(permission.elsewhere ?? command.usage)]);
  }
  if (permission.who === "leader" && !(call.actor.person && isLeader(call.actor.person.role))) {
    return Promise.resolve([replies.invalid(command.refused ?? "只有邻长、组长等负责人可以用这个指令。")]);
  }
  if (permission.who === "official" && !(call.actor.person && isOfficial(call.actor.person.role))) {
    return Promise.resolve([replies.invalid(command.refused ?? "只有村、镇干部可以用这个指令。")]);
  }
  return command.run(call);
}
