/** The answer clock and the ladder on real BullMQ/Redis and a real database: on time, never lost, never doubled. */
import { and, eq, sql } from "drizzle-orm";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { outbox, simMessages, ticketEvents, tickets, units } from "../src/db/schema/index.js";
import { deliverAfterQuietHours, policyFor } from "../src/workflows/policy.js";
import { queueMessage } from "../src/workflows/outbox.js";
import { Effects } from "../src/workflows/effects.js";
import { WAKE_SLOT_MS, wakeJobId, wakeSlot } from "../src/workflows/tickets.js";
import { createHarness, type Harness, REDIS_URL, waitFor } from "./helpers/harness.js";
import { observe } from "./helpers/observe.js";

const open: Harness[] = [];
async function harness(opts: Parameters<typeof createHarness>[0]) {
  const h = await createHarness(opts);
  open.push(h);
  return h;
}
// Closing a dozen replicas (workers, queues, their Redis keys) takes minutes on a loaded machine, not 60 s.
afterAll(async () => {
  for (const h of open.reverse()) await h.close();
}, 300_000);

const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
const getTicket = async (h: Harness, id: number) => (await h.db.select().from(tickets).where(eq(tickets.id, id)))[0];
const events = async (h: Harness, id: number) =>
  h.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, id)).orderBy(ticketEvents.id);

