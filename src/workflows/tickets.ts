/** The ticket model: inserting and loading, the compare-and-set update every change goes through, events, the wake-up slots, and the ladder. */
import { and, eq, sql } from "drizzle-orm";
import { type Db, queryRows } from "../db/client.js";
import { fromRow } from "../db/rows.js";
import { coalesceOn } from "../lib/coalesce.js";
import { type TicketEventKind, type TicketStatus, ticketEvents, tickets, type UnitKind } from "../db/schema/index.js";
import type { Ctx } from "./context.js";
import { type Leader, type PathUnit, unitPathWithLeaders } from "./directory.js";
import { type Policy, policyFor } from "./policy.js";

export type Ticket = typeof tickets.$inferSelect;
export type TicketChange = Partial<Omit<typeof tickets.$inferInsert, "id" | "version">>;

export async function getTicket(db: Db, id: number): Promise<Ticket | null> {
  if (!Number.isInteger(id) || id <= 0 || id > 2 ** 31 - 1) return null;
  const [t] = await db.select().from(tickets).where(eq(tickets.id, id)).limit(1);
  return t ?? null;
}

type NewTicket = { row: Record<string, unknown>; data: Record<string, unknown> | null };

/**
 * New tickets and their "opened" events, many in one statement: the reports of a batch of messages run side by side
 * on one transaction, and their inserts made in the same turn go out together (see coalesceOn). The statement's text
 * never changes, so it is prepared once per connection; the rows travel as one JSON parameter.
 */
const TICKET_INSERTS = Symbol("ticketInserts");

/** Insert a new ticket (a row of snake_case columns) with its "opened" event (`data` on the event). */
export async function insertTicket(db: Db, row: Record<string, unknown>, data: Record<string, unknown> | null): Promise<Ticket> {
  const inserts = coalesceOn<NewTicket, Record<string, unknown>>(db, TICKET_INSERTS, (items) => insertTickets(db, items));
  return fromRow(tickets, await inserts.add({ row, data }));
}

async function insertTickets(db: Db, items: NewTicket[]): Promise<Record<string, unknown>[]> {
  const columns = Object.keys(items[0]?.row ?? {});
  const list = sql.raw(columns.join(", "));
  const fromP = sql.raw(columns.map((c) => `p.${c}`).join(", "));
  const rows = await queryRows<Record<string, unknown> & { ord: string | number }>(
    db,
    sql`with r as (select nextval('tickets_id_seq') as id, e.ord, e.j
          from jsonb_array_elements(${JSON.stringify(items)}::jsonb) with ordinality as e(j, ord)),
      t as (insert into tickets (id, ${list})
        select r.id, ${fromP} from r cross join lateral jsonb_populate_record(null::tickets, r.j -> 'row') as p
        order by r.ord returning *),
      e as (insert into ticket_events (ticket_id, at, actor_id, kind, from_status, to_status, level, text, data)
        select t.id, t.created_at, t.reporter_id, 'opened', null, t.status, t.level, t.text, nullif(r.j -> 'data', 'null'::jsonb)
        from t join r on r.id = t.id order by t.id)
      select r.ord, t.* from t join r on r.id = t.id order by r.ord`,
  );
  if (rows.length !== items.length) throw new Error(`insertTicket: ${rows.length} tickets inserted for ${items.length}`);
  return rows;
}

/**
 * Read a ticket in order to change it. A ticket's 台账 never runs backwards: when its last change is stamped later
 * than this step's clock (a concurrent change this step waited for and lost to, or a replica whose clock runs
 * ahead), this step's time moves up to it, so its change and event come after in time as they do in fact.
 */
export async function getTicketToChange(ctx: Ctx, id: number): Promise<Ticket | null> {
  const t = await getTicket(ctx.db, id);
  if (t && t.updatedAt.getTime() > ctx.now.getTime()) ctx.now = t.updatedAt;
  return t;
}

/**
 * Apply a change only if nobody changed the ticket since it was read (same version). Returns the new row, or
 * null when someone else won: the caller re-reads and tells the person what happened instead.
 */
export async function updateTicket(ctx: Ctx, t: Ticket, change: TicketChange): Promise<Ticket | null> {
  const [row] = await ctx.db
    .update(tickets)
    .set({ ...change, version: sql`${tickets.version} + 1`, updatedAt: ctx.now })
    .where(and(eq(tickets.id, t.id), eq(tickets.version, t.version)))
    .returning();
  return row ?? null;
}

