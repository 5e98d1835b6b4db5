/**
 * 调解, 调解成功, 调解不成 and 待调解 from chat. In a group the answer is always the one fixed sentence (IN_GROUP) or a
 * count: the 事由, the parties and every outcome go to the leader privately (or, without a private channel, wait for
 * them to ask in a private chat). In a private chat the answer is the detail itself.
 */
import { randomUUID } from "node:crypto";
import type { Ctx } from "../workflows/context.js";
import type { Chat, Person } from "../workflows/directory.js";
import {
  failMediation,
  type MediationChange,
  type MediationRefusal,
  mediationsFor,
  openMediation,
  settleMediation,
} from "../workflows/mediations/cases.js";
import { IN_GROUP, listText, openedText, outcomeText, STATUS_ZH } from "../workflows/mediations/words.js";
import type { Reply } from "./types.js";
import { tellPrivately } from "./visit-dispatch.js";

const say = (text: string): Reply => ({ text, mentions: [] });

/** The detail to the actor: the reply itself in a private chat; in a group, privately, and the group reads IN_GROUP. */
async function answer(ctx: Ctx, me: Person, chat: Chat | null, detail: string, key: string): Promise<Reply[]> {
  if (!chat) return [say(detail)];
  const sent = await tellPrivately(ctx, me.id, detail, key);
  return [say(sent ? `${IN_GROUP}，详情已私信发给你。` : `${IN_GROUP}。详情不在群里显示，请私聊我发「待调解」查看。`)];
}

/** A number alone (调解 #5) is not a 事由: it most likely asks about a case. */
const ONLY_A_NUMBER = /^[#＃]?\s*[0-9０-９]+\s*[号號]?$/u;

/** `调解 <事由>`. */
export async function mediateCommand(ctx: Ctx, me: Person, chat: Chat | null, summary: string): Promise<Reply[]> {
  if (ONLY_A_NUMBER.test(summary.trim()))
    return [say("要查看正在调解的矛盾纠纷请发「待调解」；登记新的调解请写明事由，例如：调解 两户因宅基地边界起争执")];
  const m = await openMediation(ctx, me, chat, summary);
  return answer(ctx, me, chat, openedText(m), `mediation-${m.id}-opened`);
}

function refusal(r: MediationRefusal): Reply {
  switch (r.reason) {
    case "not_found":
      return say(`找不到调解 #${r.id}，或它不在你负责的范围内，请核对编号。`);
    case "closed":
      return say(`调解 #${r.mediation.id} 已结束（${STATUS_ZH[r.mediation.status]}），不需要再操作。`);
    case "handed_up":
      return say(`调解 #${r.mediation.id} 已上报，由上一级负责人接手调解。`);
  }
}

async function changed(ctx: Ctx, me: Person, chat: Chat | null, r: MediationChange | MediationRefusal): Promise<Reply[]> {
  if (!r.ok) return [refusal(r)];
  const detail = outcomeText(r.mediation, { outcome: r.outcome, by: me.name, leaders: r.leaders.map((l) => l.name), mine: true });
  return answer(ctx, me, chat, detail, `mediation-${r.mediation.id}-v${r.mediation.version}-actor`);
}

/** `调解成功 #5 <结果>`. */
export async function settleCommand(ctx: Ctx, me: Person, chat: Chat | null, id: number, result: string): Promise<Reply[]> {
  return changed(ctx, me, chat, await settleMediation(ctx, me, id, result));
}

/** `调解不成 #5 <原因>`. */
export async function failCommand(ctx: Ctx, me: Person, chat: Chat | null, id: number, reason: string): Promise<Reply[]> {
  return changed(ctx, me, chat, await failMediation(ctx, me, id, reason));
}

/** `待调解`: the list privately; a group reads how many. */
export async function mediationListCommand(ctx: Ctx, me: Person, chat: Chat | null): Promise<Reply[]> {
  const list = await mediationsFor(ctx, me);
  if (!chat) return [say(listText(list, ctx.now))];
  if (list.length === 0) return [say("你负责的范围内没有正在调解的矛盾纠纷。")];
  const sent = await tellPrivately(ctx, me.id, listText(list, ctx.now), `mediation-list-${me.id}-${randomUUID()}`);
  return [say(`正在调解的矛盾纠纷 ${list.length} 件，${sent ? "清单已私信发给你。" : "请私聊我发「待调解」查看清单。"}`)];
}