describe("timed escalation on BullMQ", () => {
  it("fires on time: 邻 → 组 with an @ of the 组长 and the reporter told, plus a direct message", async () => {
    // Workers start once the ticket has been read, so it cannot have escalated already on a slow machine.
    const h = await harness({ scheduler: "bullmq", overrides: { answerMs: 1500 }, start: false });
    const seen = observe(h.runtime, h.scheduler);
    const id = ticketNo((await h.say("c1", "r1", "报事 路灯坏了")).text);
    const opened = await getTicket(h, id);
    h.runtime.start();
    const due = new Date((opened?.createdAt.getTime() as number) + 1500);
    expect(opened?.answerDueAt).toEqual(due);
    // On time means: the wake-up was asked for at the deadline's slot, and it is what escalated the ticket.
    expect(seen.wakes()).toContainEqual({ queue: "deadlines", jobId: wakeJobId(wakeSlot(due)), runAt: wakeSlot(due) });
    const t = await waitFor(async () => {
      const row = await getTicket(h, id);
      return row?.level === "group" ? row : null;
    });
    await seen.wokenFor(due);
    const escalatedAt = (await events(h, id)).find((e) => e.kind === "escalated")?.at as Date;
    expect(escalatedAt.getTime()).toBeGreaterThanOrEqual(due.getTime()); // never early
    expect(t).toMatchObject({ holderUnitId: "g1", assigneeId: "gl1", status: "open", escalationCount: 1 });
    const ping = await waitFor(async () => (await h.chatLog("c1")).find((m) => m.from === "bot" && m.text.includes("已上报到组级")));
    expect(ping.mentions).toEqual(["gl1", "r1"]);
    expect(ping.text).toContain("@张组长");
    expect(ping.text).toContain("@李一 你反映的事已转交 张组长（组长）");
    const dm = await waitFor(async () => (await h.chatLog("dm-gl1")).find((m) => m.text.includes(`#${id}`)));
    expect(dm.text).toContain(`认领 #${id}`);
    const status = await h.say("c1", "r1", `进度 #${id}`);
    expect(status.text).toContain("层级：组");
    expect(status.text).toContain("张组长");
  });

  it("answering before the deadline prevents the escalation", async () => {
    // Workers start only after the claim, so the claim comes first however slow the machine is.
    const h = await harness({ scheduler: "bullmq", overrides: { answerMs: 1200 }, start: false });
    const seen = observe(h.runtime, h.scheduler);
    const id = ticketNo((await h.say("c1", "r1", "报事 水沟堵了")).text);
    const due = (await getTicket(h, id))?.answerDueAt as Date;
    await h.say("c1", "nl1", `认领 #${id}`);
    h.runtime.start();
    // The marker: the wake-up of the lapsed answer clock has run to its end (and found nothing to do).
    await seen.wokenFor(due);
    expect(await getTicket(h, id)).toMatchObject({ status: "answered", level: "neighborhood", escalationCount: 0 });
    expect((await events(h, id)).map((e) => e.kind)).toEqual(["opened", "claimed"]);
  });

  it("an answer at the very moment the deadline fires gives one consistent outcome", async () => {
    let skewMs = 0; // the injected clock jumps past the deadlines instead of the test sleeping
    const h = await harness({ scheduler: "bullmq", overrides: { answerMs: 300 }, start: false, clock: () => new Date(Date.now() + skewMs) });
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push(ticketNo((await h.say("c1", "r1", `报事 同时发生 ${i}`)).text));
    skewMs = 400;
    await Promise.all(ids.flatMap((id) => [h.runtime.onDeadline(id), h.say("c1", "gl1", `认领 #${id}`)]));
    for (const id of ids) {
      const all = await events(h, id);
      const kinds = all.map((e) => e.kind);
      // The 台账 runs forwards: a claim that lost to the escalation and went again is stamped after it.
      const times = all.map((e) => e.at.getTime());
      expect(times).toEqual([...times].sort((x, y) => x - y));
      expect([
        ["opened", "claimed"],
        ["opened", "escalated", "claimed"],
      ]).toContainEqual(kinds);
      const t = await getTicket(h, id);
      expect(t?.status).toBe("answered");
      expect(t?.version).toBe(kinds.length - 1);
      const pings = await h.db.select().from(outbox).where(and(eq(outbox.kind, "ping"), sql`${outbox.payload}->>'ticketId' = ${String(id)}`));
      expect(pings.length).toBe(kinds.includes("escalated") ? 2 : 0); // the group ping and the 组长's direct message
    }
  });

  it("still escalates when Redis loses every job (flush while waiting)", async () => {
    const h = await harness({ scheduler: "bullmq", overrides: { answerMs: 1500 }, reconcileIntervalMs: 500, graceMs: 200 });
    const id = ticketNo((await h.say("c1", "r1", "报事 桥面裂缝")).text);
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${h.prefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);
    expect(await redis.keys(`${h.prefix}:deadlines:*`)).toEqual([]);
    await redis.quit();
    const t = await waitFor(async () => {
      const row = await getTicket(h, id);
      return row?.level === "group" ? row : null;
    });
    expect(t.escalationCount).toBe(1);
    await waitFor(async () => (await h.chatLog("c1")).some((m) => m.text.includes(`工单 #${id} 已上报到组级`)));
  });

  it("climbs the whole ladder to the town, re-pings there, and a claim stops it", async () => {
    const h = await harness({ scheduler: "bullmq", overrides: { answerMs: 700 } });
    const seen = observe(h.runtime, h.scheduler);
    const id = ticketNo((await h.say("c1", "r1", "报事 山塘输水洞堵了")).text);
    await waitFor(async () => ((await getTicket(h, id))?.reminderCount ?? 0) >= 2);
    const answerWakes = [...seen.wakes()]; // before the claim, which sets the resolution clock's wake-up
    await h.say("c1", "to1", `认领 #${id}`);
    const settled = await getTicket(h, id);
    expect(settled).toMatchObject({ status: "answered", level: "town", holderUnitId: "t", assigneeId: "to1" });
    // 上报次数 counts the three steps up; the reminders at the top are counted apart, from 1.
    expect(settled?.escalationCount).toBe(3);
    expect(settled?.reminderCount).toBeGreaterThanOrEqual(2);
    const kinds = (await events(h, id)).map((e) => `${e.kind}:${e.level}`);
    expect(kinds.slice(0, 4)).toEqual(["opened:neighborhood", "escalated:group", "escalated:village", "escalated:town"]);
    expect(kinds.slice(4, -1).every((k) => k === "repinged:town")).toBe(true);
    expect(kinds.at(-1)).toBe("claimed:town");
    const log = await waitFor(async () => {
      const l = await h.chatLog("c1");
      return l.filter((m) => m.text.includes(`#${id}`) && m.from === "bot").length >= 5 ? l : null;
    });
    const pings = log.filter((m) => m.from === "bot" && m.text.includes(`#${id}`));
    expect(pings.find((m) => m.text.includes("已上报到村级"))?.mentions).toEqual(["vo1", "vo2", "r1"]);
    expect(pings.find((m) => m.text.includes("已上报到镇级"))?.mentions).toEqual(["to1", "r1"]);
    expect(pings.some((m) => m.text.includes("已到最高层级") && m.mentions.includes("to1"))).toBe(true);
    expect(pings.find((m) => m.text.includes("已到最高层级"))?.text).toContain("第 1 次提醒");
    const repings = kinds.filter((k) => k.startsWith("repinged")).length;
    // The marker: every wake-up of the answer clock set before the claim has run to its end.
    await seen.allWoken(answerWakes);
    expect((await events(h, id)).filter((e) => e.kind === "repinged").length).toBe(repings);
  });

  it("reports opened together share wake-up slots in Redis, and each still escalates on time", async () => {
    const overrides = { answerMs: 2000 };
    const h = await harness({ scheduler: "bullmq", overrides, start: false });
    const seen = observe(h.runtime, h.scheduler);
    const ids = (await Promise.all(Array.from({ length: 12 }, (_, i) => h.say(i % 2 ? "c1" : "c2", i % 2 ? "r1" : "r3", `报事 同一批 ${i}`)))).map(
      (r) => ticketNo(r.text),
    );
    const rows = await h.db.select().from(tickets).where(sql`${tickets.id} in ${ids}`);
    const slots = new Set(rows.map((t) => Math.ceil((t.answerDueAt as Date).getTime() / WAKE_SLOT_MS)));
    // What was asked of Redis (not what is still waiting there: on a loaded machine the first may have fired already).
    // Two batches committing at once may both ask for one slot: the same job id, which Redis keeps once.
    const wakes = seen.wakes();
    const jobs = new Set(wakes.map((w) => w.jobId));
    expect(jobs.size).toBe(slots.size);
    expect(jobs.size).toBeLessThan(ids.length);
    expect([...jobs].every((id) => /^wake-\d+$/.test(id))).toBe(true);
    // Only now, counted before any could fire; the 组's clocks are long, so none climbs twice while we wait for all.
    overrides.answerMs = 3_600_000;
    h.runtime.start();
    await waitFor(async () => {
      const now = await h.db.select().from(tickets).where(sql`${tickets.id} in ${ids}`);
      return now.every((t) => t.escalationCount === 1);
    });
    // On time: each ticket's wake-up was asked for at its own deadline's slot (at most one slot late), and that
    // slot's job is what ran; never early.
    for (const t of rows) {
      const due = t.answerDueAt as Date;
      expect(wakeSlot(due).getTime() - due.getTime()).toBeLessThan(WAKE_SLOT_MS);
      expect(seen.wakes().map((w) => w.runAt.getTime())).toContain(wakeSlot(due).getTime());
      await seen.wokenFor(due);
      const escalated = (await events(h, t.id)).find((e) => e.kind === "escalated")?.at.getTime() as number;
      expect(escalated).toBeGreaterThanOrEqual(due.getTime());
    }
  });

  it("a per-ticket wake-up job left in Redis by an earlier version still escalates its ticket", async () => {
    const h = await harness({ scheduler: "bullmq", overrides: { answerMs: 60_000 } });
    const id = ticketNo((await h.say("c1", "r1", "报事 升级前的任务")).text);
    await h.db.update(tickets).set({ answerDueAt: new Date(Date.now() - 1000) }).where(eq(tickets.id, id));
    const redis = new Redis(REDIS_URL);
    const queue = new Queue("deadlines", { connection: redis, prefix: h.prefix });
    await queue.add("deadlines", { ticketId: id }, { jobId: `dl-${id}-neighborhood-answer-1`, removeOnComplete: true });
    await waitFor(async () => (await getTicket(h, id))?.level === "group");
    expect((await events(h, id)).filter((e) => e.kind === "escalated")).toHaveLength(1);
    await queue.close();
    await redis.quit();
  });

  it("an early wake-up changes nothing, and the deadline still fires once", async () => {
    let skewMs = 0;
    const overrides = { answerMs: 1500 };
    const h = await harness({ scheduler: "bullmq", overrides, clock: () => new Date(Date.now() + skewMs), start: false });
    const seen = observe(h.runtime, h.scheduler);
    const id = ticketNo((await h.say("c1", "r1", "报事 提前唤醒")).text);
    const due = (await getTicket(h, id))?.answerDueAt as Date;
    // The early wake-up happens before the deadline by the injected clock, however slow the machine is just now.
    skewMs = -60_000;
    expect(await h.runtime.onDeadline(id)).toBe("not_due");
    skewMs = 0;
    expect((await getTicket(h, id))?.level).toBe("neighborhood");
    // The next level's leaders get an hour, so the claim below cannot lose a race with their clock.
    overrides.answerMs = 3_600_000;
    h.runtime.start();
    await seen.wokenFor(due);
    expect(await getTicket(h, id)).toMatchObject({ level: "group" });
    await h.say("c1", "gl1", `认领 #${id}`);
    expect((await events(h, id)).filter((e) => e.kind === "escalated")).toHaveLength(1);
  });

  it("manual 上报 uses the same path at once", async () => {
    const h = await harness({ scheduler: "bullmq" });
    const id = ticketNo((await h.say("c1", "r1", "报事 邻里纠纷")).text);
    const r = await h.say("c1", "nl1", `上报 #${id} 需要组里调解`);
    expect(r.text).toContain("已上报到组级");
    expect(await getTicket(h, id)).toMatchObject({ level: "group", assigneeId: "gl1" });
    const e = (await events(h, id)).at(-1);
    expect(e).toMatchObject({ kind: "escalated", actorId: "nl1", text: "需要组里调解" });
  });
});