export async function recordEvent(
  ctx: Ctx,
  t: Ticket,
  e: {
    kind: TicketEventKind;
    actorId: string | null;
    fromStatus?: TicketStatus | null;
    toStatus?: TicketStatus;
    level?: UnitKind;
    text?: string | null;
    data?: Record<string, unknown>;
  },
): Promise<void> {
  await ctx.db.insert(ticketEvents).values({
    ticketId: t.id,
    at: ctx.now,
    actorId: e.actorId,
    kind: e.kind,
    fromStatus: e.fromStatus === undefined ? t.status : e.fromStatus,
    toStatus: e.toStatus ?? t.status,
    level: e.level ?? t.level,
    text: e.text ?? null,
    data: e.data ?? null,
  });
}

export type Deadline = { kind: "answer" | "resolve"; dueAt: Date };

/** The clock that is running for a ticket, if any. */
export function runningDeadline(t: Ticket): Deadline | null {
  if (t.status === "open" && t.answerDueAt) return { kind: "answer", dueAt: t.answerDueAt };
  if (t.status === "answered" && t.resolveDueAt) return { kind: "resolve", dueAt: t.resolveDueAt };
  return null;
}

/**
 * Deadlines are woken in slots of this width: every clock lapsing within one slot shares one wake-up job, set for the
 * slot's end. A busy town opens many tickets a second, all due within moments of each other; one delayed job per slot
 * instead of one per ticket keeps Redis off the message path, and a wake-up is at most this much late.
 */
export const WAKE_SLOT_MS = 100;

/** The end of the wake-up slot a clock lapsing at `dueAt` falls in (never before `dueAt`). */
export function wakeSlot(dueAt: Date): Date {
  return new Date(Math.ceil(dueAt.getTime() / WAKE_SLOT_MS) * WAKE_SLOT_MS);
}

/** The wake-up job for a slot: a deterministic id (no ':' and never digits only), shared by every replica. */
export function wakeJobId(slot: Date): string {
  return `wake-${slot.getTime()}`;
}

/** The job that wakes a slot's deadlines: what the deadlines queue carries, from the message path or the reconciler. */
export type WakeJob = { jobId: string; payload: { slot: number }; runAt: Date };
export const wakeJob = (slot: Date, jobId = wakeJobId(slot)): WakeJob => ({ jobId, payload: { slot: slot.getTime() }, runAt: slot });

/** The wake-up job covering a ticket's running clock, if any. */
export function deadlineJobId(t: Ticket): string | null {
  const d = runningDeadline(t);
  return d ? wakeJobId(wakeSlot(d.dueAt)) : null;
}

/**
 * After a change: make sure the wake-up slot of the new clock is set. The old clock's slot is left alone (other
 * tickets share it); when it fires, this ticket's clock is no longer in it and nothing happens to it.
 */
export function rescheduleTimer(ctx: Ctx, before: Ticket | null, after: Ticket): void {
  const d = runningDeadline(after);
  const id = deadlineJobId(after);
  if (d && id && id !== (before ? deadlineJobId(before) : null)) ctx.effects.timers.push({ jobId: id, runAt: wakeSlot(d.dueAt) });
}

const RANK: Record<UnitKind, number> = { neighborhood: 0, group: 1, area: 2, village: 3, town: 4 };

export type Placement = { unit: PathUnit; leaders: Leader[] };
export type Ladder = { path: PathUnit[]; policy: Policy; leaders: Map<string, Leader[]> };

/** The unit path, town policy and leaders along the path of a ticket's origin unit. */
export async function loadLadder(ctx: Ctx, unitId: string): Promise<Ladder> {
  const load = () => unitPathWithLeaders(ctx.db, unitId);
  const { path, leaders } = ctx.directory ? await ctx.directory.ladder(unitId, load) : await load();
  const town = path.find((u) => u.kind === "town") ?? path[path.length - 1];
  const policy = policyFor(town?.settings, ctx.overrides);
  return { path, policy, leaders };
}

/**
 * The first level of the town's ladder above `after` (or at/above the origin when `after` is null) whose unit
 * has a leader: a vacant 邻 hands straight to the 组. Null at the top.
 */
export function nextPlacement(ladder: Ladder, after: UnitKind | null): Placement | null {
  const originRank = ladder.path[0] ? RANK[ladder.path[0].kind] : 0;
  const steps = [...ladder.policy.ladder].sort((a, b) => RANK[a] - RANK[b]);
  for (const kind of steps) {
    if (after !== null ? RANK[kind] <= RANK[after] : RANK[kind] < originRank) continue;
    const unit = ladder.path.find((u) => u.kind === kind);
    const leaders = unit ? (ladder.leaders.get(unit.id) ?? []) : [];
    if (unit && leaders.length > 0) return { unit, leaders };
  }
  return null;
}

/** The leaders currently holding a ticket (its holder unit's leaders). */
export function holders(ladder: Ladder, t: Ticket): Leader[] {
  return ladder.leaders.get(t.holderUnitId) ?? [];
}
