/**
 * Issue 16 item 2: a Redis outage stalls neither the replies nor the deadlines. The test starts its own redis-server
 * on a free loopback port (the shared one is never touched), stops it, and shows on the real runtime (BullMQ, real
 * database, the simulator's HTTP route): messages are answered while Redis is still down — the reply does not wait
 * for it —, a deadline that lapses during the outage (an injected clock moves past it) is applied by the reconciler
 * from PostgreSQL, and once Redis is back the timers and the pending ping are re-armed and delivered.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, like } from "drizzle-orm";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer } from "../bench/soak/services.js";
import { outbox, tickets } from "../src/db/schema/index.js";
import { runningDeadline, wakeJobId, wakeSlot } from "../src/workflows/tickets.js";
import { createHarness, type Harness, waitFor } from "./helpers/harness.js";

const MIN = 60_000;
let root: string;
let redis: RedisServer;
let h: Harness;
/** The business clock, moved by the test; wall time drives only BullMQ's delays. */
let offsetMs = 0;
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
const ticket = async (id: number) => (await h.db.select().from(tickets).where(eq(tickets.id, id)))[0];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "haolin-redis-outage-"));
  redis = await RedisServer.start(root);
  h = await createHarness({
    scheduler: "bullmq",
    redisUrl: redis.url,
    clock: () => new Date(Date.now() + offsetMs),
    overrides: { answerMs: 10 * MIN },
    reconcileIntervalMs: 250,
  });
});
afterAll(async () => {
  await h?.close();
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Is this job waiting in our Redis (BullMQ keeps a job as the hash <prefix>:<queue>:<id>)? */
async function jobInRedis(queue: string, jobId: string): Promise<boolean> {
  const c = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on("error", () => {});
  try {
    return (await c.exists(`${h.prefix}:${queue}:${jobId}`)) === 1;
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

/** Is the wake-up job for this ticket's running clock set? */
async function timerSet(id: number): Promise<boolean> {
  const t = await ticket(id);
  const d = t && runningDeadline(t);
  return d ? jobInRedis("deadlines", wakeJobId(wakeSlot(d.dueAt))) : false;
}

describe("Redis down", () => {
  it("replies without waiting for Redis, applies a lapsed deadline from PostgreSQL, re-arms the timers when Redis is back", async () => {
    const before = ticketNo((await h.say("c1", "r1", "报事 村口路灯坏了")).text);
    const toEscalate = ticketNo((await h.say("c1", "r1", "报事 桥栏杆松了")).text);
    expect(await timerSet(before)).toBe(true); // the control: with Redis up, the timer is set

    await redis.stop();
    await waitFor(async () => !(await h.scheduler.health()).ok);
    offsetMs += 6 * MIN;

    // While Redis is down: answers, with the work recorded in PostgreSQL. Redis is not restarted until after these,
    // so a reply that waited for Redis would never come (the test would time out).
    const during = await h.say("c1", "r1", "报事 水沟堵了");
    expect(during.text).toContain("已登记工单");
    const duringId = ticketNo(during.text);
    expect((await h.say("c1", "r1", `进度 #${before}`)).text).toContain(`#${before}`);
    expect((await h.say("c1", "nl1", "待办")).text).toContain(`#${duringId}`);
    expect(await ticket(duringId)).toMatchObject({ status: "open", level: "neighborhood" });
    // A manual 上报 queues the first outbox rows of this process: its queue is first used during the outage.
    expect((await h.say("c1", "nl1", `上报 #${toEscalate} 需要组里协调`)).text).toContain("组");
    expect(await ticket(toEscalate)).toMatchObject({ level: "group" });

    // The first ticket's answer clock (10 min) lapses during the outage. No timer can fire: the reconciler applies it.
    offsetMs += 5 * MIN;
    const lapsedAt = h.runtime.clock().getTime();
    // A whole reconciler pass after the lapse (one in flight may have read the clock before it).
    const pass = await waitFor(async () => {
      const r = h.runtime.lastReconcile;
      return r && r.at.getTime() >= lapsedAt && (await ticket(before))?.level === "group" ? r : null;
    });
    expect(pass.armed).toBe(false); // it could not set timers: Redis is down
    // /readyz names the dependency that is down, without the driver's words (hosts, ports).
    const ready = await h.app.request("/readyz");
    expect(ready.status).toBe(503);
    const body = await ready.text();
    expect(JSON.parse(body).checks).toMatchObject({ database: "ok", scheduler: { ok: false, detail: "redis unavailable" } });
    expect(body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|connect/);
    expect((await ticket(before))?.assigneeId).toBe("gl1");
    expect((await h.scheduler.health()).ok).toBe(false); // still down: applied from PostgreSQL alone

    // The escalation ping is queued in the outbox (PostgreSQL), to be delivered once there is a scheduler again.
    const [ping] = await h.db.select().from(outbox).where(like(outbox.dedupeKey, `esc-${before}-%`));
    expect(ping?.status).toBe("pending");
    expect(ping?.payload.mentions).toContain("gl1");

    // Redis comes back empty (no persistence): the timers of both running clocks and the ping's delivery are set
    // again. (The ping's delivery waits in Redis until its time by the wall clock; the test's clock runs ahead.)
    await redis.restart();
    await waitFor(async () => (await timerSet(duringId)) && (await timerSet(before)) && (await jobInRedis("outbox", `out-${ping?.id}`)), 15_000);
    await waitFor(async () => h.runtime.lastReconcile?.armed);
  });

  it("a Redis that is connected but does not answer (SIGSTOP) does not hold a reply: it is sent while Redis is still frozen", async () => {
    await waitFor(async () => (await h.scheduler.health()).ok, 15_000);
    const pid = redis.pid as number;
    process.kill(pid, "SIGSTOP");
    try {
      // Without a command timeout this reply waited for Redis to answer again; it is sent while Redis is still frozen.
      const frozen = await h.say("c1", "r1", "报事 垃圾桶满了");
      expect(frozen.text).toContain("已登记工单");
      expect((await h.scheduler.health()).ok).toBe(false);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await waitFor(async () => (await h.scheduler.health()).ok, 15_000);
  });
});