describe("two replicas on one database and one Redis", () => {
  // End to end through three levels on two replicas: generous limits for a loaded machine (the waits are for events).
  it("each escalation and each ping happens exactly once", { timeout: 240_000 }, async () => {
    const a = await harness({ scheduler: "bullmq", overrides: { answerMs: 800 }, reconcileIntervalMs: 300, graceMs: 100 });
    const b = await harness({ scheduler: "bullmq", overrides: { answerMs: 800 }, reconcileIntervalMs: 300, graceMs: 100, database: a.database, prefix: a.prefix });
    const ids: number[] = [];
    const chatOf = new Map<number, string>();
    for (let i = 0; i < 12; i++) {
      const chat = i % 3 ? "c1" : "c2";
      const id = ticketNo((await (i % 2 ? a : b).say(chat, i % 3 ? "r1" : "r3", `报事 双实例 ${i}`)).text);
      ids.push(id);
      chatOf.set(id, chat);
    }
    await waitFor(async () => {
      const rows = await a.db.select().from(tickets).where(sql`${tickets.id} in ${ids}`);
      return rows.every((t) => t.level === "town");
    }, 180_000);
    for (const id of ids) {
      const e = (await events(a, id)).filter((x) => x.kind === "escalated").map((x) => x.level);
      expect(e).toEqual(["group", "village", "town"]);
    }
    // The town claims them all, in their own chats: the answer clocks stop, so no re-ping is queued while we count.
    for (const id of ids) expect((await a.say(chatOf.get(id) as string, "to1", `认领 #${id}`)).text).toContain("已认领");
    await waitFor(async () => {
      const pending = await a.db.select().from(outbox).where(sql`${outbox.status} <> 'sent'`);
      return pending.length === 0;
    });
    const sent = await a.db.select().from(outbox);
    const delivered = await a.db.select().from(simMessages).where(eq(simMessages.fromId, "bot"));
    const proactive = delivered.filter((m) => m.text.startsWith("⏫") || m.text.startsWith("⏰") || m.text.startsWith("你有一条"));
    expect(proactive.length).toBe(sent.length);
    expect(new Set(proactive.map((m) => `${m.chatId}|${m.text}`)).size).toBe(proactive.length);
  });

  it("a replica whose clock runs behind still writes the 台账 in order", async () => {
    const ahead = await harness({ scheduler: "bullmq", clock: () => new Date(Date.now() + 60_000) });
    const behind = await harness({ scheduler: "bullmq", database: ahead.database, prefix: ahead.prefix });
    const id = ticketNo((await behind.say("c1", "r1", "报事 时钟不一致")).text);
    await ahead.say("c1", "nl1", `上报 #${id} 需要组里处理`);
    const r = await behind.say("c1", "gl1", `办结 #${id} 已处理`);
    expect(r.text).toContain("已办结");
    const all = await events(ahead, id);
    expect(all.map((e) => e.kind)).toEqual(["opened", "escalated", "resolved"]);
    const [, escalated, resolved] = all;
    expect(resolved?.at.getTime()).toBeGreaterThanOrEqual(escalated?.at.getTime() as number);
    // The change and its event carry the same time.
    expect((await getTicket(ahead, id))?.resolvedAt?.getTime()).toBe(resolved?.at.getTime());
  });
});

