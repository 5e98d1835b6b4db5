/**
 * What people do to tickets from chat: open (报事, also 代报), claim, reply, resolve, rate and manual escalate.
 * Each runs inside the caller's transaction and writes its event row (the 台账) with the change. Results say
 * what happened; src/bot/replies.ts turns them into words.
 */
import { and, eq, inArray, or } from "drizzle-orm";
import { households, tickets } from "../db/schema/index.js";
import { queryRows, sql } from "../db/client.js";
import { subtreeCte, withRecursive } from "../db/unit-tree.js";
import { queueMessage } from "./outbox.js";
import { classify } from "./category.js";
import type { Ctx } from "./context.js";
import { canLead, type Chat, getHousehold, getPerson, type Household, type Leader, type Person } from "./directory.js";
import { escalate } from "./escalation.js";
import { reopenedNotice, reporterUpdate } from "./notices.js";
import { isRequester, requestersOf } from "./requesters.js";
import { DECISION_CATEGORY, resolveMsFor } from "./policy.js";
import {
  getTicket,
  getTicketToChange,
  holders,
  insertTicket,
  type Ladder,
  loadLadder,
  nextPlacement,
  recordEvent,
  rescheduleTimer,
  type Ticket,
  updateTicket,
} from "./tickets.js";

/**
 * Who is acting, from where. `person` is null for a platform user not in the directory. `household`, when the
 * caller already looked it up (the message path does, with the sender), saves reading it again.
 */
export type Actor = { person: Person | null; externalId: string; chat: Chat | null; household?: Household | null };

type Refusal =
  | { ok: false; reason: "not_found"; ticketId: number }
  | { ok: false; reason: "forbidden"; ticket: Ticket; need: "leader" | "reporter" }
  | { ok: false; reason: "finished"; ticket: Ticket }
  | { ok: false; reason: "taken"; ticket: Ticket; by: Person | null }
  | { ok: false; reason: "not_resolved"; ticket: Ticket }
  | { ok: false; reason: "at_top"; ticket: Ticket };

/**
 * What a command did. `reporter`: who sent the report (for 代报, the relaying leader, 经办人). `requesters`: whose
 * request it is — who hears its progress and is asked to rate it (see requesters.ts). `household`: the 诉求户 of a
 * 代报 ticket. `assignee`: who is responsible now (the claimer once claimed).
 */
export type Done = {
  ok: true;
  ticket: Ticket;
  holders: Leader[];
  reporter: Person | null;
  requesters: Person[];
  household: Household | null;
  assignee: Leader | null;
  /** The town's extra sensitive words, for the replies that show the ticket's text (see forGroup). */
  tags: readonly string[];
};
export type CommandResult = Done | Refusal;

/** The result of a command; `actor` is the person acting (read in this transaction), reused when they are the reporter. */
async function done(ctx: Ctx, t: Ticket, ladder: Ladder, actor: Person | null): Promise<Done> {
  const known = (id: string | null) => (!id ? null : actor?.id === id ? actor : undefined);
  const reporter = known(t.reporterId) ?? (t.reporterId ? await getPerson(ctx.db, t.reporterId) : null);
  const leaders = holders(ladder, t);
  const assignee =
    known(t.assigneeId) ?? leaders.find((p) => p.id === t.assigneeId) ?? (t.assigneeId ? await getPerson(ctx.db, t.assigneeId) : null);
  const household = t.onBehalf && t.householdId ? await getHousehold(ctx.db, t.householdId) : null;
  const requesters = await requestersOf(ctx.db, t, reporter);
  return { ok: true, ticket: t, holders: leaders, reporter, requesters, household, assignee, tags: ladder.policy.sensitiveTags };
}

/**
 * A meeting's decision to be carried out (议定事项): opened at `unitId` (the meeting's unit, or the 邻 of the leader it
 * names), held by `assigneeId` when that leader holds the level, with a resolution deadline of its own when it gave one.
 */
export type Decision = { meetingId: number; unitId: string; resolveBy: Date | null; assigneeId?: string };

