/**
 * Dispatch of the visit commands, called from the pipeline inside its transaction. In a group chat the reply is
 * minimal (counts); the details go to the leader privately through the outbox.
 */
import { randomUUID } from "node:crypto";
import type { VisitChannel, VisitKind } from "../db/schema/index.js";
import type { Ctx } from "../workflows/context.js";
import { queueMessage } from "../workflows/outbox.js";
import { reportOnBehalf } from "../workflows/on-behalf.js";
import type { Actor } from "../workflows/ticket-commands.js";
import { dueList } from "../workflows/visits/due.js";
import { CHOICE_TTL_MS, type LogOutcome, logVisit, type PickOutcome } from "../workflows/visits/log.js";
import { replies } from "./replies.js";
import type { Reply } from "./types.js";
import { visitReplies } from "./visit-replies.js";

/** 电联 is a phone call; 微信 anywhere in the message makes it a WeChat contact. */
export function channelOf(kind: VisitKind, text: string): VisitChannel {
  if (kind === "visit") return "home";
  if (/微信|微訊/u.test(text)) return "wechat";
  if (/电联|電聯|电访|電訪|电话|電話/u.test(text)) return "phone";
  return "other";
}

/** Queue a private message; false when this deployment has no private channel to the person (WeCom webhooks). */
export async function tellPrivately(ctx: Ctx, personId: string, text: string, dedupeKey: string): Promise<boolean> {
  if (ctx.canReachPrivately && !(await ctx.canReachPrivately(personId))) return false;
  await queueMessage(ctx, { dedupeKey, to: { personId }, kind: "notice", payload: { text, mentions: [] } });
  return true;
}

/** The answer to a logged visit or contact, a pick from a choice list, or a 代报's list (src/bot/questions.ts picks). */
export async function present(ctx: Ctx, actor: Actor, r: LogOutcome | PickOutcome): Promise<Reply[]> {
  const me = actor.person;
  const inGroup = actor.chat !== null;
  if (!r.ok) {
    if (r.reason === "forbidden") return [visitReplies.forbidden()];
    return [visitReplies.tooMany(r.count)];
  }
  if (!me) return [];
  switch (r.status) {
    case "reported":
      return [replies.opened(r.ticket, ctx.now)];
    case "ambiguous": {
      const list = visitReplies.choicesList(r.query, r.candidates, CHOICE_TTL_MS / 60_000);
      if (!inGroup) return [{ text: list, mentions: [] }];
      const sent = await tellPrivately(ctx, me.id, list, `visit-choices-${me.id}-${randomUUID()}`);
      return [visitReplies.choicesInGroup(r.candidates.length, sent)];
    }
    case "unmatched": {
      const detail = visitReplies.unmatchedDetail(r.visit.query, r.visit.kind, r.request);
      if (!inGroup) return [{ text: detail, mentions: [] }];
      const sent = await tellPrivately(ctx, me.id, detail, `visit-${r.visit.id}`);
      return [visitReplies.unmatchedInGroup(r.visit.kind, sent)];
    }
    case "matched": {
      const detail = visitReplies.loggedDetail(r, ctx.now);
      const ticket = r.ticket ? [replies.opened(r.ticket, ctx.now, inGroup)] : [];
      if (!inGroup) return [{ text: detail, mentions: [] }, ...ticket];
      const sent = await tellPrivately(ctx, me.id, detail, `visit-${r.visit.id}`);
      return [visitReplies.loggedInGroup(r.visit.kind, sent), ...ticket];
    }
  }
}

/** `走访 …` / `电联 …`. */
export async function visitCommand(ctx: Ctx, actor: Actor, kind: VisitKind, body: string, text: string): Promise<Reply[]> {
  return present(ctx, actor, await logVisit(ctx, actor, { kind, channel: channelOf(kind, text), body }));
}

/** `待走访`: counts in a group (the list privately), the list in a direct message. */
export async function dueCommand(ctx: Ctx, actor: Actor): Promise<Reply[]> {
  const me = actor.person;
  const d = me ? await dueList(ctx, me) : null;
  if (!me || !d) return [visitReplies.dueForbidden()];
  if (!actor.chat) return [{ text: visitReplies.dueText(d), mentions: [] }];
  const sent = d.items.length > 0 && (await tellPrivately(ctx, me.id, visitReplies.dueText(d), `due-list-${me.id}-${randomUUID()}`));
  return [visitReplies.dueInGroup(d, sent)];
}


/** `代报 <who> <描述>`: one household opens the ticket; several send the numbered list as 走访 does; none asks again. */
export async function onBehalfCommand(ctx: Ctx, actor: Actor, body: string): Promise<Reply[]> {
  const r = await reportOnBehalf(ctx, actor, body);
  if (!r.ok) {
    if (r.reason === "not_found") return [replies.householdNotFound(r.query)];
    if (r.reason === "too_many") return [replies.householdTooMany(r.query, r.count)];
    return [replies.onBehalfNoDescription()];
  }
  if (r.status === "opened") return [replies.opened(r.done, ctx.now)];
  return present(ctx, actor, { ok: true, status: "ambiguous", kind: "visit", query: r.query, candidates: r.candidates });
}