describe("the outbox survives a crash", () => {
  it("a message committed but never scheduled is sent after restart, once", async () => {
    const first = await harness({ scheduler: "bullmq", start: false });
    // The transaction commits; the process "dies" before its after-commit step schedules delivery.
    const effects = new Effects();
    await first.db.transaction((db) =>
      queueMessage({ db, now: new Date(), effects, overrides: {} }, { dedupeKey: "crash-1", to: { chatId: "c1" }, kind: "notice", payload: { text: "崩溃前写入的通知", mentions: [] } }),
    );
    expect(effects.outbox).toHaveLength(1);
    await first.scheduler.close();
    const second = await harness({ scheduler: "bullmq", database: first.database, prefix: first.prefix });
    await second.runtime.reconcile();
    await waitFor(async () => (await second.chatLog("c1")).some((m) => m.text === "崩溃前写入的通知"));
    // The marker: a later pass finds nothing left to deliver, so no second job can exist for the row.
    await waitFor(async () => (await first.db.select().from(outbox).where(eq(outbox.dedupeKey, "crash-1")))[0]?.status === "sent");
    expect((await second.runtime.reconcile()).outbox).toBe(0);
    expect((await second.chatLog("c1")).filter((m) => m.text === "崩溃前写入的通知")).toHaveLength(1);
  });

  it("a row left 'sending' by a dead worker is taken over after its lease and sent once", async () => {
    const h = await harness({ scheduler: "bullmq" });
    const [row] = await h.db
      .insert(outbox)
      .values({ dedupeKey: "lease-1", chatId: "c1", kind: "notice", payload: { text: "租约过期的通知", mentions: [] }, status: "sending", leaseUntil: new Date(Date.now() - 1000), attempts: 1 })
      .returning();
    await h.runtime.reconcile();
    await waitFor(async () => (await h.db.select().from(outbox).where(eq(outbox.id, row?.id as number)))[0]?.status === "sent");
    expect((await h.chatLog("c1")).filter((m) => m.text === "租约过期的通知")).toHaveLength(1);
  });
});