/**
 * Opens a ticket. `opts.household`: a leader opens it on behalf of that household (代报, or a request found on a
 * visit), the caller having matched the household within the leader's reach; `opts.requester` is the name the
 * leader gave (a head's or member's). Same routing, clocks and ladder as any report; the text is used as written.
 */
export async function openTicket(
  ctx: Ctx,
  actor: Actor,
  text: string,
  opts: { household?: Household; requester?: string | null; decision?: Decision } = {},
): Promise<Done> {
  let household: Household | null = opts.household ?? null;
  const onBehalf = household !== null;
  const decision = opts.decision;
  if (household || decision) {
    // Given by the caller, who has checked the actor may act for it.
  } else if (actor.household !== undefined) {
    household = actor.household;
  } else if (actor.person?.householdId) {
    household = await getHousehold(ctx.db, actor.person.householdId);
  }

  const unitId = decision?.unitId ?? household?.unitId ?? actor.chat?.unitId ?? actor.person?.unitId;
  if (!unitId) throw new Error("openTicket: no unit to route to");
  const ladder = await loadLadder(ctx, unitId);
  const origin = ladder.path[0];
  if (!origin) throw new Error(`openTicket: unknown unit ${unitId}`);
  const place = nextPlacement(ladder, null);
  const classified = decision ? { category: DECISION_CATEGORY, urgent: false } : classify(text, ladder.policy.categories);
  const { category } = classified;
  // Urgent is decided once, here: by its words or by a category the town marks urgent.
  const urgent = classified.urgent || ladder.policy.urgentCategories.includes(category);
  const named = decision?.assigneeId ? place?.leaders.find((p) => p.id === decision.assigneeId) : undefined;

  const row = {
    reporter_id: actor.person?.id ?? null,
    reporter_external_id: actor.person ? null : actor.externalId,
    household_id: household?.id ?? null,
    on_behalf: onBehalf,
    requester_name: onBehalf ? (opts.requester ?? household?.headName ?? null) : null,
    chat_id: actor.chat?.id ?? null,
    unit_id: origin.id,
    holder_unit_id: place?.unit.id ?? origin.id,
    level: place?.unit.kind ?? origin.kind,
    category,
    urgency: urgent ? "urgent" : "normal",
    text,
    kind: decision ? "decision" : "report",
    meeting_id: decision?.meetingId ?? null,
    resolve_by: decision?.resolveBy ?? null,
    status: "open",
    assignee_id: named?.id ?? place?.leaders[0]?.id ?? null,
    answer_due_at: new Date(ctx.now.getTime() + ladder.policy.answerMs),
    given_answer_due_at: new Date(ctx.now.getTime() + ladder.policy.answerMs),
    created_at: ctx.now,
    updated_at: ctx.now,
  };
  // The answer clock this ticket was given, in its 台账 (and on the row, given_answer_due_at): scorecards and the
  // per-unit table judge it by this, not by today's policy.
  const data = {
    answerDueAt: row.answer_due_at.toISOString(),
    ...(household ? { householdId: household.id, onBehalf } : {}),
    ...(decision ? { meetingId: decision.meetingId, resolveBy: decision.resolveBy?.toISOString() ?? null } : {}),
  };
  const t = await insertTicket(ctx.db, row, data);
  rescheduleTimer(ctx, null, t);
  return done(ctx, t, ladder, actor.person);
}

/** Load a ticket and check the actor leads its unit (or above). */
async function forLeader(ctx: Ctx, actor: Actor, id: number): Promise<{ t: Ticket; ladder: Ladder } | Refusal> {
  const t = await getTicketToChange(ctx, id);
  if (!t) return { ok: false, reason: "not_found", ticketId: id };
  const ladder = await loadLadder(ctx, t.unitId);
  if (!canLead(actor.person, ladder.path)) return refuseTo(ctx, actor, t, "leader");
  return { t, ladder };
}

const isRefusal = (x: unknown): x is Refusal => typeof x === "object" && x !== null && "ok" in x;

async function takenBy(ctx: Ctx, id: number): Promise<Refusal> {
  const now = (await getTicket(ctx.db, id)) as Ticket;
  if (now.status === "resolved" || now.status === "closed") return { ok: false, reason: "finished", ticket: now };
  return { ok: false, reason: "taken", ticket: now, by: now.assigneeId ? await getPerson(ctx.db, now.assigneeId) : null };
}

