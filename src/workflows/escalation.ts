/**
 * The ladder 邻 → 组 → (片) → 村 → 镇: one code path for timed escalation (answer clock lapsed), 督办 (resolution
 * clock lapsed) and manual 上报. PostgreSQL holds the truth; a timer only wakes us up, and every action is a
 * compare-and-set on the ticket's version, so a late, early or doubled wake-up changes nothing twice.
 *
 * Many tickets go up together (a wake-up slot's, the reconciler's): their reads are one statement each, and their
 * compare-and-sets, 台账 events and outbox rows one statement in all (src/workflows/escalation-apply.ts). A single
 * manual 上报 is the same path with one ticket.
 */
import { eq, type SQL, sql } from "drizzle-orm";
import { type Db, queryRows } from "../db/client.js";
import { fromRow } from "../db/rows.js";
import { people, tickets } from "../db/schema/index.js";
import type { Ctx } from "./context.js";
import type { Leader, Person } from "./directory.js";
import { escalationDirect, type EscalationReason, escalationPing, topRePing } from "./notices.js";
import type { QueueMessage } from "./outbox.js";
import { deliverAfterQuietHours } from "./policy.js";
import { requestersOf } from "./requesters.js";
import { applyEscalations, type EscalationPlan } from "./escalation-apply.js";
import { deadlineJobId, holders, type Ladder, loadLadder, nextPlacement, runningDeadline, type Ticket, wakeSlot } from "./tickets.js";

export type EscalationOutcome =
  | { kind: "escalated"; ticket: Ticket; leaders: Leader[] }
  | { kind: "repinged"; ticket: Ticket; leaders: Leader[] }
  | { kind: "at_top"; ticket: Ticket }
  | { kind: "conflict" };

/** A ticket as read to move it up, with what its messages need: its kept photos and its reporter. */
export type EscalationInput = { t: Ticket; photos: number; reporter: Person | null };

/** One ticket to move up, with its ladder. */
export type EscalationRequest = EscalationInput & { ladder: Ladder; reason: EscalationReason; actorId: string | null; note?: string | null };

/**
 * Tickets to move up (those meeting `where`, in id order) with their photo counts, their reporters and the directory
 * version, in one statement: a slot's wave is read in one round trip.
 */
export async function readForEscalation(db: Db, where: SQL | undefined): Promise<{ inputs: EscalationInput[]; directoryVersion: number }> {
  const rows = await queryRows<Record<string, unknown> & { photos_kept: number; reporter_row: Record<string, unknown> | null; directory_version: string | number | null }>(
    db,
    sql`select tickets.*,
          (select count(*) from ticket_media m where m.ticket_id = tickets.id and m.status = 'stored')::int as photos_kept,
          to_jsonb(people) as reporter_row, (select version from directory_version where id = 1) as directory_version
        from tickets left join people on people.id = tickets.reporter_id
        where ${where} order by tickets.id`,
  );
  return {
    inputs: rows.map((r) => ({ t: fromRow(tickets, r), photos: Number(r.photos_kept), reporter: r.reporter_row ? fromRow(people, r.reporter_row) : null })),
    directoryVersion: Number(rows[0]?.directory_version ?? -1),
  };
}

/** Move a ticket one level up (or, at the top, re-ping the top leaders when the clock lapsed). */
export async function escalate(
  ctx: Ctx,
  t: Ticket,
  ladder: Ladder,
  reason: EscalationReason,
  actorId: string | null,
  note: string | null = null,
): Promise<EscalationOutcome> {
  const read = (await readForEscalation(ctx.db, eq(tickets.id, t.id))).inputs[0];
  const [out] = await escalateMany(ctx, [{ t, photos: read?.photos ?? 0, reporter: read?.reporter ?? null, ladder, reason, actorId, note }]);
  return out as EscalationOutcome;
}

/** A ticket's 台账 never runs backwards: a change is stamped no earlier than the ticket's last one (see getTicketToChange). */
const stepTime = (ctx: Ctx, t: Ticket) => (t.updatedAt.getTime() > ctx.now.getTime() ? t.updatedAt : ctx.now);

/** Move many tickets up at once; one outcome per request, in order. Each is its own compare-and-set. */
export async function escalateMany(ctx: Ctx, requests: EscalationRequest[]): Promise<EscalationOutcome[]> {
  const moving = requests.filter((r) => r.reason !== "manual" || nextPlacement(r.ladder, r.t.level));
  // Who asked is told when it goes up a level (a re-ping at the top only reminds the leaders).
  const told = new Map<number, Person[]>();
  for (const r of moving) if (nextPlacement(r.ladder, r.t.level)) told.set(r.t.id, await requestersOf(ctx.db, r.t, r.reporter));

  const plans = new Map<Ticket, EscalationPlan>();
  for (const r of moving) plans.set(r.t, plan(r, stepTime(ctx, r.t), r.t.chatId ? r.photos : 0, told.get(r.t.id) ?? []));
  const won = await applyEscalations(ctx, [...plans.values()]);
  return requests.map((r): EscalationOutcome => {
    const p = plans.get(r.t);
    if (!p) return { kind: "at_top", ticket: r.t };
    if (!won.has(r.t.id)) return { kind: "conflict" };
    return { kind: p.outcome, ticket: p.after, leaders: p.leaders };
  });
}