describe("quiet hours (fixed clock)", () => {
  const at = (iso: string) => new Date(iso);
  it("computes the end of quiet hours in Asia/Shanghai", () => {
    const p = policyFor({});
    expect(deliverAfterQuietHours(p, at("2026-03-02T15:30:00Z")).toISOString()).toBe("2026-03-02T23:00:00.000Z"); // 23:30 → 07:00
    expect(deliverAfterQuietHours(p, at("2026-03-02T20:00:00Z")).toISOString()).toBe("2026-03-02T23:00:00.000Z"); // 04:00 → 07:00
    expect(deliverAfterQuietHours(p, at("2026-03-02T02:00:00Z")).toISOString()).toBe("2026-03-02T02:00:00.000Z"); // 10:00 → now
    expect(deliverAfterQuietHours(policyFor({ quietHours: false }), at("2026-03-02T15:30:00Z")).toISOString()).toBe("2026-03-02T15:30:00.000Z");
    expect(deliverAfterQuietHours(policyFor({ quietHours: "12:00-14:00" }), at("2026-03-02T04:30:00Z")).toISOString()).toBe("2026-03-02T06:00:00.000Z");
  });

  it("escalates on time at night but holds the non-urgent ping until morning; urgent pings go at once", async () => {
    let now = at("2026-03-02T15:00:00Z"); // 23:00 in Shanghai
    const h = await harness({ scheduler: "memory", start: false, clock: () => now, overrides: { answerMs: 60_000 } });
    await h.db.update(units).set({ settings: {} }).where(eq(units.id, "t")); // default quiet hours 22:00–07:00
    const normal = ticketNo((await h.say("c1", "r1", "报事 路灯不亮")).text);
    const urgent = ticketNo((await h.say("c1", "r1", "报事 紧急 电线着火了")).text);
    now = at("2026-03-02T15:02:00Z");
    expect(await h.runtime.onDeadline(normal)).toBe("escalated");
    expect(await h.runtime.onDeadline(urgent)).toBe("escalated");
    const pingOf = async (id: number) =>
      (await h.db.select().from(outbox).where(and(eq(outbox.kind, "ping"), sql`${outbox.payload}->>'ticketId' = ${String(id)}`), ))[0];
    expect((await pingOf(normal))?.notBefore.toISOString()).toBe("2026-03-02T23:00:00.000Z");
    expect((await pingOf(urgent))?.notBefore.toISOString()).toBe("2026-03-02T15:02:00.000Z");
    expect((await getTicket(h, normal))?.level).toBe("group");
    // The next clock starts when the leaders can hear of it: 07:00 for the held ping, at once for the urgent one.
    expect((await getTicket(h, normal))?.answerDueAt?.toISOString()).toBe("2026-03-02T23:01:00.000Z");
    expect((await getTicket(h, urgent))?.answerDueAt?.toISOString()).toBe("2026-03-02T15:03:00.000Z");
  });
});