/** The answer: stops the answer clock and starts the resolution clock. */
function answerChange(ctx: Ctx, t: Ticket, ladder: Ladder, assigneeId: string) {
  const urgent = t.urgency === "urgent";
  return {
    status: "answered" as const,
    assigneeId,
    answeredAt: ctx.now,
    firstAnsweredAt: t.firstAnsweredAt ?? ctx.now,
    answerDueAt: null,
    // A deadline fixed when it was opened (a meeting's 议定 … 12月31日前) holds while it is still ahead.
    resolveDueAt:
      t.resolveBy && t.resolveBy.getTime() > ctx.now.getTime()
        ? t.resolveBy
        : new Date(ctx.now.getTime() + resolveMsFor(ladder.policy, t.category, urgent)),
  };
}

/** CAS lost to a concurrent change: read the ticket again and decide afresh. */
const RETRY = Symbol("retry");
type Attempt = CommandResult | typeof RETRY;

/** A leader's command on a ticket, retried when a concurrent change (a timer, another leader) got in first. */
async function leaderCommand(
  ctx: Ctx,
  actor: Actor,
  id: number,
  act: (t: Ticket, ladder: Ladder, me: Person) => Promise<Attempt>,
): Promise<CommandResult> {
  for (let i = 0; i < 5; i++) {
    const got = await forLeader(ctx, actor, id);
    if (isRefusal(got)) return got;
    const out = await act(got.t, got.ladder, actor.person as Person);
    if (out !== RETRY) return out;
  }
  return takenBy(ctx, id);
}

export function claimTicket(ctx: Ctx, actor: Actor, id: number): Promise<CommandResult> {
  return leaderCommand(ctx, actor, id, async (t, ladder, me) => {
    if (t.status !== "open") return takenBy(ctx, id);
    const updated = await updateTicket(ctx, t, answerChange(ctx, t, ladder, me.id));
    if (!updated) return RETRY;
    await recordEvent(ctx, t, { kind: "claimed", actorId: me.id, toStatus: "answered" });
    rescheduleTimer(ctx, t, updated);
    return done(ctx, updated, ladder, actor.person);
  });
}

/**
 * Tell the reporter in the ticket's own chat when the actor is elsewhere (a DM, another group). The leader's words
 * were not written for the group and may hold a phone or an address: reporterUpdate puts them through forGroup.
 */
async function tellReporterElsewhere(
  ctx: Ctx,
  actor: Actor,
  t: Ticket,
  ladder: Ladder,
  update: { by: string; kind: "reply" | "resolve"; words: string },
): Promise<void> {
  if (!t.chatId || actor.chat?.id === t.chatId) return;
  const reporter = t.reporterId ? await getPerson(ctx.db, t.reporterId) : null;
  const told = await requestersOf(ctx.db, t, reporter);
  await queueMessage(ctx, {
    dedupeKey: `upd-${t.id}-${t.version}`,
    to: { chatId: t.chatId },
    kind: "notice",
    payload: {
      text: reporterUpdate({ ticketId: t.id, told, ...update, tags: ladder.policy.sensitiveTags }),
      mentions: told.map((p) => p.id),
      ticketId: t.id,
    },
  });
}

export function replyTicket(ctx: Ctx, actor: Actor, id: number, text: string): Promise<CommandResult> {
  return leaderCommand(ctx, actor, id, async (t, ladder, me) => {
    if (t.status === "resolved" || t.status === "closed") return { ok: false, reason: "finished", ticket: t };
    const change = t.status === "open" ? answerChange(ctx, t, ladder, me.id) : {};
    const updated = await updateTicket(ctx, t, change);
    if (!updated) return RETRY;
    await recordEvent(ctx, t, { kind: "replied", actorId: me.id, toStatus: updated.status, text });
    rescheduleTimer(ctx, t, updated);
    await tellReporterElsewhere(ctx, actor, updated, ladder, { by: me.name, kind: "reply", words: text });
    return done(ctx, updated, ladder, actor.person);
  });
}

