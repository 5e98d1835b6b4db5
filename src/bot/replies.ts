/**
 * The words of the bot's direct answers. Short, friendly simplified Chinese; names only, never a phone number.
 * Every piece of person-typed text (a ticket's words, a leader's 回复/办结, a name they typed) goes through
 * `forGroup`: these replies are read in the group.
 */
import { formatDurationZh } from "../lib/duration.js";
import { forGroup, GROUP_CUTS } from "../lib/privacy.js";
import { formatWhenZh } from "../lib/time.js";
import type { Leader, Person } from "../workflows/directory.js";
import { LEVEL_ZH, ROLE_ZH, STATUS_ZH } from "../workflows/roles.js";
import type { CommandResult, Done, TodoList } from "../workflows/ticket-commands.js";
import type { Reply } from "./types.js";

export const MAX_TEXT = 2000;


const who = (people: Leader[]) =>
  people.length ? people.map((p) => `${p.name}（${ROLE_ZH[p.role]}）`).join("、") : "待分派";
const say = (text: string, mentions: string[] = [], extra: Partial<Reply> = {}): Reply => ({ text, mentions, ...extra });
const ids = (people: (Leader | null)[]) => [...new Set(people.filter((p): p is Leader => p !== null).map((p) => p.id))];
const at = (people: Leader[]) => people.map((p) => `@${p.name}`).join(" ");
const others = (people: Person[], me: Leader | null) => people.filter((p) => p.id !== me?.id);
/**
 * 诉求户 in a group message: the name the leader gave and who relayed it, never a house number or tag. Names go
 * through the masker too, since a leader may have typed a house number as the name.
 */
const whoseRequest = (d: Done) => {
  const head = d.household?.headName ?? "";
  const asker = d.ticket.requesterName && d.ticket.requesterName !== head ? `${d.ticket.requesterName}（${head}家）` : `${head}家`;
  return forGroup(`${asker}${d.reporter ? `，${d.reporter.name}代报` : ""}`, GROUP_CUTS.line * 2, d.tags);
};
/** 负责人: once someone has taken it (claimed, replied or resolved), that person; before, whoever holds the level. */
const responsible = (d: Done) =>
  d.ticket.status !== "open" && d.assignee ? `${d.assignee.name}（${ROLE_ZH[d.assignee.role]}）` : who(d.holders);

