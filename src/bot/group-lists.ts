/**
 * 待办 and 进度 asked in a group: only the group's own tickets (its unit or below) are answered there; a leader's
 * tickets of other units, or the status of another unit's ticket, go to the asker privately. A village official
 * asking in one group's chat must not show that group the matters of another.
 */
import { randomUUID } from "node:crypto";
import type { Ctx } from "../workflows/context.js";
import { isLeader } from "../workflows/roles.js";
import { type Actor, splitForChat, ticketStatus, todoList } from "../workflows/ticket-commands.js";
import { replies } from "./replies.js";
import type { Reply } from "./types.js";
import { tellPrivately } from "./visit-dispatch.js";

export async function todoInChat(ctx: Ctx, actor: Actor): Promise<Reply[]> {
  const list = await todoList(ctx, actor);
  const me = actor.person;
  const leader = Boolean(me && isLeader(me.role));
  if (!leader || !me || !actor.chat) return [replies.todo(list, leader, ctx.now)];
  const { here, elsewhere } = await splitForChat(ctx, actor.chat, list.tickets);
  if (elsewhere.length === 0) return [replies.todo(list, true, ctx.now)];
  const sent = await tellPrivately(ctx, me.id, replies.todo(list, true, ctx.now).text, `todo-${me.id}-${randomUUID()}`);
  return [replies.todoInGroup({ ...list, tickets: here }, elsewhere.length, sent, ctx.now)];
}

export async function statusInChat(ctx: Ctx, actor: Actor, id: number): Promise<Reply[]> {
  const r = await ticketStatus(ctx, actor, id);
  if (!r.ok) return [replies.refusal(r)];
  const reply = replies.status(r, ctx.now);
  const me = actor.person;
  if (!actor.chat || !me) return [reply];
  const { here } = await splitForChat(ctx, actor.chat, [r.ticket]);
  if (here.length > 0) return [reply];
  const sent = await tellPrivately(ctx, me.id, reply.text, `status-${id}-${me.id}-${randomUUID()}`);
  return [replies.statusElsewhere(id, sent)];
}
