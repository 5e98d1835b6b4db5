/**
 * The ladder 邻 → 组 → (片) → 村 → 镇: one code path for timed escalation (answer clock lapsed), 督办 (resolution
 * clock lapsed) and manual 上报. PostgreSQL holds the truth; a timer only wakes us up, and every action is a
 * compare-and-set on the ticket's version, so a late, early or doubled wake-up changes nothing twice.
 */
import type { Ctx } from "./context.js";
import { getPerson, type Leader } from "./directory.js";
import { photoCounts } from "./media/attach.js";
import { escalationDirect, type EscalationReason, escalationPing, topRePing } from "./notices.js";
import { queueMessage } from "./outbox.js";
import { deliverAfterQuietHours } from "./policy.js";
import { requestersOf } from "./requesters.js";
import {
  deadlineJobId,
  getTicketToChange,
  holders,
  type Ladder,
  loadLadder,
  nextPlacement,
  recordEvent,
  rescheduleTimer,
  runningDeadline,
  type Ticket,
  updateTicket,
  wakeSlot,
} from "./tickets.js";

export type EscalationOutcome =
  | { kind: "escalated"; ticket: Ticket; leaders: Leader[] }
  | { kind: "repinged"; ticket: Ticket; leaders: Leader[] }
  | { kind: "at_top"; ticket: Ticket }
  | { kind: "conflict" };

/** Move a ticket one level up (or, at the top, re-ping the top leaders when the clock lapsed). */
export async function escalate(
  ctx: Ctx,
  t: Ticket,
  ladder: Ladder,
  reason: EscalationReason,
  actorId: string | null,
  note: string | null = null,
): Promise<EscalationOutcome> {
  const next = nextPlacement(ladder, t.level);
  const urgent = t.urgency === "urgent";
  const photos = t.chatId ? ((await photoCounts(ctx, [t.id])).get(t.id) ?? 0) : 0;
  const pingAt = urgent ? ctx.now : deliverAfterQuietHours(ladder.policy, ctx.now);

  if (!next) {
    if (reason === "manual") return { kind: "at_top", ticket: t };
    // Never silent, never beyond the top: restart the clock and remind the top leaders again.
    const leaders = holders(ladder, t);
    // The clock starts when the leaders can hear about it: after quiet hours for a non-urgent ping.
    const dueAt = new Date(pingAt.getTime() + ladder.policy.repingMs);
    const updated = await updateTicket(ctx, t, {
      status: "open",
      answerDueAt: dueAt,
      resolveDueAt: null,
      reminderCount: t.reminderCount + 1,
    });
    if (!updated) return { kind: "conflict" };
    // Reminders count from 1 at the top; the escalations that brought it there are counted apart (上报次数).
    const round = updated.reminderCount;
    await recordEvent(ctx, t, { kind: "repinged", actorId: null, toStatus: "open", data: { reason, round } });
    if (t.chatId) {
      await queueMessage(ctx, {
        dedupeKey: `reping-${t.id}-${updated.version}`,
        to: { chatId: t.chatId },
        kind: "ping",
        payload: {
          text: topRePing({ ticketId: t.id, text: t.text, leaders, round, dueAt, now: ctx.now, tags: ladder.policy.sensitiveTags, photos }),
          mentions: leaders.map((p) => p.id),
          ticketId: t.id,
          actions: ["claim", "resolve"],
        },
        notBefore: pingAt,
      });
    }
    rescheduleTimer(ctx, t, updated);
    return { kind: "repinged", ticket: updated, leaders };
  }

  const dueAt = new Date(pingAt.getTime() + ladder.policy.answerMs);
  const updated = await updateTicket(ctx, t, {
    status: "open",
    holderUnitId: next.unit.id,
    level: next.unit.kind,
    assigneeId: next.leaders[0]?.id ?? null,
    answerDueAt: dueAt,
    resolveDueAt: null,
    escalationCount: t.escalationCount + 1,
  });
  if (!updated) return { kind: "conflict" };
  await recordEvent(ctx, t, {
    kind: "escalated",
    actorId,
    toStatus: "open",
    level: next.unit.kind,
    text: note,
    data: { reason, from: t.level, to: next.unit.kind, unitId: next.unit.id },
  });

  const reporter = t.reporterId ? await getPerson(ctx.db, t.reporterId) : null;
  const told = await requestersOf(ctx.db, t, reporter);
  const key = `esc-${t.id}-${updated.version}`;
  if (t.chatId) {
    await queueMessage(ctx, {
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
          now: ctx.now,
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
    await queueMessage(ctx, {
      dedupeKey: `${key}-dm-${leader.id}`,
      to: { personId: leader.id },
      kind: "ping",
      payload: { text: escalationDirect({ ticketId: t.id, text: t.text, dueAt, now: ctx.now }), mentions: [], ticketId: t.id },
      notBefore: pingAt,
    });
  }
  rescheduleTimer(ctx, t, updated);
  return { kind: "escalated", ticket: updated, leaders: next.leaders };
}

export type DeadlineOutcome = "not_found" | "not_due" | "stale" | EscalationOutcome["kind"];

/**
 * A wake-up for a ticket's running clock. Acts only if the clock has really lapsed now; otherwise it asks for
 * the right timer again (the effects) and does nothing.
 */
export async function handleDeadline(ctx: Ctx, ticketId: number): Promise<DeadlineOutcome> {
  const t = await getTicketToChange(ctx, ticketId);
  if (!t) return "not_found";
  const d = runningDeadline(t);
  if (!d) return "stale";
  if (d.dueAt.getTime() > ctx.now.getTime()) {
    // Woken early (clocks differ between machines): set the timer again under a new id — the job that woke us is
    // still running, and a queue drops a job whose id it already holds.
    const jobId = deadlineJobId(t);
    if (jobId) ctx.effects.timers.push({ jobId: `${jobId}-again`, runAt: wakeSlot(d.dueAt) });
    return "not_due";
  }
  const ladder = await loadLadder(ctx, t.unitId);
  const outcome = await escalate(ctx, t, ladder, d.kind === "answer" ? "timeout" : "resolve_timeout", null);
  return outcome.kind;
}