/** What one ticket's move changes, records and says: the rules of the ladder, no database. */
function plan(r: EscalationRequest, now: Date, photos: number, told: Person[]): EscalationPlan {
  const { t, ladder, reason } = r;
  const note = r.note ?? null;
  const next = nextPlacement(ladder, t.level);
  const urgent = t.urgency === "urgent";
  const pingAt = urgent ? now : deliverAfterQuietHours(ladder.policy, now);
  const messages: QueueMessage[] = [];

  if (!next) {
    // Never silent, never beyond the top: restart the clock and remind the top leaders again.
    const leaders = holders(ladder, t);
    // The clock starts when the leaders can hear about it: after quiet hours for a non-urgent ping.
    const dueAt = new Date(pingAt.getTime() + ladder.policy.repingMs);
    const after: Ticket = { ...t, status: "open", answerDueAt: dueAt, resolveDueAt: null, reminderCount: t.reminderCount + 1, version: t.version + 1, updatedAt: now };
    // Reminders count from 1 at the top; the escalations that brought it there are counted apart (上报次数).
    const round = after.reminderCount;
    if (t.chatId) {
      messages.push({
        dedupeKey: `reping-${t.id}-${after.version}`,
        to: { chatId: t.chatId },
        kind: "ping",
        payload: {
          text: topRePing({ ticketId: t.id, text: t.text, leaders, round, dueAt, now, tags: ladder.policy.sensitiveTags, photos }),
          mentions: leaders.map((p) => p.id),
          ticketId: t.id,
          actions: ["claim", "resolve"],
        },
        notBefore: pingAt,
      });
    }
    const event = { kind: "repinged" as const, actorId: null, fromStatus: t.status, toStatus: "open" as const, level: t.level, text: null, data: { reason, round } };
    return { before: t, after, now, outcome: "repinged", leaders, event, messages };
  }

  const dueAt = new Date(pingAt.getTime() + ladder.policy.answerMs);
  const after: Ticket = {
    ...t,
    status: "open",
    holderUnitId: next.unit.id,
    level: next.unit.kind,
    assigneeId: next.leaders[0]?.id ?? null,
    answerDueAt: dueAt,
    resolveDueAt: null,
    escalationCount: t.escalationCount + 1,
    version: t.version + 1,
    updatedAt: now,
  };
  const event = {
    kind: "escalated" as const,
    actorId: r.actorId,
    fromStatus: t.status,
    toStatus: "open" as const,
    level: next.unit.kind,
    text: note,
    data: { reason, from: t.level, to: next.unit.kind, unitId: next.unit.id },
  };
  const key = `esc-${t.id}-${after.version}`;
  if (t.chatId) {
    messages.push({
      dedupeKey: key,
      to: { chatId: t.chatId },
      kind: "ping",
      payload: {
        text: escalationPing({
          ticketId: t.id,
          text: t.text,
          from: t.level,
          to: next.unit.kind,
          reason,
          note,
          leaders: next.leaders,
          told,
          dueAt,
          now,
          tags: ladder.policy.sensitiveTags,
          photos,
        }),
        mentions: [...next.leaders.map((p) => p.id), ...told.map((p) => p.id)],
        ticketId: t.id,
        actions: ["claim", "resolve"],
      },
      notBefore: pingAt,
    });
  }
  for (const leader of next.leaders) {
    messages.push({
      dedupeKey: `${key}-dm-${leader.id}`,
      to: { personId: leader.id },
      kind: "ping",
      payload: { text: escalationDirect({ ticketId: t.id, text: t.text, dueAt, now }), mentions: [], ticketId: t.id },
      notBefore: pingAt,
    });
  }
  return { before: t, after, now, outcome: "escalated", leaders: next.leaders, event, messages };
}

export type DeadlineOutcome = "not_found" | "not_due" | "stale" | EscalationOutcome["kind"];

/**
 * A wake-up for a ticket's running clock. Acts only if the clock has really lapsed now; otherwise it asks for
 * the right timer again (the effects) and does nothing.
 */
export async function handleDeadline(ctx: Ctx, ticketId: number): Promise<DeadlineOutcome> {
  if (!Number.isInteger(ticketId) || ticketId <= 0 || ticketId > 2 ** 31 - 1) return "not_found";
  const { inputs } = await readForEscalation(ctx.db, eq(tickets.id, ticketId));
  return (await handleDeadlines(ctx, inputs)).get(ticketId) ?? "not_found";
}

/**
 * Wake-ups for many tickets' clocks at once (a slot's, the reconciler's), as read by readForEscalation: each acts as
 * handleDeadline would. The only write is applyEscalations' one statement, so this needs no transaction of its own:
 * if anything fails, nothing was written.
 */
export async function handleDeadlines(ctx: Ctx, inputs: EscalationInput[]): Promise<Map<number, DeadlineOutcome>> {
  const out = new Map<number, DeadlineOutcome>();
  const due: (EscalationInput & { reason: EscalationReason })[] = [];
  for (const input of inputs) {
    const { t } = input;
    const d = runningDeadline(t);
    if (!d) out.set(t.id, "stale");
    else if (d.dueAt.getTime() > stepTime(ctx, t).getTime()) {
      // Woken early (clocks differ between machines): set the timer again under a new id — the job that woke us is
      // still running, and a queue drops a job whose id it already holds.
      const jobId = deadlineJobId(t);
      if (jobId) ctx.effects.timers.push({ jobId: `${jobId}-again`, runAt: wakeSlot(d.dueAt) });
      out.set(t.id, "not_due");
    } else due.push({ ...input, reason: d.kind === "answer" ? "timeout" : "resolve_timeout" });
  }
  const ladders = new Map<string, Ladder>();
  for (const unitId of new Set(due.map((d) => d.t.unitId))) ladders.set(unitId, await loadLadder(ctx, unitId));
  const outcomes = await escalateMany(
    ctx,
    due.map((d) => ({ ...d, ladder: ladders.get(d.t.unitId) as Ladder, actorId: null })),
  );
  for (const [i, d] of due.entries()) out.set(d.t.id, (outcomes[i] as EscalationOutcome).kind);
  return out;
}
