/**
 * A whole bot for a test: fresh database with the test directory, the real runtime (BullMQ on real Redis with a
 * private prefix, or the in-process scheduler), the real HTTP app, and helpers to talk through the simulator API.
 */
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { type Logger, pino } from "pino";
import { createApp } from "../../src/app.js";
import { simSender } from "../../src/bot/sim/sender.js";
import { importDirectory } from "../../src/db/directory-import.js";
import { BullScheduler } from "../../src/scheduler/bullmq.js";
import { MemoryScheduler } from "../../src/scheduler/memory.js";
import type { Scheduler } from "../../src/scheduler/types.js";
import { Runtime, type RuntimeOptions } from "../../src/runtime.js";
import type { Sender } from "../../src/workflows/delivery.js";
import { createTestDatabase, type TestDatabase } from "./db.js";

export const FIXTURE = fileURLToPath(new URL("../fixtures/directory.yaml", import.meta.url));
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const silent = pino({ level: "silent" });

export type HarnessOptions = Partial<Pick<RuntimeOptions, "clock" | "overrides" | "reconcileIntervalMs" | "graceMs" | "fetchers">> & {
  scheduler?: "memory" | "bullmq";
  /** Share a database (a second "replica"). */
  database?: TestDatabase;
  prefix?: string;
  /** The Redis for BullMQ (default REDIS_URL): a test that stops and starts its own passes it here. */
  redisUrl?: string;
  senders?: Sender[];
  directory?: string | null;
  start?: boolean;
  /** The runtime's logger (default: silent), for a test that reads what is logged. */
  logger?: Logger;
};

export type Harness = Awaited<ReturnType<typeof createHarness>>;

export async function createHarness(opts: HarnessOptions = {}) {
  const database = opts.database ?? (await createTestDatabase());
  if (!opts.database && opts.directory !== null) await importDirectory(database.db, opts.directory ?? FIXTURE);
  const prefix = opts.prefix ?? `t${randomUUID().slice(0, 8)}`;
  const scheduler: Scheduler =
    opts.scheduler === "bullmq"
      ? new BullScheduler({ url: opts.redisUrl ?? REDIS_URL, prefix, concurrency: 10, logger: silent })
      : new MemoryScheduler(silent);
  const runtime = new Runtime({
    database,
    scheduler,
    senders: opts.senders ?? [simSender],
    fetchers: opts.fetchers,
    logger: opts.logger ?? silent,
    botNames: ["好邻"],
    clock: opts.clock,
    overrides: opts.overrides,
    reconcileIntervalMs: opts.reconcileIntervalMs ?? 60_000,
    graceMs: opts.graceMs,
  });
  // The producer fails fast while Redis is not connected yet (by design: the reconciler catches up). A test should
  // not start before it is connected, or a loaded machine turns a wake-up into a 60 s reconciler wait.
  await waitFor(async () => (await scheduler.health()).ok);
  if (opts.start !== false) runtime.start();
  const app = createApp({ runtime, logger: silent, sim: true });

  async function post(chatId: string, userId: string, text: string, messageId?: string) {
    const res = await app.request("/sim/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chatId, userId, text, messageId }),
    });
    return { status: res.status, body: (await res.json()) as { replies: { text: string; mentions: string[] }[]; error?: string } };
  }

  /** Send as a person and return the bot's reply texts joined. */
  async function say(chatId: string, userId: string, text: string, messageId?: string) {
    const r = await post(chatId, userId, text, messageId);
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.error}`);
    return { text: r.body.replies.map((x) => x.text).join("\n"), mentions: r.body.replies.flatMap((x) => x.mentions) };
  }

  async function chatLog(chatId: string) {
    const res = await app.request(`/sim/chats/${chatId}/messages`);
    return ((await res.json()) as { messages: { at: string; from: string; text: string; mentions: string[] }[] }).messages;
  }

  return {
    database,
    db: database.db,
    runtime,
    scheduler,
    app,
    prefix,
    post,
    say,
    chatLog,
    /** Stop this replica; closes the database too unless it was shared in. */
    async close() {
      await runtime.stop();
      await scheduler.close();
      if (!opts.database) await database.close();
      // The replica that owns the key prefix cleans its queues out of the shared Redis.
      if (opts.scheduler === "bullmq" && !opts.prefix && !opts.redisUrl) await dropPrefix(prefix);
    },
  };
}

/** Delete every Redis key under a BullMQ prefix (SCAN, not KEYS: the server is shared). */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const stream = redis.scanStream({ match: `${prefix}:*`, count: 500 });
    for await (const keys of stream as AsyncIterable<string[]>) if (keys.length) await redis.unlink(...keys);
  } finally {
    await redis.quit();
  }
}

/** Poll until `check` returns a truthy value or the time is up. */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`waitFor: timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
