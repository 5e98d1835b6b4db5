/**
 * Logging visits and contacts from chat. A match is logged at once; several matches wait for the leader's pick (a
 * pending question of kind "pick", per person and chat); no match is still logged, as "unmatched", for an admin to
 * resolve.
 * A note with a request (诉求：…) opens a ticket on behalf of the household through openTicket.
 */
import { and, eq } from "drizzle-orm";
import { type VisitChannel, type VisitKind, visits } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import { ask, type Question } from "../questions.js";
import { canLead, getHousehold, type Household, type Person, unitPath } from "../directory.js";
import { isLeader } from "../roles.js";
import { type Actor, type Done, openTicket } from "../ticket-commands.js";
import { MAX_CHOICES, matchHousehold, requesterIn } from "./match.js";
import { type CareStatus, careStatus, visitRulesFor } from "./rules.js";
import { historiesOf, townOf } from "./scope.js";

export type Visit = typeof visits.$inferSelect;
export type VisitInput = { kind: VisitKind; channel: VisitChannel; body: string };

/** How long a numbered choice list waits for the pick. */
export const CHOICE_TTL_MS = 30 * 60_000;

export type Logged = {
  ok: true;
  status: "matched";
  visit: Visit;
  household: Household;
  /** The household's standing right after this visit. */
  care: CareStatus;
  /** The ticket opened for a request in the note. */
  ticket: Done | null;
};
export type LogOutcome =
  | Logged
  | { ok: true; status: "unmatched"; visit: Visit; request: string | null }
  | { ok: true; status: "ambiguous"; kind: VisitKind; query: string; candidates: Household[] }
  | { ok: false; reason: "forbidden" }
  | { ok: false; reason: "too_many"; query: string; count: number };

/** `诉求：屋顶漏水` (or 訴求 / 需求) in a note: the request, up to the end of the note. */
const REQUEST = /(?:诉求|訴求|需求)\s*[：:]\s*([\s\S]+)$/u;
export const requestIn = (note: string | null) => (note ? (REQUEST.exec(note)?.[1]?.trim() ?? null) || null : null);

async function record(
  ctx: Ctx,
  actor: Actor,
  me: Person,
  input: { kind: VisitKind; channel: VisitChannel; query: string; note: string | null; chatId?: string | null },
  household: Household | null,
): Promise<LogOutcome> {
  const request = requestIn(input.note);
  const ticket = household && request ? await openTicket(ctx, actor, request, { household, requester: requesterIn(household, input.query) }) : null;
  const [visit] = await ctx.db
    .insert(visits)
    .values({
      householdId: household?.id ?? null,
      leaderId: me.id,
      unitId: household?.unitId ?? me.unitId,
      kind: input.kind,
      channel: input.channel,
      note: input.note,
      query: input.query,
      status: household ? "matched" : "unmatched",
      ticketId: ticket ? ticket.ticket.id : null,
      chatId: actor.chat?.id ?? input.chatId ?? null,
      at: ctx.now,
    })
    .returning();
  if (!visit) throw new Error("logVisit: insert returned nothing");
  if (!household) return { ok: true, status: "unmatched", visit, request };
  const town = await townOf(ctx.db, household.unitId);
  const rules = visitRulesFor(town?.settings);
  const history = (await historiesOf(ctx.db, [household], rules, ctx.now)).get(household.id);
  const care = careStatus(household.careLevel, history ?? { lastVisitAt: null, lastContactAt: null, lastVisitBeforePeriodAt: null }, rules, ctx.now);
  return { ok: true, status: "matched", visit, household, care, ticket };
}

/** `走访 <who> <情况>` / `电联 <who> <情况>`: only leaders log visits. */
export async function logVisit(ctx: Ctx, actor: Actor, input: VisitInput): Promise<LogOutcome> {
  const me = actor.person;
  if (!me || !isLeader(me.role)) return { ok: false, reason: "forbidden" };
  const m = await matchHousehold(ctx, me, input.body);
  const base = { kind: input.kind, channel: input.channel, query: m.query, note: m.note };
  if (m.candidates.length === 1) return record(ctx, actor, me, base, m.candidates[0] as Household);
  if (m.candidates.length === 0) return record(ctx, actor, me, base, null);
  if (m.candidates.length > MAX_CHOICES) return { ok: false, reason: "too_many", query: m.query, count: m.candidates.length };
  await offerChoices(ctx, actor, { purpose: "visit", ...base }, m.candidates);
  return { ok: true, status: "ambiguous", kind: input.kind, query: m.query, candidates: m.candidates };
}

/**
 * Several households matched: the numbered list waits for this person's pick in this chat (the latest list wins).
 * `purpose`: a visit to log, or a 代报 to open with `note` as its description.
 */
export async function offerChoices(
  ctx: Ctx,
  actor: Actor,
  what: { purpose: "visit" | "report"; kind: VisitKind; channel: VisitChannel; query: string; note: string | null },
  candidates: Household[],
): Promise<void> {
  const { kind, ...rest } = what;
  await ask(ctx, actor, "pick", { ...rest, visitKind: kind, candidates: candidates.map((h) => h.id) }, CHOICE_TTL_MS);
}

export type PickOutcome = LogOutcome | { ok: true; status: "reported"; ticket: Done };

/**
 * The pick, once its question is taken (src/bot/questions.ts checks `n` is on the list first): the `n`th (1-based)
 * household of the list logs the waiting visit, or opens the waiting 代报. Null when that household is gone.
 */
export async function pickHousehold(ctx: Ctx, actor: Actor, q: Question<"pick">, n: number): Promise<PickOutcome | null> {
  const me = actor.person;
  const id = q.about.candidates[n - 1];
  if (!me || !id) return null;
  const household = await getHousehold(ctx.db, id);
  const { purpose, visitKind, channel, query, note } = q.about;
  if (purpose === "report") {
    if (!household) return null;
    const ticket = await openTicket(ctx, actor, note ?? "", { household, requester: requesterIn(household, query) });
    return { ok: true, status: "reported", ticket };
  }
  // The visit belongs to the chat where it was written, even when the pick came by direct message.
  return record(ctx, actor, me, { kind: visitKind, channel, query, note, chatId: q.chatId }, household);
}

/**
 * An admin, or a leader over both the visit's unit and the household, ties an unmatched visit to the household it was
 * about. `by` is null for the deployment's administrator (signed in with the admin token, not a person).
 */
export async function resolveUnmatchedVisit(
  ctx: Ctx,
  by: Person | null,
  visitId: number,
  householdId: string,
): Promise<{ ok: true; visit: Visit } | { ok: false; reason: "not_found" | "forbidden" | "not_unmatched" }> {
  const [v] = await ctx.db.select().from(visits).where(eq(visits.id, visitId));
  const household = await getHousehold(ctx.db, householdId);
  if (!v || !household) return { ok: false, reason: "not_found" };
  if (v.status !== "unmatched") return { ok: false, reason: "not_unmatched" };
  if (by && !(canLead(by, await unitPath(ctx.db, v.unitId)) && canLead(by, await unitPath(ctx.db, household.unitId))))
    return { ok: false, reason: "forbidden" };
  const [updated] = await ctx.db
    .update(visits)
    .set({ householdId, unitId: household.unitId, status: "matched", resolvedById: by?.id ?? null, resolvedAt: ctx.now })
    .where(and(eq(visits.id, visitId), eq(visits.status, "unmatched")))
    .returning();
  return updated ? { ok: true, visit: updated } : { ok: false, reason: "not_unmatched" };
}
