/**
 * What operations rely on, on the real services: /readyz answers 503 when a dependency is down; replicas that start
 * at the same moment migrate one after the other (the advisory lock); the reconciler puts the periodic tasks back
 * after Redis lost them.
 */
import { readFileSync } from "node:fs";
import { Queue } from "bullmq";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { simSender } from "../src/bot/sim/sender.js";
import { migratePostgresUrl, migrationsFolder } from "../src/db/migrate.js";
import { Runtime } from "../src/runtime.js";
import { BullScheduler } from "../src/scheduler/bullmq.js";
import { createHarness, dropPrefix, type Harness, REDIS_URL, silent } from "./helpers/harness.js";

const open: Harness[] = [];
afterAll(async () => {
  for (const h of open.reverse()) await h.close();
});

describe("/readyz", () => {
  it("answers 200 when all is well, 503 when the scheduler's Redis is unreachable or a platform check fails", async () => {
    const h = await createHarness({ start: false });
    open.push(h);
    const ready = await createApp({ runtime: h.runtime, logger: silent, sim: false }).request("/readyz");
    expect(ready.status).toBe(200);

    // A Redis nobody listens on (port 1): the scheduler's health check fails, so the replica is not ready.
    const dead = new BullScheduler({ url: "redis://127.0.0.1:1", concurrency: 1, logger: silent });
    try {
      const runtime = new Runtime({ database: h.database, scheduler: dead, senders: [simSender], logger: silent, botNames: ["好邻"] });
      const res = await createApp({ runtime, logger: silent, sim: false }).request("/readyz");
      expect(res.status).toBe(503);
      expect(((await res.json()) as { ok: boolean }).ok).toBe(false);
    } finally {
      await dead.close();
    }

    const platformDown = createApp({ runtime: h.runtime, logger: silent, sim: false, readiness: [() => ({ name: "dingtalk", ok: false })] });
    const res = await platformDown.request("/readyz");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { ok: boolean }).ok).toBe(false);
  });
});

// The lock is PostgreSQL's: these run on the PostgreSQL of DATABASE_URL, else the local one (PGlite is one process).
const BASE = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

describe("migrations at the same moment", () => {
  it("three replicas migrating one empty database at once: every one succeeds and each migration is applied once", async () => {
    const name = `haolin_t_mig_${Math.random().toString(36).slice(2, 10)}`;
    const admin = postgres(BASE, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(BASE);
    url.pathname = `/${name}`;
    try {
      // Each call is its own connection, as each replica's is.
      await Promise.all([1, 2, 3].map(() => migratePostgresUrl(url.toString())));
      const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, "utf8")) as { entries: unknown[] };
      const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
      try {
        const [row] = await db<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
        expect(row?.n).toBe(journal.entries.length);
        const [tables] = await db<{ n: number }[]>`select count(*)::int as n from pg_tables where schemaname = 'public' and tablename = 'outbox'`;
        expect(tables?.n).toBe(1);
      } finally {
        await db.end();
      }
    } finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});

describe("periodic tasks after a Redis flush", () => {
  it("the reconciler registers them again", async () => {
    const h = await createHarness({ scheduler: "bullmq", start: false });
    open.push(h);
    await h.runtime.addPeriodic({ id: "ops-test-task", pattern: "0 0 1 1 *", run: async () => {} });
    const queue = new Queue("periodic", { connection: { url: REDIS_URL }, prefix: h.prefix });
    try {
      const registered = async () => (await queue.getJobSchedulers()).map((j) => j.key);
      expect(await registered()).toEqual(["ops-test-task"]);
      await dropPrefix(h.prefix); // everything this replica had in Redis is gone, as after FLUSHALL
      expect(await registered()).toEqual([]);
      await h.runtime.reconcile();
      expect(await registered()).toEqual(["ops-test-task"]);
    } finally {
      await queue.close();
    }
  });
});