export const replies = {
  tooLong: () => say(`消息太长了（超过 ${MAX_TEXT} 字），请精简后再发。`),
  cannotHandle: () => say("抱歉，这条消息我处理不了，请换个说法重新发送。"),
  unregisteredChat: () =>
    say("这个群还没有登记到好邻，暂时不能报事。本群已列入看板的“待绑定的群”，请管理员在看板上把本群绑定到对应的村或组。"),
  unknownPerson: () => say("你还不在好邻的名册里。请在所在的村、组群里 @我 报事，或联系邻长代报。"),
  notUnderstood: () => say("没太明白你的意思。发「帮助」可以查看我能做什么。"),
  offerReport: (ttlMs: number, chatName?: string) =>
    say(`要把这件事登记为报事吗？回复「是」即可${chatName ? `，会登记到「${chatName}」` : ""}（${Math.round(ttlMs / 60_000)} 分钟内有效）。`),
  invalid: (hint: string) => say(hint),
  notYet: (what: string) => say(`${what}功能还在建设中，暂时不能使用。`),

  /** `usage`: the command table's lines for this person (see helpReply in commands.ts). */
  help(usage: string[]): Reply {
    const lines = ["我是好邻，可以帮你：", ...usage.map((u) => `· ${u}`)];
    lines.push("报事时可以一起发照片；也可以私聊我发语音说问题，会登记到你所在的群。");
    lines.push("邻长 4 小时内答复，超时自动上报组、村、镇。");
    return say(lines.join("\n"));
  },

  refusal(r: Exclude<CommandResult, Done>): Reply {
    switch (r.reason) {
      case "not_found":
        return say(`找不到工单 #${r.ticketId}，请核对单号。`);
      case "forbidden":
        return r.need === "reporter"
          ? say(`只有报事人本人可以评价工单 #${r.ticket.id}。`)
          : say(`工单 #${r.ticket.id} 需由所在邻、组、村的负责人办理，你可以发「进度 #${r.ticket.id}」查看进展。`);
      case "finished":
        return say(`工单 #${r.ticket.id} ${STATUS_ZH[r.ticket.status]}，不需要再操作。`);
      case "taken":
        return say(`工单 #${r.ticket.id} 已由 ${r.by ? r.by.name : "其他负责人"} 认领，正在处理中。`);
      case "not_resolved":
        // A closed ticket was already rated (or closed for good): "not yet resolved" would tell its reporter to wait.
        return r.ticket.status === "closed"
          ? say(`工单 #${r.ticket.id} 已关闭，不能再评价；问题还在的话请重新报事。`)
          : say(`工单 #${r.ticket.id} 还没有办结，办结后才能评价。`);
      case "at_top":
        return say(`工单 #${r.ticket.id} 已在${LEVEL_ZH[r.ticket.level]}级，不能再往上报了，请直接办理或联系镇里。`);
    }
  },

  /** `quiet`: from a visit, whose group reply never names the household visited (see visit-replies.ts). */
  opened(d: Done, now: Date, quiet = false): Reply {
    const t = d.ticket;
    const head = t.urgency === "urgent" ? `🚨 已登记紧急工单 #${t.id}` : `✅ 已登记工单 #${t.id}`;
    const due = t.answerDueAt ? `，请在${formatWhenZh(t.answerDueAt, now)}前答复` : "";
    const named = d.household !== null && !quiet;
    const whose = named ? `\n诉求户：${whoseRequest(d)}` : "";
    const told = named ? others(d.requesters, d.reporter) : [];
    const tell = told.length ? `\n${at(told)} 你家的事已登记，进展会在群里告诉你。` : "";
    return say(
      `${head}（${t.category}）${whose}\n负责人：${who(d.holders)}${due}。\n查进度发「进度 #${t.id}」。${tell}`,
      ids([...d.holders, ...told]),
      { ticketId: t.id, actions: ["claim", "status"] },
    );
  },

  claimed(d: Done, me: Person, now: Date): Reply {
    const t = d.ticket;
    const due = t.resolveDueAt ? `，请在${formatWhenZh(t.resolveDueAt, now)}前办结` : "";
    // Not told to the claimer herself (a 邻长 claiming her own 代报).
    const told = others(d.requesters, me);
    const tell = told.length ? `\n${at(told)} 你反映的事已有人负责。` : "";
    return say(`👌 ${me.name} 已认领工单 #${t.id}${due}。${tell}`, ids(told), {
      ticketId: t.id,
      actions: ["resolve"],
    });
  },

  replied(d: Done, me: Person, text: string): Reply {
    const told = others(d.requesters, me);
    const to = told.length ? `${at(told)} ` : "";
    const shown = forGroup(text, GROUP_CUTS.words, d.tags);
    return say(`💬 ${to}${me.name}回复工单 #${d.ticket.id}：${shown}`, ids(told), { ticketId: d.ticket.id });
  },

  resolved(d: Done, result: string): Reply {
    const t = d.ticket;
    const to = d.requesters.length ? `${at(d.requesters)} ` : "";
    return say(
      `✅ 工单 #${t.id} 已办结：${forGroup(result, GROUP_CUTS.words, d.tags)}\n${to}满意请回复「满意 #${t.id}」，不满意请回复「不满意 #${t.id} 原因」。`,
      ids(d.requesters),
    );
  },

  rated(d: Done, now: Date): Reply {
    const t = d.ticket;
    if (t.status === "closed") return say(`🙏 谢谢评价，工单 #${t.id} 已关闭。`);
    const due = t.answerDueAt ? `，请在${formatWhenZh(t.answerDueAt, now)}前重新答复` : "";
    return say(`🔁 工单 #${t.id} 已重新打开，${who(d.holders)}${due}。`, ids(d.holders), { ticketId: t.id });
  },

  escalated(d: Done): Reply {
    return say(`⏫ 工单 #${d.ticket.id} 已上报到${LEVEL_ZH[d.ticket.level]}级，已通知 ${who(d.holders)}。`);
  },

  status(d: Done, now: Date): Reply {
    const t = d.ticket;
    const lines = [`📋 工单 #${t.id}（${t.category}）`, `事项：${forGroup(t.text, GROUP_CUTS.item, d.tags)}`];
    if (d.household) lines.push(`诉求户：${whoseRequest(d)}`);
    lines.push(`状态：${STATUS_ZH[t.status]} · 层级：${LEVEL_ZH[t.level]} · 负责人：${responsible(d)}`);
    const clock = t.status === "open" ? t.answerDueAt : t.status === "answered" ? t.resolveDueAt : null;
    if (clock) {
      const left = clock.getTime() - now.getTime();
      const verb = t.status === "open" ? "答复" : "办结";
      lines.push(
        left >= 0
          ? `剩余 ${formatDurationZh(left)}（${formatWhenZh(clock, now)}前${verb}）`
          : `已超时 ${formatDurationZh(-left)}，将自动上报`,
      );
    }
    return say(lines.join("\n"), [], { ticketId: t.id, actions: t.status === "open" ? ["claim"] : [] });
  },

  /** 代报 without a match: ask again, never guess. */
  householdNotFound: (query: string) =>
    say(
      `没找到“${forGroup(query, GROUP_CUTS.line)}”这一户，还没有登记。请核对户主或家庭成员的姓名、门牌号或昵称，再发「代报 户主姓名 问题描述」。`,
    ),
  householdTooMany: (query: string, count: number) =>
    say(`“${forGroup(query, GROUP_CUTS.line)}”对应 ${count} 户，还没有登记。请写得更具体些（比如全名或门牌号）再发一次。`),
  onBehalfNoDescription: () => say("请在户名后面写上要反映的事，例如：代报 李大爷 家里屋顶漏雨"),

  todo({ tickets: list, tags, households }: TodoList, isLeader: boolean, now: Date): Reply {
    if (list.length === 0) return say(isLeader ? "你目前没有待办工单 👍" : "你目前没有未完成的报事。");
    const lines = [isLeader ? `你有 ${list.length} 条待办工单：` : `你有 ${list.length} 条报事在处理：`];
    for (const t of list) {
      const clock = t.status === "open" ? t.answerDueAt : t.resolveDueAt;
      const left = clock ? clock.getTime() - now.getTime() : null;
      const when = left === null ? "" : left >= 0 ? ` · 剩 ${formatDurationZh(left)}` : ` · 超时 ${formatDurationZh(-left)}`;
      const head = t.onBehalf && t.householdId ? households.get(t.householdId) : undefined;
      const whose = head ? ` · 诉求户 ${forGroup(`${head}家`, GROUP_CUTS.line, tags)}` : "";
      lines.push(`#${t.id} ${STATUS_ZH[t.status]} · ${LEVEL_ZH[t.level]}${when}${whose} · ${forGroup(t.text, GROUP_CUTS.line, tags)}`);
    }
    return say(lines.join("\n"));
  },

  /** A leader's 待办 in a group: this group's tickets, and how many others went privately. */
  todoInGroup(list: TodoList, others: number, sent: boolean, now: Date): Reply {
    const mine = list.tickets.length ? replies.todo(list, true, now).text : "本群没有你的待办工单。";
    const rest = sent
      ? `另有 ${others} 条其他单位的待办工单，已私信发给你。`
      : `另有 ${others} 条其他单位的待办工单，请私聊我发「待办」查看。`;
    return say(`${mine}\n${rest}`);
  },

  /** 进度 in a group on a ticket of another unit: answered privately. */
  statusElsewhere: (id: number, sent: boolean): Reply =>
    say(sent ? `工单 #${id} 的进度已私信发给你。` : `请私聊我发「进度 #${id}」查询。`),
};
