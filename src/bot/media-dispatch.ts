/**
 * Messages that carry photos, voice or a location, inside the pipeline's transaction. The command runs as typed;
 * this decides which ticket a photo belongs to (never by guessing):
 *   1. with 报事 in the same message → the new ticket;
 *   2. with 办结 #12 → the result photo of #12 (if the 办结 went through);
 *   3. quoting a ticket message of this chat → that ticket;
 *   4. alone, within 10 minutes after the same person's report in the same chat → that report;
 *   5. otherwise the sender is asked "要用这张照片报事吗？" and the photo waits (fetched already) for 是 or 不用: a
 *      pending question (src/workflows/questions.ts), answered like every other one (src/bot/questions.ts).
 * A photo with 通知, or alone within 10 minutes after the sender's own 通知 (and no report of theirs claims it), goes
 * with that notice to its groups.
 * In a single chat (WeCom sends lone images only there) rule 4 takes the person's latest report in any chat.
 */
import { type Ticket, getTicket } from "../workflows/tickets.js";
import type { Ctx } from "../workflows/context.js";
import { holdPhotos, recentReport, recordAttachments, type Sent } from "../workflows/media/attach.js";
import { locateTicket, markVoice } from "../workflows/media/place.js";
import type { Actor } from "../workflows/ticket-commands.js";
import { attachToCircular, recentCircular } from "../workflows/circulars/photos.js";
import { mediaReplies } from "./media-replies.js";
import { stripMentions } from "./mentions.js";
import { parseCommand } from "./parse.js";
import type { IncomingMessage, Reply } from "./types.js";
import { postVoiceReport, voiceHomeChat } from "./voice-report.js";
import { describesProblem } from "../workflows/category.js";
import { CONFIRM_TTL_MS } from "../workflows/pending-reports.js";
import { ask } from "../workflows/questions.js";
import { replies } from "./replies.js";

/** Runs the message's command; `as` runs it for the same person as if in another chat (a voice report's group). */
type Dispatch = (text: string, as?: Actor) => Promise<Reply[]>;

/** Does this message need more than its command? (Cheap: most messages are plain text.) */
export const needsMediaDispatch = (msg: IncomingMessage) => Boolean(msg.attachments?.length || msg.voice || msg.location);