export function resolveTicket(ctx: Ctx, actor: Actor, id: number, result: string): Promise<CommandResult> {
  return leaderCommand(ctx, actor, id, async (t, ladder, me) => {
    if (t.status === "resolved" || t.status === "closed") return { ok: false, reason: "finished", ticket: t };
    const updated = await updateTicket(ctx, t, {
      status: "resolved",
      assigneeId: t.assigneeId ?? me.id,
      firstAnsweredAt: t.firstAnsweredAt ?? ctx.now,
      resolvedAt: ctx.now,
      answerDueAt: null,
      resolveDueAt: null,
      rating: null,
    });
    if (!updated) return RETRY;
    await recordEvent(ctx, t, { kind: "resolved", actorId: me.id, toStatus: "resolved", text: result });
    rescheduleTimer(ctx, t, updated);
    await tellReporterElsewhere(ctx, actor, updated, ladder, { by: me.name, kind: "resolve", words: result });
    return done(ctx, updated, ladder, actor.person);
  });
}

export async function rateTicket(
  ctx: Ctx,
  actor: Actor,
  id: number,
  satisfied: boolean,
  reason: string | null,
): Promise<CommandResult> {
  const t = await getTicketToChange(ctx, id);
  if (!t) return { ok: false, reason: "not_found", ticketId: id };
  if (!(await isRequester(ctx.db, actor, t))) return refuseTo(ctx, actor, t, "reporter");
  if (t.status !== "resolved") return { ok: false, reason: "not_resolved", ticket: t };
  const ladder = await loadLadder(ctx, t.unitId);
  const updated = await updateTicket(
    ctx,
    t,
    satisfied
      ? { status: "closed", rating: "satisfied", closedAt: ctx.now }
      : {
          status: "open",
          rating: "unsatisfied",
          resolvedAt: null,
          reopenCount: t.reopenCount + 1,
          answerDueAt: new Date(ctx.now.getTime() + ladder.policy.answerMs),
        },
  );
  if (!updated) return { ok: false, reason: "not_resolved", ticket: (await getTicket(ctx.db, id)) as Ticket };
  await recordEvent(ctx, t, {
    kind: satisfied ? "rated" : "reopened",
    actorId: actor.person?.id ?? null,
    toStatus: updated.status,
    text: reason,
    data: { satisfied },
  });
  rescheduleTimer(ctx, t, updated);
  if (!satisfied && t.chatId && actor.chat?.id !== t.chatId) {
    const leaders = holders(ladder, updated);
    await queueMessage(ctx, {
      dedupeKey: `reopen-${t.id}-${updated.version}`,
      to: { chatId: t.chatId },
      kind: "notice",
      payload: {
        text: reopenedNotice({
          ticketId: t.id,
          reason,
          leaders,
          dueAt: updated.answerDueAt as Date,
          now: ctx.now,
          tags: ladder.policy.sensitiveTags,
        }),
        mentions: leaders.map((p) => p.id),
        ticketId: t.id,
      },
    });
  }
  return done(ctx, updated, ladder, actor.person);
}

export function escalateTicket(ctx: Ctx, actor: Actor, id: number, reason: string): Promise<CommandResult> {
  return leaderCommand(ctx, actor, id, async (t, ladder) => {
    if (t.status === "resolved" || t.status === "closed") return { ok: false, reason: "finished", ticket: t };
    const out = await escalate(ctx, t, ladder, "manual", actor.person?.id ?? null, reason);
    if (out.kind === "at_top") return { ok: false, reason: "at_top", ticket: t };
    if (out.kind === "conflict") return RETRY;
    return done(ctx, out.ticket, ladder, actor.person);
  });
}

/** A 待办 list and the sensitive words of the town it is shown in (see forGroup). */
/** `households`: the 诉求户 (head's name) of each 代报 ticket in the list, by household id. */
export type TodoList = { tickets: Ticket[]; tags: readonly string[]; households: ReadonlyMap<string, string> };