describe("process metrics", () => {
  it("/metrics counts messages by result, their latency and batch sizes, and Node's own figures", async () => {
    const h = await harness({ scheduler: "memory" });
    const read = async () => {
      const text = await (await h.app.request("/metrics")).text();
      const value = (sample: string) => Number(text.split("\n").find((l) => l.startsWith(`${sample} `))?.split(" ")[1] ?? 0);
      return { text, value };
    };
    const handled = 'haolin_messages_total{platform="sim",result="handled"}';
    const duplicate = 'haolin_messages_total{platform="sim",result="duplicate"}';
    const timed = 'haolin_message_duration_seconds_count{platform="sim"}';
    const before = await read();
    await h.say("c1", "r1", "报事 路灯坏了", "metrics-1");
    await h.say("c1", "r1", "报事 路灯坏了", "metrics-1");
    await h.say("c1", "r2", "帮助", "metrics-2");
    const after = await read();
    expect(after.value(handled) - before.value(handled)).toBe(2);
    expect(after.value(duplicate) - before.value(duplicate)).toBe(1);
    expect(after.value(timed) - before.value(timed)).toBe(3);
    expect(after.value("haolin_batch_messages_count")).toBeGreaterThan(before.value("haolin_batch_messages_count"));
    for (const name of ["process_resident_memory_bytes", "process_cpu_seconds_total", "nodejs_eventloop_lag_p99_seconds", "haolin_tickets_open"])
      expect(after.text).toMatch(new RegExp(`^${name} `, "m"));
  });
});

describe("a stalled scheduler is visible", () => {
  it("/metrics shows the oldest lapsed deadline growing while nothing processes it", async () => {
    // A stopped clock, moved by hand: the figures are exact and nothing lapses while the test reads them.
    let now = new Date("2026-03-02T02:00:00Z");
    const h = await harness({ scheduler: "memory", start: false, overrides: { answerMs: 100 }, graceMs: 0, clock: () => now });
    await h.say("c1", "r1", "报事 没人处理的事");
    now = new Date(now.getTime() + 1300);
    const text = await (await h.app.request("/metrics")).text();
    const overdue = Number(/^haolin_oldest_overdue_seconds (\S+)$/m.exec(text)?.[1]);
    expect(overdue).toBeCloseTo(1.2, 3);
    expect(text).toMatch(/^haolin_tickets_open 1$/m);
    await h.runtime.reconcile();
    const after = await (await h.app.request("/metrics")).text();
    expect(Number(/^haolin_oldest_overdue_seconds (\S+)$/m.exec(after)?.[1])).toBeLessThan(overdue);
  });
});