export async function mediaDispatch(
  ctx: Ctx,
  actor: Actor,
  msg: IncomingMessage,
  botNames: string[],
  dispatch: Dispatch,
  /** The ticket the quoted message is about (src/bot/quote.ts). */
  quotedTicket?: number,
): Promise<Reply[]> {
  const atts = msg.attachments ?? [];
  const sent: Sent = { chatId: actor.chat?.id ?? null, senderExternalId: actor.externalId };
  const cmd = parseCommand(msg.text, { botNames, quotedTicket });
  if (msg.voice && !actor.chat && actor.person && cmd.intent === "none") {
    // A problem told by voice in a single chat, without 报事: asked about, to open in the home group on 是.
    const told = stripMentions(msg.text.trim(), botNames).text.trim();
    const home = describesProblem(told) ? await voiceHomeChat(ctx, actor.person, msg.platform) : null;
    if (home) {
      await ask(ctx, actor, "report", { text: told, voiceHome: home.id }, CONFIRM_TTL_MS);
      return [replies.offerReport(CONFIRM_TTL_MS, home.name)];
    }
  }
  if (!atts.length && !msg.location && cmd.intent !== "report") return dispatch(msg.text);
  if (cmd.intent === "report") {
    // Voice reaches the bot only in a single chat: a voice 报事 opens in the reporter's home group (voice-report.ts).
    const home = msg.voice && !actor.chat && actor.person ? await voiceHomeChat(ctx, actor.person, msg.platform) : null;
    const out = await dispatch(msg.text, home ? { ...actor, chat: home } : actor);
    const ticketId = out.find((r) => r.ticketId !== undefined)?.ticketId;
    if (ticketId === undefined) return out;
    if (msg.voice) await markVoice(ctx, ticketId);
    const opened = home && actor.person ? await getTicket(ctx.db, ticketId) : null;
    if (home && actor.person && opened) {
      const matter = { home, person: actor.person, ticketId, unitId: opened.unitId, matter: cmd.body ?? "", opened: out };
      return postVoiceReport(ctx, matter);
    }
    const extra: Reply[] = [];
    if (atts.length) {
      await recordAttachments(ctx, atts, sent, { ticketId, role: "report" });
      extra.push(mediaReplies.received(atts.length));
    }
    if (msg.location && (await locateTicket(ctx, ticketId, msg.location, actor.person?.id ?? null))) extra.push(mediaReplies.located(ticketId));
    return appendTo(out, extra);
  }
  if (cmd.intent === "circular" && atts.length) {
    // With a 通知: posted to the notice's groups after its text, once kept (src/workflows/circulars/photos.ts).
    const out = await dispatch(msg.text);
    const circularId = out.find((r) => r.circularId !== undefined)?.circularId;
    if (circularId === undefined) return out;
    await attachToCircular(ctx, atts, sent, circularId);
    return appendTo(out, [mediaReplies.circularPhotos(atts.length)]);
  }
  if (cmd.intent === "resolve" && cmd.ticket !== null && atts.length) {
    const before = await getTicket(ctx.db, cmd.ticket);
    const out = await dispatch(msg.text);
    const after = await getTicket(ctx.db, cmd.ticket);
    if (before && after && before.status !== "resolved" && after.status === "resolved") {
      await recordAttachments(ctx, atts, sent, { ticketId: after.id, role: "result" });
      return appendTo(out, [mediaReplies.resultReceived(atts.length)]);
    }
    return appendTo(out, [mediaReplies.notUsed()]);
  }
  // Any other command still runs; its photo (or place) then follows the rules for a photo sent alone.
  const out = cmd.intent === "none" ? [] : await dispatch(msg.text);
  const target = await placeFor(ctx, actor, quotedTicket);
  if (target) {
    if (atts.length) await recordAttachments(ctx, atts, sent, { ticketId: target.id, role: "report" });
    const placed = msg.location ? await locateTicket(ctx, target.id, msg.location, actor.person?.id ?? null) : false;
    return [...out, ...(atts.length ? [mediaReplies.attached(target.id, atts.length)] : []), ...(placed ? [mediaReplies.located(target.id)] : [])];
  }
  if (!atts.length) return [...out, mediaReplies.placeWithoutReport()];
  // Alone, within 10 minutes after the sender's own 通知 (WeCom's single chat sends a picture as a message of its own).
  const circular = actor.person && cmd.intent === "none" ? await recentCircular(ctx, actor.person.id) : null;
  if (circular) {
    await attachToCircular(ctx, atts, sent, circular.id);
    return [...out, mediaReplies.circularAttached(circular.id, atts.length)];
  }
  if (!actor.chat) return [...out, mediaReplies.noReportHere()];
  // Rule 5: ask. The words sent with the photo (if they were not a command) become the report if the answer is 是.
  await holdPhotos(ctx, actor, atts, cmd.intent === "none" ? stripMentions(msg.text.trim(), botNames).text.trim() : "");
  return [...out, mediaReplies.ask(atts.length)];
}

/** The ticket a photo sent without 报事 / 办结 belongs to: the quoted one, else the sender's report just before. */
async function placeFor(ctx: Ctx, actor: Actor, quotedTicket: number | undefined): Promise<Ticket | null> {
  if (quotedTicket) {
    const t = await getTicket(ctx.db, quotedTicket);
    // Only a ticket of this chat (a quote is of a message the sender saw here); in a single chat, their own ticket.
    const mine = t && (actor.person ? t.reporterId === actor.person.id : t.reporterExternalId === actor.externalId);
    if (t && (actor.chat ? t.chatId === actor.chat.id : mine)) return t;
  }
  const reporter = { personId: actor.person?.id ?? null, externalId: actor.externalId };
  return recentReport(ctx, actor.chat?.id ?? null, reporter);
}

/** Add lines to the first reply (one message back to the chat, its ticket buttons kept). */
function appendTo(out: Reply[], extra: Reply[]): Reply[] {
  if (extra.length === 0) return out;
  const [first, ...rest] = out;
  if (!first) return extra;
  return [{ ...first, text: [first.text, ...extra.map((e) => e.text)].join("\n") }, ...rest];
}

