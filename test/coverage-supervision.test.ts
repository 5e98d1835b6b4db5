/**
 * 督办: a claimed ticket whose resolution clock (办理期限) lapses goes one level up with a 督办 ping. The clock is
 * injected; the wake-up is called directly, so the test decides exactly when "now" is.
 */
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox, ticketEvents, tickets } from "../src/db/schema/index.js";
import { createHarness, type Harness } from "./helpers/harness.js";

const H = 3_600_000;
let h: Harness;
let now = new Date("2026-03-02T02:00:00Z");
beforeAll(async () => {
  h = await createHarness({ clock: () => now, start: false, overrides: { resolveMs: 10 * H } });
});
afterAll(async () => {
  await h.close();
});

const getTicket = async (id: number) => (await h.db.select().from(tickets).where(eq(tickets.id, id)))[0];
const events = (id: number) => h.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, id)).orderBy(ticketEvents.id);
const pings = (id: number) =>
  h.db.select().from(outbox).where(and(eq(outbox.kind, "ping"), sql`${outbox.payload}->>'ticketId' = ${String(id)}`));

describe("督办 when the resolution clock lapses", () => {
  it("a claimed ticket past its 办理期限 escalates once, with a 督办 ping to the next leader", async () => {
    const id = Number(/#(\d+)/.exec((await h.say("c1", "r1", "报事 村口路灯坏了")).text)?.[1]);
    now = new Date(now.getTime() + 10 * 60_000);
    expect((await h.say("c1", "nl1", `认领 #${id}`)).text).toContain("已认领");
    const claimed = await getTicket(id);
    expect(claimed).toMatchObject({ status: "answered", level: "neighborhood", escalationCount: 0 });
    const due = claimed?.resolveDueAt as Date;
    expect(due.getTime()).toBe(now.getTime() + 10 * H);

    // One minute before the 办理期限: nothing happens.
    now = new Date(due.getTime() - 60_000);
    expect(await h.runtime.onDeadline(id)).toBe("not_due");
    expect(await getTicket(id)).toMatchObject({ status: "answered", level: "neighborhood", version: claimed?.version });
    expect(await pings(id)).toEqual([]);

    // Past it: 督办 — up to the 组, clock restarted as an answer clock, the 组长 @-mentioned.
    now = new Date(due.getTime() + 1000);
    expect(await h.runtime.onDeadline(id)).toBe("escalated");
    const t = await getTicket(id);
    expect(t).toMatchObject({ status: "open", level: "group", holderUnitId: "g1", assigneeId: "gl1", escalationCount: 1, resolveDueAt: null });
    const esc = (await events(id)).filter((e) => e.kind === "escalated");
    expect(esc).toHaveLength(1);
    expect(esc[0]?.data).toMatchObject({ reason: "resolve_timeout", from: "neighborhood", to: "group" });
    const rows = await pings(id);
    const group = rows.find((r) => r.chatId === "c1");
    expect(group?.payload.text).toContain("督办");
    expect(group?.payload.text).toContain("超过办理期限");
    expect(group?.payload.mentions).toContain("gl1");
    expect(rows.some((r) => r.personId === "gl1")).toBe(true);

    // A doubled wake-up at the same moment changes nothing twice.
    expect(await h.runtime.onDeadline(id)).not.toBe("escalated");
    expect((await events(id)).filter((e) => e.kind === "escalated")).toHaveLength(1);
    expect(await pings(id)).toHaveLength(rows.length);
  });
});
