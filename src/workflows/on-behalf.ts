/**
 * 代报: a leader relays a household's request (`代报 <户主或成员或门牌> <描述>`). The household is found the way 走访
 * finds it — own 邻 first, then the subtree: one match opens the ticket for it; several wait for a numbered pick
 * (the same list as 走访's); none asks again. It never guesses.
 */
import type { Ctx } from "./context.js";
import type { Household, Person } from "./directory.js";
import { type Actor, type Done, openTicket } from "./ticket-commands.js";
import { MAX_CHOICES, matchHousehold, requesterIn } from "./visits/match.js";
import { offerChoices } from "./visits/log.js";

export type OnBehalfOutcome =
  | { ok: true; status: "opened"; done: Done }
  | { ok: true; status: "ambiguous"; query: string; candidates: Household[] }
  | { ok: false; reason: "not_found"; query: string }
  | { ok: false; reason: "too_many"; query: string; count: number }
  | { ok: false; reason: "no_description"; query: string };

/** `body` is what follows 代报: who, then the description. The caller has checked `actor.person` is a leader. */
export async function reportOnBehalf(ctx: Ctx, actor: Actor, body: string): Promise<OnBehalfOutcome> {
  const me = actor.person as Person;
  const m = await matchHousehold(ctx, me, body);
  if (m.candidates.length === 0) return { ok: false, reason: "not_found", query: m.query };
  if (!m.note) return { ok: false, reason: "no_description", query: m.query };
  if (m.candidates.length > MAX_CHOICES) return { ok: false, reason: "too_many", query: m.query, count: m.candidates.length };
  if (m.candidates.length > 1) {
    await offerChoices(ctx, actor, { purpose: "report", kind: "visit", channel: "other", query: m.query, note: m.note }, m.candidates);
    return { ok: true, status: "ambiguous", query: m.query, candidates: m.candidates };
  }
  const household = m.candidates[0] as Household;
  return { ok: true, status: "opened", done: await openTicket(ctx, actor, m.note, { household, requester: requesterIn(household, m.query) }) };
}
