/**
 * Delivering outbox rows through the platform senders. A row is claimed with a lease before sending, so two
 * workers never send it at once; it is marked sent right after. Per-destination pacing (WeCom webhooks take 20
 * a minute) is a slot table in PostgreSQL shared by every replica: a message that must wait is delayed, never
 * dropped.
 *
 * The guarantee (README, 送达保证): at least once. Neither platform's group send takes an idempotency key, so a
 * second copy is possible exactly where the platform has taken a message and our record of it is lost: the process
 * dies between the two, the platform's answer never reaches us (timeout, dropped connection), or the database stays
 * unreachable for most of the lease right after the send. The window is kept to one UPDATE right after each
 * accepted send (or part), retried through a passing database outage, with the lease renewed at every part.
 */
import { and, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import { identities, outbox, type OutboxPayload, type Platform, sendSlots } from "../db/schema/index.js";
import { Permanent, RetryAt } from "../scheduler/types.js";
import { type Chat, getPerson, type Person } from "./directory.js";
import { chats } from "../db/schema/index.js";

export type Destination = { kind: "chat"; chat: Chat } | { kind: "person"; person: Person; externalId: string };

/** A platform's way out. Implementations live in src/bot (they know the platform); workflows only call this. */
export interface Sender {
  platform: Platform;
  /** Can it message a person directly? (WeCom group webhooks cannot.) */
  direct: boolean;
  /** Minimum spacing between two messages to the same destination (the platform's rate limit for that kind of place). */
  minIntervalMs?: number | ((to: Destination, payload: OutboxPayload) => number);
  /**
   * Throw Permanent for a destination that can never work (dead webhook), RetryAt for throttling. A sender that
   * delivers one message in several parts skips the `parts.sent` already delivered and records each one as it goes.
   */
  send(to: Destination, payload: OutboxPayload, db: Db, parts: PartsSent): Promise<void>;
}

/**
 * How far an earlier attempt at a message in parts got; `note` records how the message went out when that is not
 * the usual way (a DingTalk card that could not be delivered and went as text), kept on the row as lastError.
 */
export type PartsSent = { sent: number; record(sent: number): Promise<void>; note?(outcome: string): Promise<void> };

export type DeliveryDeps = { db: Db; clock: () => Date; senders: Sender[]; logger: Logger };

const LEASE_MS = 60_000;
const MAX_SEND_ATTEMPTS = 10;

async function resolveDestination(deps: DeliveryDeps, row: typeof outbox.$inferSelect) {
  const { db, senders } = deps;
  if (row.chatId) {
    const [chat] = await db.select().from(chats).where(eq(chats.id, row.chatId));
    const sender = chat && senders.find((s) => s.platform === chat.platform);
    if (!chat || !sender) return null;
    return { sender, to: { kind: "chat", chat } as Destination };
  }
  const person = row.personId ? await getPerson(db, row.personId) : null;
  return person ? privateRoute(db, senders, person) : null;
}

/** How a person is reached privately: a direct-capable platform they have an account on, else the simulator. */
async function privateRoute(db: Db, senders: Sender[], person: Person): Promise<{ sender: Sender; to: Destination } | null> {
  const ids = await db.select().from(identities).where(eq(identities.personId, person.id));
  for (const s of senders.filter((x) => x.direct && x.platform !== "sim")) {
    // Only a plaintext account id can be messaged (a WeCom open_userid or a WeChat external_userid cannot).
    const id = ids.find((i) => i.platform === s.platform && i.kind === "userid");
    if (id) return { sender: s, to: { kind: "person", person, externalId: id.externalId } };
  }
  // The simulator reaches everyone in the directory by person id.
  const sim = senders.find((s) => s.platform === "sim");
  return sim ? { sender: sim, to: { kind: "person", person, externalId: person.id } } : null;
}

/** Can this deployment message the person privately? (WeCom group webhooks cannot.) Same rule as delivery. */
export async function canReachPrivately(db: Db, senders: Sender[], personId: string): Promise<boolean> {
  const person = await getPerson(db, personId);
  return person !== null && (await privateRoute(db, senders, person)) !== null;
}

const destinationKey = (to: Destination) => (to.kind === "chat" ? `chat:${to.chat.id}` : `person:${to.person.id}`);

/** Take the destination's next send slot if it is free now; otherwise say when it will be. */
async function takeSlot(db: Db, key: string, now: Date, intervalMs: number): Promise<Date | null> {
  const next = new Date(now.getTime() + intervalMs);
  const [won] = await db
    .insert(sendSlots)
    .values({ destination: key, nextAt: next })
    .onConflictDoUpdate({ target: sendSlots.destination, set: { nextAt: next }, setWhere: lt(sendSlots.nextAt, sql`${now.toISOString()}::timestamptz + interval '1 millisecond'`) })
    .returning();
  if (won) return null;
  const [slot] = await db.select().from(sendSlots).where(eq(sendSlots.destination, key));
  return slot?.nextAt ?? now;
}

export type DeliveryOutcome = "sent" | "gone" | "undeliverable";

/** Deliver one outbox row. Throws RetryAt to wait, Permanent when it cannot ever go, other errors to retry. */
export async function deliverOutbox(deps: DeliveryDeps, id: number): Promise<DeliveryOutcome> {
  const { db, logger } = deps;
  const now = deps.clock();
  const [row] = await db.select().from(outbox).where(eq(outbox.id, id));
  if (!row || row.status === "sent" || row.status === "failed" || row.status === "skipped" || row.status === "cancelled")
    return "gone";
  if (row.notBefore.getTime() > now.getTime()) throw new RetryAt(row.notBefore);

  const dest = await resolveDestination(deps, row);
  if (!dest) {
    // Not a failure: this deployment simply has no channel to that person (WeCom webhooks cannot message one person).
    await db.update(outbox).set({ status: "skipped", lastError: "no way to reach this destination" }).where(eq(outbox.id, id));
    logger.info({ outboxId: id }, "outbox row has no channel; skipped");
    return "undeliverable";
  }
  const [claimed] = await db
    .update(outbox)
    .set({ status: "sending", leaseUntil: new Date(now.getTime() + LEASE_MS), attempts: sql`${outbox.attempts} + 1` })
    .where(
      and(
        eq(outbox.id, id),
        or(eq(outbox.status, "pending"), and(eq(outbox.status, "sending"), lt(outbox.leaseUntil, now))),
      ),
    )
    .returning();
  if (!claimed) return "gone";
  // The destination's send slot is taken last, just before sending, so the spacing holds between the sends
  // themselves and not only between the moments workers started on them. That moment is the row's sentAt.
  const startedAt = deps.clock();
  const interval = dest.sender.minIntervalMs;
  const intervalMs = typeof interval === "function" ? interval(dest.to, claimed.payload) : interval;
  if (intervalMs) {
    const wait = await takeSlot(db, destinationKey(dest.to), startedAt, intervalMs);
    if (wait) {
      await putBack(db, id);
      throw new RetryAt(new Date(wait.getTime() + Math.floor(Math.random() * 250)));
    }
  }

  try {
    await dest.sender.send(dest.to, claimed.payload, db, {
      sent: claimed.partsSent,
      // A part is out: recorded at once (and the lease renewed, so a long digest is not taken over mid-way).
      record: (sent) =>
        recordAfterSend(deps, id, () =>
          db
            .update(outbox)
            .set({ partsSent: sent, leaseUntil: new Date(deps.clock().getTime() + LEASE_MS) })
            .where(eq(outbox.id, id)),
        ),
      note: async (outcome) => {
        await db.update(outbox).set({ lastError: outcome.slice(0, 500) }).where(eq(outbox.id, id));
      },
    });
  } catch (err) {
    if (err instanceof RetryAt) {
      // Throttling or quota: the platform asked us to wait. Not a failed attempt, and never a reason to give up.
      await putBack(db, id, "throttled");
      throw err;
    }
    const permanent = err instanceof Permanent || claimed.attempts >= MAX_SEND_ATTEMPTS;
    await db
      .update(outbox)
      .set({ status: permanent ? "failed" : "pending", leaseUntil: null, lastError: String((err as Error).message).slice(0, 500) })
      .where(eq(outbox.id, id));
    // The error says which kind of failure it was (senders never put a key or URL in it); the soak reads it to tell
    // a lost answer from a refusal.
    const error = String((err as Error).message).slice(0, 200);
    logger.warn({ outboxId: id, platform: dest.sender.platform, attempts: claimed.attempts, permanent, error }, "send failed");
    if (permanent) throw new Permanent(String((err as Error).message));
    throw err;
  }
  await markSent(deps, id, dest.sender.platform, startedAt);
  return "sent";
}

/** A claimed row that is to wait, not a failed attempt: pending again, its attempt not counted. */
async function putBack(db: Db, id: number, lastError?: string): Promise<void> {
  await db
    .update(outbox)
    .set({ status: "pending", leaseUntil: null, attempts: sql`${outbox.attempts} - 1`, ...(lastError ? { lastError } : {}) })
    .where(eq(outbox.id, id));
}

/**
 * A message (or part) is out: recording that must not fail on a passing database outage (a restart takes seconds),
 * or the row's lease would lapse and another worker would send it again. Keep trying for most of the lease.
 */
async function recordAfterSend(deps: DeliveryDeps, id: number, write: () => PromiseLike<unknown>): Promise<void> {
  const until = Date.now() + LEASE_MS * 0.8;
  for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
    try {
      await write();
      return;
    } catch (err) {
      if (Date.now() + wait > until) throw err;
      deps.logger.warn({ outboxId: id, waitMs: wait }, "sent, but could not record it yet; retrying");
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

function markSent(deps: DeliveryDeps, id: number, platform: Platform, startedAt: Date): Promise<void> {
  return recordAfterSend(deps, id, () =>
    deps.db.update(outbox).set({ status: "sent", sentAt: startedAt, leaseUntil: null, platform }).where(eq(outbox.id, id)),
  );
}

/** Outbox rows that should have a delivery job: pending, or stuck in a lapsed lease (a crashed worker). */
export async function pendingOutbox(db: Db, now: Date, horizonMs: number, limit = 1000) {
  return db
    .select({ id: outbox.id, notBefore: outbox.notBefore })
    .from(outbox)
    .where(
      and(
        inArray(outbox.status, ["pending", "sending"]),
        lt(outbox.notBefore, new Date(now.getTime() + horizonMs)),
        or(eq(outbox.status, "pending"), lt(outbox.leaseUntil, now)),
      ),
    )
    .orderBy(outbox.id)
    .limit(limit);
}
