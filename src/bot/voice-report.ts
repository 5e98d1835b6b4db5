/**
 * A 报事 by voice. Both platforms deliver voice to the bot only in a single chat (WeCom 100719: voice is single-chat
 * only; DingTalk: a group cannot @ the bot with voice), while a report belongs in the reporter's group, where the
 * 邻长 and the neighbours follow it. So a voice 报事 from someone the directory knows opens in their home group: the
 * nearest registered chat above their household (or their own unit) on the same platform. The group gets the
 * usual opening message with the matter masked as every group text is, said to come from a voice message; the
 * reporter is answered privately and told where it went. A voice message that tells a problem without 报事 is asked
 * about ("要把这件事登记为报事吗"), and its 是 opens it the same way. Typed text in a single chat is still sent to the group.
 */
import { and, asc, eq, inArray } from "drizzle-orm";
import { markVoice } from "../workflows/media/place.js";
import { type Actor, openTicket } from "../workflows/ticket-commands.js";
import { replies } from "./replies.js";
import { chats } from "../db/schema/index.js";
import { GROUP_CUTS, forGroup } from "../lib/privacy.js";
import type { Ctx } from "../workflows/context.js";
import type { Chat, Person } from "../workflows/directory.js";
import { getHousehold, unitPath } from "../workflows/directory.js";
import { queueMessage } from "../workflows/outbox.js";
import { loadLadder } from "../workflows/tickets.js";
import type { IncomingMessage, Reply } from "./types.js";

/** The registered chat a person's voice report goes to, on the platform it came from; null when there is none. */
export async function voiceHomeChat(ctx: Ctx, person: Person, platform: IncomingMessage["platform"]): Promise<Chat | null> {
  const household = person.householdId ? await getHousehold(ctx.db, person.householdId) : null;
  const unitId = household?.unitId ?? person.unitId;
  if (!unitId) return null;
  const path = (await unitPath(ctx.db, unitId)).map((u) => u.id);
  if (path.length === 0) return null;
  const list = await ctx.db
    .select()
    .from(chats)
    .where(and(inArray(chats.unitId, path), eq(chats.platform, platform), eq(chats.status, "active")))
    .orderBy(asc(chats.id));
  for (const id of path) {
    const here = list.find((c) => c.unitId === id);
    if (here) return here;
  }
  return null;
}

/**
 * After the report opened in `home`: its opening message goes to the group (once per ticket, through the outbox),
 * and the reporter's private answer says where it went (without the @-mentions, which mean nothing in a single chat).
 */
export async function postVoiceReport(
  ctx: Ctx,
  a: { home: Chat; person: Person; ticketId: number; unitId: string; matter: string; opened: Reply[] },
): Promise<Reply[]> {
  const [reply, ...rest] = a.opened;
  if (!reply) return a.opened;
  const tags = (await loadLadder(ctx, a.unitId)).policy.sensitiveTags;
  await queueMessage(ctx, {
    dedupeKey: `voice-report-${a.ticketId}`,
    to: { chatId: a.home.id },
    kind: "notice",
    payload: {
      text: `🎤 ${a.person.name}发来语音报事：${forGroup(a.matter, GROUP_CUTS.words, tags)}\n${reply.text}`,
      mentions: reply.mentions,
      ticketId: a.ticketId,
      ...(reply.actions ? { actions: reply.actions } : {}),
    },
  });
  return [{ text: `${reply.text}\n已转到「${a.home.name}」，负责人会在群里答复。`, mentions: [] }, ...rest];
}

/** 是 to "要把这件事登记为报事吗" asked after a voice message in a single chat: the report opens in the home group asked about. */
export async function openVoiceReport(ctx: Ctx, actor: Actor, homeId: string, text: string): Promise<Reply[]> {
  const [home] = await ctx.db.select().from(chats).where(and(eq(chats.id, homeId), eq(chats.status, "active")));
  const person = actor.person;
  if (!home || !person) return [replies.invalid("这个群已经不能登记报事了，请在所在的村、组群里报事。")];
  const done = await openTicket(ctx, { ...actor, chat: home }, text);
  await markVoice(ctx, done.ticket.id);
  const opened = [replies.opened(done, ctx.now)];
  return postVoiceReport(ctx, { home, person, ticketId: done.ticket.id, unitId: done.ticket.unitId, matter: text, opened });
}
