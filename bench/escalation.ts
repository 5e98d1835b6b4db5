/**
 * bench:escalation — 10,000 pending answer deadlines due within about a minute, fired through the real runtime
 * (BullMQ delayed jobs → handleDeadline → CAS escalation in PostgreSQL → outbox). Prints fire lateness
 * p50/p99/max, duplicates and misses, and — in the same run — the lateness of bare BullMQ delayed jobs as the
 * baseline. Needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); defaults to the local ones.
 */
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { pino } from "pino";
import { simSender } from "../src/bot/sim/sender.js";
import { queryRows, sql } from "../src/db/client.js";
import { importDirectory } from "../src/db/directory-import.js";
import { Runtime } from "../src/runtime.js";
import { BullScheduler } from "../src/scheduler/bullmq.js";
import { percentile, printTable, REDIS, scratchDatabase } from "./lib.js";

const N = Number(process.env.BENCH_DEADLINES ?? 10_000);
const SPREAD_MS = Number(process.env.BENCH_SPREAD_MS ?? 60_000);
const LEAD_MS = 5_000;
const logger = pino({ level: "warn" });

function stats(lateness: number[]) {
  const s = [...lateness].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? Number.NaN };
}

/** Bare BullMQ: the same number of delayed jobs with the same spread; lateness = processed at − due. */
async function baseline(): Promise<{ lateness: number[]; duplicates: number; misses: number }> {
  const prefix = `bb${randomUUID().slice(0, 8)}`;
  const conn = new Redis(REDIS, { maxRetriesPerRequest: null });
  const queue = new Queue("bare", { connection: conn, prefix });
  const seen = new Map<string, number>();
  const lateness: number[] = [];
  const worker = new Worker(
    "bare",
    async (job) => {
      lateness.push(Date.now() - (job.data as { due: number }).due);
      seen.set(job.id as string, (seen.get(job.id as string) ?? 0) + 1);
    },
    { connection: new Redis(REDIS, { maxRetriesPerRequest: null }), prefix, concurrency: 50 },
  );
  const start = Date.now() + LEAD_MS;
  const jobs = Array.from({ length: N }, (_, i) => {
    const due = start + Math.floor((i / N) * SPREAD_MS);
    return { name: "bare", data: { due }, opts: { jobId: `bare-${i}`, delay: due - Date.now(), removeOnComplete: true } };
  });
  for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000).map((j) => ({ ...j, opts: { ...j.opts, delay: Math.max(0, j.data.due - Date.now()) } })));
  const end = start + SPREAD_MS + 30_000;
  while (seen.size < N && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await conn.quit();
  const duplicates = [...seen.values()].filter((n) => n > 1).length;
  return { lateness, duplicates, misses: N - seen.size };
}

async function haolin(): Promise<{ lateness: number[]; duplicates: number; misses: number; rssMb: number }> {
  const scratch = await scratchDatabase(20);
  const { db } = scratch.database;
  await importDirectory(db, fileURLToPath(new URL("../test/fixtures/directory.yaml", import.meta.url)));
  const start = Date.now() + LEAD_MS + 10_000; // seeding and scheduling take a few seconds
  await db.execute(sql`
    insert into tickets (unit_id, holder_unit_id, level, category, text, status, assignee_id, chat_id, reporter_id, answer_due_at)
    select 'n1', 'n1', 'neighborhood', '其他', 'bench ' || g, 'open', 'nl1', 'c1', 'r1',
           to_timestamp((${start} + floor((g - 1)::float8 / ${N} * ${SPREAD_MS})) / 1000.0)
    from generate_series(1, ${N}) g`);
  const prefix = `be${randomUUID().slice(0, 8)}`;
  const scheduler = new BullScheduler({ url: REDIS, prefix, concurrency: 50, logger });
  // The next level's clock is long, so each ticket escalates exactly once during the run.
  const runtime = new Runtime({ database: scratch.database, scheduler, senders: [simSender], logger, botNames: ["好邻"], overrides: { answerMs: 3_600_000 } });
  runtime.start();
  await runtime.reconcile(); // the reconciler puts every deadline on BullMQ, as after a restart
  const end = start + SPREAD_MS + 30_000;
  let rss = 0;
  for (;;) {
    rss = Math.max(rss, process.memoryUsage().rss);
    const [row] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from tickets where escalation_count > 0`);
    if ((row?.n ?? 0) >= N || Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const rows = await queryRows<{ ticket_id: number; n: number; first_at: Date; due: Date }>(
    db,
    sql`select e.ticket_id, count(*)::int as n, min(e.at) as first_at,
               to_timestamp((${start} + floor((e.ticket_id - 1)::float8 / ${N} * ${SPREAD_MS})) / 1000.0) as due
        from ticket_events e where e.kind = 'escalated' group by e.ticket_id`,
  );
  const lateness = rows.map((r) => new Date(r.first_at).getTime() - new Date(r.due).getTime());
  const duplicates = rows.filter((r) => r.n > 1).length;
  const misses = N - rows.length;
  await runtime.stop();
  await scheduler.close();
  const r = new Redis(REDIS);
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  await scratch.drop();
  return { lateness, duplicates, misses, rssMb: Math.round(rss / 1048576) };
}

async function main() {
  console.log(`bench:escalation — ${N} deadlines due over ${SPREAD_MS / 1000} s (PostgreSQL + Redis on this machine)`);
  const bare = await baseline();
  const ours = await haolin();
  const b = stats(bare.lateness);
  const o = stats(ours.lateness);
  const ratio = (x: number, y: number) => (y > 0 ? `${(x / y).toFixed(2)}×` : "n/a");
  printTable(
    "Fire lateness (ms after due)",
    ["", "p50", "p99", "max", "duplicates", "misses"],
    [
      ["bare BullMQ delayed job (baseline)", b.p50, b.p99, b.max, bare.duplicates, bare.misses],
      ["Haolin escalation (job → CAS → event + outbox)", o.p50, o.p99, o.max, ours.duplicates, ours.misses],
      ["ratio Haolin / baseline", ratio(o.p50, b.p50), ratio(o.p99, b.p99), ratio(o.max, b.max), "", ""],
    ],
  );
  console.log(`\n  peak RSS of the bench process: ${ours.rssMb} MB`);
  const ok = ours.duplicates === 0 && ours.misses === 0;
  console.log(`\n${ok ? "PASS" : "FAIL"}: duplicates=${ours.duplicates} misses=${ours.misses} p99=${o.p99} ms (baseline p99=${b.p99} ms)`);
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
