/**
 * A wave of deadlines lapsing together, on real PostgreSQL and BullMQ/Redis: a wake-up slot's tickets go up in one
 * transaction (their compare-and-sets, 台账 events and outbox rows a few statements in all), each exactly once, even
 * with two replicas and the reconciler on the same slot at once; one ticket that cannot be written fails alone.
 */
import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { outbox, ticketEvents, tickets } from "../src/db/schema/index.js";
import { wakeSlot } from "../src/workflows/tickets.js";
import { createHarness, type Harness } from "./helpers/harness.js";
import { observe } from "./helpers/observe.js";

const open: Harness[] = [];
async function harness(opts: Parameters<typeof createHarness>[0]) {
  const h = await createHarness(opts);
  open.push(h);
  return h;
}
afterAll(async () => {
  for (const h of open.reverse()) await h.close();
}, 120_000);

/** A clock held still while the reports go in (so they share one deadline and one wake-up slot), then moved on. */
function heldClock() {
  let held: Date | null = new Date();
  let skewMs = 0;
  return {
    clock: () => held ?? new Date(Date.now() + skewMs),
    release(skew = 0) {
      held = null;
      skewMs = skew;
    },
  };
}

const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);

/** Reports from several people at once (the group commit takes them together). */
async function wave(h: Harness, n: number): Promise<number[]> {
  const replies = await Promise.all(Array.from({ length: n }, (_, i) => h.say(i % 2 ? "c1" : "c2", i % 2 ? "r1" : "r3", `报事 暴雨积水 ${i}`)));
  const ids = replies.map((r) => ticketNo(r.text));
  expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
  return ids;
}

/** Each ticket's escalated events, group pings and direct messages. */
async function written(h: Harness, ids: number[]) {
  const events = await h.db.select().from(ticketEvents).where(inArray(ticketEvents.ticketId, ids));
  const rows = await h.db.select().from(outbox).where(sql`(${outbox.payload}->>'ticketId')::int in ${ids}`);
  const ts = await h.db.select().from(tickets).where(inArray(tickets.id, ids));
  return ids.map((id) => ({
    id,
    escalated: events.filter((e) => e.ticketId === id && e.kind === "escalated"),
    group: rows.filter((r) => r.payload.ticketId === id && r.chatId !== null),
    direct: rows.filter((r) => r.payload.ticketId === id && r.personId !== null),
    ticket: ts.find((t) => t.id === id),
  }));
}

describe("a wave of deadlines", () => {
  it("a slot's tickets go up together on BullMQ: each once, with its event and its messages, in one transaction", async () => {
    const c = heldClock();
    const h = await harness({ scheduler: "bullmq", overrides: { answerMs: 1500 }, start: false, clock: c.clock });
    const seen = observe(h.runtime, h.scheduler);
    const ids = await wave(h, 30);
    const due = (await h.db.select().from(tickets).where(eq(tickets.id, ids[0] as number)))[0]?.answerDueAt as Date;
    c.release();
    h.runtime.start();
    await seen.wokenFor(due);
    const all = await written(h, ids);
    for (const w of all) {
      expect(w.escalated).toHaveLength(1);
      expect(w.group).toHaveLength(1);
      expect(w.direct).toHaveLength(1);
      expect(w.direct[0]?.personId).toBe(w.ticket?.assigneeId); // the 组长 of the ticket's own 组
      expect(w.ticket).toMatchObject({ level: "group", escalationCount: 1, version: 1 });
      // The ping names the ticket it is about, and the message went in the same transaction as the change.
      expect(w.group[0]?.payload.text).toContain(`工单 #${w.id} 已上报到组级`);
      expect(w.group[0]?.createdAt.getTime()).toBe(w.escalated[0]?.at.getTime());
    }
    // One wake-up job for the slot, one transaction for its tickets: one time stamps every change.
    expect(new Set(all.map((w) => w.escalated[0]?.at.getTime())).size).toBe(1);
    expect(new Set(all.map((w) => w.ticket?.updatedAt.getTime())).size).toBe(1);
    expect(seen.wakes().filter((j) => j.runAt.getTime() === wakeSlot(due).getTime())).not.toHaveLength(0);
  });

  it("two replicas and the reconciler on the same slot at once: no ticket goes up twice", async () => {
    const c = heldClock();
    const a = await harness({ scheduler: "bullmq", overrides: { answerMs: 1000 }, start: false, clock: c.clock, graceMs: 0 });
    const b = await harness({ scheduler: "bullmq", overrides: { answerMs: 1000 }, start: false, clock: c.clock, graceMs: 0, database: a.database, prefix: a.prefix });
    const ids = await wave(a, 40);
    const due = (await a.db.select().from(tickets).where(eq(tickets.id, ids[0] as number)))[0]?.answerDueAt as Date;
    c.release(2000); // past the deadline: no sleeping
    const slot = wakeSlot(due);
    await Promise.all([a.runtime.onWake(slot), b.runtime.onWake(slot), a.runtime.onWake(slot), b.runtime.reconcile(), b.runtime.onWake(slot)]);
    for (const w of await written(a, ids)) {
      expect(w.escalated).toHaveLength(1);
      expect(w.group).toHaveLength(1);
      expect(w.direct).toHaveLength(1);
      expect(w.ticket).toMatchObject({ level: "group", escalationCount: 1, version: 1 });
    }
    // Once more on both: the clocks now run at the next level, so nothing is due and nothing changes.
    await Promise.all([a.runtime.onWake(slot), b.runtime.onWake(slot)]);
    expect((await written(a, ids)).every((w) => w.escalated.length === 1 && w.ticket?.version === 1)).toBe(true);
  });

  it("one ticket that cannot be written fails alone; the slot's others go up, and it goes once it can", async () => {
    const c = heldClock();
    const h = await harness({ scheduler: "bullmq", overrides: { answerMs: 1000 }, start: false, clock: c.clock });
    const ids = await wave(h, 12);
    const bad = ids[5] as number;
    const due = (await h.db.select().from(tickets).where(eq(tickets.id, bad)))[0]?.answerDueAt as Date;
    // A row the database refuses to change (as a broken row would): a trigger raises for this one ticket.
    await h.db.execute(sql.raw(`create function poison() returns trigger language plpgsql as $$
      begin if new.id = ${bad} and new.version > old.version then raise exception 'poisoned ticket'; end if; return new; end $$`));
    await h.db.execute(sql`create trigger poison before update on tickets for each row execute function poison()`);
    c.release(2000);
    const slot = wakeSlot(due);
    // The job fails (the queue retries it), but only after the others went up.
    const failure = /poisoned ticket/;
    await expect(h.runtime.onWake(slot)).rejects.toSatisfy((e: Error) => failure.test(`${e.message} ${(e.cause as Error)?.message}`));
    await expect(h.runtime.onWake(slot)).rejects.toSatisfy((e: Error) => failure.test(`${e.message} ${(e.cause as Error)?.message}`));
    const after = await written(h, ids);
    for (const w of after) {
      if (w.id === bad) {
        expect(w.escalated).toHaveLength(0);
        expect(w.group).toHaveLength(0);
        expect(w.ticket).toMatchObject({ level: "neighborhood", version: 0 });
      } else {
        expect(w.escalated).toHaveLength(1);
        expect(w.ticket).toMatchObject({ level: "group", version: 1 });
      }
    }
    await h.db.execute(sql`drop trigger poison on tickets`);
    await h.runtime.onWake(slot);
    for (const w of await written(h, ids)) {
      expect(w.escalated).toHaveLength(1);
      expect(w.group).toHaveLength(1);
      expect(w.ticket?.version).toBe(1);
    }
  });
});