/** Tickets a person should look at: a leader's open ones (assigned or held by their unit), a resident's own. */
export async function todoList(ctx: Ctx, actor: Actor): Promise<TodoList> {
  const unitId = actor.chat?.unitId ?? actor.person?.unitId;
  const tags = unitId ? (await loadLadder(ctx, unitId)).policy.sensitiveTags : [];
  const list = await todoTickets(ctx, actor);
  const ids = [...new Set(list.flatMap((t) => (t.onBehalf && t.householdId ? [t.householdId] : [])))];
  const rows = ids.length
    ? await ctx.db.select({ id: households.id, head: households.headName }).from(households).where(inArray(households.id, ids))
    : [];
  return { tickets: list, tags, households: new Map(rows.map((r) => [r.id, r.head])) };
}

async function todoTickets(ctx: Ctx, actor: Actor): Promise<Ticket[]> {
  const p = actor.person;
  const active = inArray(tickets.status, ["open", "answered"]);
  if (p && p.role !== "resident") {
    return ctx.db
      .select()
      .from(tickets)
      .where(and(active, or(eq(tickets.assigneeId, p.id), eq(tickets.holderUnitId, p.unitId))))
      .orderBy(tickets.answerDueAt, tickets.id)
      .limit(20);
  }
  // A resident's own reports, and the 代报 tickets of their household.
  const mine = p
    ? p.householdId
      ? or(eq(tickets.reporterId, p.id), and(eq(tickets.onBehalf, true), eq(tickets.householdId, p.householdId)))
      : eq(tickets.reporterId, p.id)
    : eq(tickets.reporterExternalId, actor.externalId);
  return ctx.db
    .select()
    .from(tickets)
    .where(and(mine, inArray(tickets.status, ["open", "answered", "resolved"])))
    .orderBy(tickets.id)
    .limit(20);
}

/** Anyone in the ticket's chat, its reporter or requesters, or a leader over its unit may see its status. */
export async function ticketStatus(ctx: Ctx, actor: Actor, id: number): Promise<CommandResult> {
  const t = await getTicket(ctx.db, id);
  if (!t) return { ok: false, reason: "not_found", ticketId: id };
  const ladder = await loadLadder(ctx, t.unitId);
  const allowed =
    (actor.chat && actor.chat.id === t.chatId) ||
    reportedBy(actor, t) ||
    (await isRequester(ctx.db, actor, t)) ||
    canLead(actor.person, ladder.path);
  if (!allowed) return { ok: false, reason: "not_found", ticketId: id };
  return done(ctx, t, ladder, actor.person);
}

const reportedBy = (actor: Actor, t: Ticket) =>
  actor.person ? t.reporterId === actor.person.id : t.reporterExternalId === actor.externalId;

/**
 * A refusal that tells nothing about a ticket the actor may not even see (another village's, say): it answers
 * exactly as for a ticket that does not exist. Only someone who can see the ticket — in its chat, or its reporter —
 * learns that it needs a leader or its reporter.
 */
async function refuseTo(ctx: Ctx, actor: Actor, t: Ticket, need: "leader" | "reporter"): Promise<Refusal> {
  const sees = (actor.chat !== null && actor.chat.id === t.chatId) || reportedBy(actor, t) || (await isRequester(ctx.db, actor, t));
  return sees ? { ok: false, reason: "forbidden", ticket: t, need } : { ok: false, reason: "not_found", ticketId: t.id };
}

/**
 * A leader's tickets asked about in a group: those of the group's unit (or below) may be shown there, the rest only
 * to the leader privately — a village official's list must not show one group another group's matters.
 */
export async function splitForChat(ctx: Ctx, chat: Chat, list: Ticket[]): Promise<{ here: Ticket[]; elsewhere: Ticket[] }> {
  if (list.length === 0) return { here: [], elsewhere: [] };
  const rows = await queryRows<{ unit_id: string }>(ctx.db, sql`${withRecursive(subtreeCte("below", chat.unitId))} select unit_id from below`);
  const below = new Set(rows.map((r) => r.unit_id));
  const here = list.filter((t) => t.chatId === chat.id || below.has(t.unitId));
  return { here, elsewhere: list.filter((t) => !here.includes(t)) };
}
