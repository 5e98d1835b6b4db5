/**
 * Writing escalations: every planned move's compare-and-set on the ticket's version, its 台账 event and its outbox
 * rows in one statement (a data-modifying CTE), however many tickets go up together. An event and a message are
 * written only for a ticket whose compare-and-set won, in the same statement, so in the same transaction; a ticket
 * someone else changed meanwhile is left alone (its caller reports a conflict).
 */
import { type Db, queryRows, sql } from "../db/client.js";
import type { TicketEventKind, TicketStatus, UnitKind } from "../db/schema/index.js";
import type { Ctx } from "./context.js";
import type { Leader } from "./directory.js";
import { outboxValues, type QueueMessage } from "./outbox.js";
import { rescheduleTimer, type Ticket } from "./tickets.js";

export type EscalationPlan = {
  /** The ticket as read; `after`: as the compare-and-set leaves it (version + 1, stamped `now`). */
  before: Ticket;
  after: Ticket;
  now: Date;
  outcome: "escalated" | "repinged";
  leaders: Leader[];
  event: {
    kind: TicketEventKind;
    actorId: string | null;
    fromStatus: TicketStatus;
    toStatus: TicketStatus;
    level: UnitKind;
    text: string | null;
    data: Record<string, unknown>;
  };
  messages: QueueMessage[];
};

/** Write the plans; returns the ids of the tickets whose compare-and-set won. */
export async function applyEscalations(ctx: Ctx, plans: EscalationPlan[]): Promise<Set<number>> {
  if (plans.length === 0) return new Set();
  // In id order, the order the rows are locked in (see handleDeadlines).
  const sorted = [...plans].sort((a, b) => a.before.id - b.before.id);
  const changes = sorted.map(({ before, after, now }) => ({
    id: before.id,
    version: before.version,
    at: now,
    status: after.status,
    holder_unit_id: after.holderUnitId,
    level: after.level,
    assignee_id: after.assigneeId,
    answer_due_at: after.answerDueAt,
    resolve_due_at: after.resolveDueAt,
    escalation_count: after.escalationCount,
    reminder_count: after.reminderCount,
  }));
  const events = sorted.map(({ before, now, event }, ord) => ({
    ord,
    ticket_id: before.id,
    at: now,
    actor_id: event.actorId,
    kind: event.kind,
    from_status: event.fromStatus,
    to_status: event.toStatus,
    level: event.level,
    text: event.text,
    data: event.data,
  }));
  const messages = sorted.flatMap(({ before, now, messages }) =>
    messages.map((m) => {
      const v = outboxValues(now, m);
      return {
        ticket_id: before.id,
        dedupe_key: v.dedupeKey,
        chat_id: v.chatId,
        person_id: v.personId,
        kind: v.kind,
        payload: v.payload,
        not_before: v.notBefore,
        created_at: v.createdAt,
      };
    }),
  ).map((m, ord) => ({ ord, ...m }));
  const rows = await writeEscalations(ctx.db, changes, events, messages);
  const won = new Set<number>();
  for (const r of rows) {
    if (r.ticket_id !== null) won.add(Number(r.ticket_id));
    else if (r.outbox_id !== null) ctx.effects.outbox.push({ id: Number(r.outbox_id), notBefore: new Date(r.not_before as string | Date) });
  }
  for (const p of sorted) if (won.has(p.before.id)) rescheduleTimer(ctx, p.before, p.after);
  return won;
}

type Written = { ticket_id: number | null; outbox_id: string | number | null; not_before: string | Date | null };

/** The one statement. Its text never changes (it is prepared once per connection); the rows are JSON parameters. */
function writeEscalations(db: Db, changes: unknown[], events: unknown[], messages: unknown[]): Promise<Written[]> {
  return queryRows<Written>(
    db,
    sql`with r as (
        select * from jsonb_to_recordset(${JSON.stringify(changes)}::jsonb) as r(id int, version int, at timestamptz,
          status text, holder_unit_id text, level text, assignee_id text, answer_due_at timestamptz,
          resolve_due_at timestamptz, escalation_count int, reminder_count int)),
      u as (update tickets t set status = r.status, holder_unit_id = r.holder_unit_id, level = r.level,
          assignee_id = r.assignee_id, answer_due_at = r.answer_due_at, resolve_due_at = r.resolve_due_at,
          escalation_count = r.escalation_count, reminder_count = r.reminder_count, version = t.version + 1,
          updated_at = r.at
        from r where t.id = r.id and t.version = r.version
        returning t.id),
      e as (insert into ticket_events (ticket_id, at, actor_id, kind, from_status, to_status, level, text, data)
        select x.ticket_id, x.at, x.actor_id, x.kind, x.from_status, x.to_status, x.level, x.text, x.data
        from jsonb_to_recordset(${JSON.stringify(events)}::jsonb) as x(ord int, ticket_id int, at timestamptz,
          actor_id text, kind text, from_status text, to_status text, level text, text text, data jsonb)
        join u on u.id = x.ticket_id order by x.ord),
      o as (insert into outbox (dedupe_key, chat_id, person_id, kind, payload, not_before, created_at)
        select m.dedupe_key, m.chat_id, m.person_id, m.kind, m.payload, m.not_before, m.created_at
        from jsonb_to_recordset(${JSON.stringify(messages)}::jsonb) as m(ord int, ticket_id int, dedupe_key text,
          chat_id text, person_id text, kind text, payload jsonb, not_before timestamptz, created_at timestamptz)
        join u on u.id = m.ticket_id order by m.ord
        on conflict (dedupe_key) do nothing
        returning id, not_before)
      select u.id as ticket_id, null::bigint as outbox_id, null::timestamptz as not_before from u
      union all select null, o.id, o.not_before from o`,
  );
}
