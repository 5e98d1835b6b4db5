/**
 * bench:escalation — deadlines at province scale, through the real runtime (BullMQ wake-up slots → a slot's lapsed
 * clocks → compare-and-set, 台账 event and outbox rows in PostgreSQL), against bare BullMQ delayed jobs measured in the
 * same run. Sizes (environment):
 *   BENCH_OPEN=100000      open tickets with live clocks (the reconciler is also measured at a tenth of it)
 *   BENCH_CLOSED=500000    closed tickets of history (with their events and sent messages)
 *   BENCH_DEADLINES=10000  of the open tickets, due within BENCH_SPREAD_MS=60000
 *   BENCH_WAVE=10000       then a wave due within BENCH_WAVE_MS=5000, and a burst of as many due within 0.5 s
 * Targets: lateness p99 ≤ 1 s with 0 duplicates and 0 misses; the wave escalated, each once, within 10 s of its start;
 * ≥ 2,000 escalations/s (the burst); a reconciler pass ≤ 2 s of database time at BENCH_OPEN open.
 * Lateness is measured when the escalation's event is written (clock_timestamp() in PostgreSQL, just before commit).
 * Deliveries are not run here (the outbox rows are written and their jobs queued; sending is the delivery bench's).
 * The bench starts its own PostgreSQL and Redis on loopback and stops them.
 */
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { pino } from "pino";
import { simSender } from "../src/bot/sim/sender.js";
import { type Db, openDatabase, queryRows, sql } from "../src/db/client.js";
import { importDirectory } from "../src/db/directory-import.js";
import { migrateDatabase } from "../src/db/migrate.js";
import { Runtime } from "../src/runtime.js";
import { BullScheduler } from "../src/scheduler/bullmq.js";
import { percentile, printTable } from "./lib.js";
import { PgServer, RedisServer, scratchDir, stopAll } from "./soak/services.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const OPEN = env("BENCH_OPEN", 100_000);
const CLOSED = env("BENCH_CLOSED", 500_000);
const N = env("BENCH_DEADLINES", 10_000);
const SPREAD_MS = env("BENCH_SPREAD_MS", 60_000);
const WAVE = env("BENCH_WAVE", 10_000);
const WAVE_MS = env("BENCH_WAVE_MS", 5_000);
const BURST_MS = 500;
/** How long after a phase's last due time it may take before what is not done counts as missed. */
const DRAIN_MS = 30_000;
const LEAD_MS = 3_000;
const TARGET = { p99Ms: 1000, waveMs: 10_000, perSecond: 2000, reconcileDbMs: 2000 };
/** The product's defaults (DATABASE_POOL_SIZE, WORKER_CONCURRENCY). */
const POOL = 10;
const CONCURRENCY = 10;
const logger = pino({ level: "warn" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Set in main: the Redis this run started. */
let REDIS = "";

type Phase = { name: string; n: number; spreadMs: number };
const PHASES: Phase[] = [
  { name: "minute", n: N, spreadMs: SPREAD_MS },
  { name: "wave", n: WAVE, spreadMs: WAVE_MS },
  { name: "burst", n: WAVE, spreadMs: BURST_MS },
];

type Result = { lateness: number[]; duplicates: number; misses: number; firstDue: number; lastDone: number };

function stats(r: Result) {
  const s = [...r.lateness].sort((a, b) => a - b);
  const spanMs = r.lastDone - r.firstDue;
  return {
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s.at(-1) ?? Number.NaN,
    spanMs,
    perSecond: spanMs > 0 ? Math.round((r.lateness.length / spanMs) * 1000) : Number.NaN,
  };
}

/** Bare BullMQ: the same number of delayed jobs with the same spread; lateness = processed at − due. */
async function bare(phase: Phase): Promise<Result> {
  const prefix = `bb${randomUUID().slice(0, 8)}`;
  const conn = new Redis(REDIS, { maxRetriesPerRequest: null });
  const queue = new Queue("bare", { connection: conn, prefix });
  const seen = new Map<string, number>();
  const lateness: number[] = [];
  let lastDone = 0;
  const workerConn = new Redis(REDIS, { maxRetriesPerRequest: null });
  const worker = new Worker(
    "bare",
    async (job) => {
      lastDone = Date.now();
      lateness.push(lastDone - (job.data as { due: number }).due);
      seen.set(job.id as string, (seen.get(job.id as string) ?? 0) + 1);
    },
    { connection: workerConn, prefix, concurrency: CONCURRENCY },
  );
  const start = Date.now() + LEAD_MS;
  const dues = Array.from({ length: phase.n }, (_, i) => start + Math.floor((i / phase.n) * phase.spreadMs));
  for (let i = 0; i < dues.length; i += 1000) {
    const now = Date.now();
    await queue.addBulk(
      dues.slice(i, i + 1000).map((due, j) => ({ name: "bare", data: { due }, opts: { jobId: `bare-${i + j}`, delay: Math.max(0, due - now), removeOnComplete: true } })),
    );
  }
  const end = start + phase.spreadMs + DRAIN_MS;
  while (seen.size < phase.n && Date.now() < end) await sleep(100);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await conn.quit();
  workerConn.disconnect();
  const duplicates = [...seen.values()].filter((n) => n > 1).length;
  return { lateness, duplicates, misses: phase.n - seen.size, firstDue: start, lastDone };
}

/** Open tickets of the fixture's 邻 with clocks spread over [from, to] (ms since the epoch). */
async function seedOpen(db: Db, n: number, from: number, to: number) {
  await db.execute(sql`
    insert into tickets (unit_id, holder_unit_id, level, category, text, status, assignee_id, chat_id, reporter_id, answer_due_at)
    select 'n1', 'n1', 'neighborhood', '其他', 'bench ' || g, 'open', 'nl1', 'c1', 'r1',
           to_timestamp((${from} + floor(random() * ${to - from})) / 1000.0)
    from generate_series(1, ${n}) g`);
}

/** Closed history: tickets with their opened/claimed/resolved/closed events and two sent messages each. */
async function seedClosed(db: Db, n: number) {
  for (let done = 0; done < n; done += 100_000) {
    const k = Math.min(100_000, n - done);
    await db.execute(sql`
      with t as (
        insert into tickets (unit_id, holder_unit_id, level, category, text, status, assignee_id, chat_id, reporter_id,
                             answered_at, first_answered_at, resolved_at, closed_at, rating, created_at, updated_at)
        select 'n1', 'n1', 'neighborhood', '其他', 'history ' || g, 'closed', 'nl1', 'c1', 'r1',
               d + interval '1 hour', d + interval '1 hour', d + interval '1 day', d + interval '2 days', 'satisfied', d, d + interval '2 days'
        from generate_series(1, ${k}) g, lateral (select now() - interval '3 years' + g * interval '15 minutes' as d) x
        returning id, created_at),
      e as (
        insert into ticket_events (ticket_id, at, actor_id, kind, from_status, to_status, level)
        select t.id, t.created_at + k.o * interval '1 hour', k.actor, k.kind, k.f, k.s, 'neighborhood'
        from t cross join (values (0, 'r1', 'opened', null, 'open'), (1, 'nl1', 'claimed', 'open', 'answered'),
                                  (24, 'nl1', 'resolved', 'answered', 'resolved'), (48, 'r1', 'rated', 'resolved', 'closed'))
               as k(o, actor, kind, f, s))
      insert into outbox (dedupe_key, chat_id, kind, payload, status, not_before, created_at, sent_at, platform)
      select 'history-' || t.id || '-' || m, 'c1', 'notice', '{"text":"history"}'::jsonb, 'sent', t.created_at, t.created_at, t.created_at, 'sim'
      from t cross join generate_series(1, 2) m`);
  }
  await db.execute(sql`analyze`);
}

/** Give `n` open tickets (not used by a phase yet) clocks spread over [start, start + spreadMs]. */
async function setDue(db: Db, phase: Phase, start: number) {
  await db.execute(sql`
    with pick as (
      select id, row_number() over (order by id) - 1 as i from tickets
      where status = 'open' and text like 'bench %' and escalation_count = 0 and answer_due_at > now() + interval '10 minutes'
        and id not in (select ticket_id from bench_due)
      order by id limit ${phase.n}),
    u as (
      update tickets t set answer_due_at = to_timestamp((${start} + floor(pick.i::float8 / ${phase.n} * ${phase.spreadMs})) / 1000.0),
        version = t.version + 1
      from pick where t.id = pick.id returning t.id, t.answer_due_at)
    insert into bench_due (ticket_id, phase, due) select id, ${phase.name}, answer_due_at from u`);
}

async function measure(db: Db, phase: Phase, start: number): Promise<Result> {
  const end = start + phase.spreadMs + DRAIN_MS;
  for (;;) {
    const [row] = await queryRows<{ n: number }>(
      db,
      sql`select count(distinct s.ticket_id)::int as n from bench_seen s join bench_due d using (ticket_id) where d.phase = ${phase.name}`,
    );
    if ((row?.n ?? 0) >= phase.n || Date.now() > end) break;
    await sleep(200);
  }
  const rows = await queryRows<{ n: number; first_at: Date; last_at: Date; due: Date }>(
    db,
    sql`select count(*)::int as n, min(s.at) as first_at, max(s.at) as last_at, d.due
        from bench_due d join bench_seen s using (ticket_id) where d.phase = ${phase.name} group by d.ticket_id, d.due`,
  );
  const ms = (d: Date) => new Date(d).getTime();
  return {
    lateness: rows.map((r) => ms(r.first_at) - ms(r.due)),
    duplicates: rows.filter((r) => r.n > 1).length,
    misses: phase.n - rows.length,
    firstDue: start,
    lastDone: Math.max(0, ...rows.map((r) => ms(r.last_at))),
  };
}

type Ours = { results: Map<string, Result>; reconcile: { label: string; open: number; closed: number; dbMs: number }[]; rssMb: number };

async function haolin(pg: PgServer): Promise<Ours> {
  const url = await pg.createDatabase("bench");
  const database = await openDatabase({ url, poolSize: POOL });
  await migrateDatabase(database, url);
  const { db } = database;
  await importDirectory(db, fileURLToPath(new URL("../test/fixtures/directory.yaml", import.meta.url)));
  // What the bench watches: each ticket's due time per phase, and each escalation's event when it was written.
  await db.execute(sql`create table bench_due (ticket_id int primary key, phase text not null, due timestamptz not null)`);
  await db.execute(sql`create table bench_seen (ticket_id int not null, at timestamptz not null)`);
  await db.execute(sql`create function bench_seen() returns trigger language plpgsql as $$
    begin insert into bench_seen select ticket_id, clock_timestamp() from new_rows where kind = 'escalated'; return null; end $$`);
  await db.execute(sql`create trigger bench_seen after insert on ticket_events referencing new table as new_rows
    for each statement execute function bench_seen()`);

  const prefix = `be${randomUUID().slice(0, 8)}`;
  const scheduler = new BullScheduler({ url: REDIS, prefix, concurrency: CONCURRENCY, logger });
  const processQueue = scheduler.process.bind(scheduler);
  scheduler.process = (queue, handler) => {
    if (queue !== "outbox") processQueue(queue, handler);
  };
  // The next level's clock is long, so each ticket escalates exactly once during the run.
  const runtime = new Runtime({ database, scheduler, senders: [simSender], logger, botNames: ["好邻"], overrides: { answerMs: 3_600_000 } });
  const reconcile: Ours["reconcile"] = [];
  const pass = async (label: string, open: number, closed: number) => {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) runs.push((await runtime.reconcile()).dbMs);
    reconcile.push({ label, open, closed, dbMs: [...runs].sort((a, b) => a - b)[2] as number });
  };
  // Live clocks: the open tickets' answer clocks run out over the next four hours (a few during the run, as in life).
  const live = () => [Date.now() + 2 * 60_000, Date.now() + 4 * 3_600_000] as const;
  const small = Math.round(OPEN / 10);
  await seedOpen(db, small, ...live());
  await db.execute(sql`analyze`);
  await pass(`${small.toLocaleString("en")} open`, small, 0);
  await seedOpen(db, OPEN - small, ...live());
  await db.execute(sql`analyze`);
  await pass(`${OPEN.toLocaleString("en")} open`, OPEN, 0);
  await seedClosed(db, CLOSED);
  await pass(`${OPEN.toLocaleString("en")} open + ${CLOSED.toLocaleString("en")} closed`, OPEN, CLOSED);

  runtime.start();
  const results = new Map<string, Result>();
  let rss = 0;
  const sampler = setInterval(() => {
    rss = Math.max(rss, process.memoryUsage().rss);
  }, 250);
  for (const phase of PHASES) {
    const start = Date.now() + LEAD_MS;
    await setDue(db, phase, start);
    await runtime.reconcile(); // PostgreSQL holds the clocks; the reconciler arms their wake-up slots
    results.set(phase.name, await measure(db, phase, start));
  }
  clearInterval(sampler);
  await runtime.stop();
  await scheduler.close();
  await database.close();
  return { results, reconcile, rssMb: Math.round(rss / 1048576) };
}

async function main() {
  console.log(
    `bench:escalation — ${OPEN.toLocaleString("en")} open tickets, ${CLOSED.toLocaleString("en")} closed; ${N} due over ${SPREAD_MS / 1000} s, ` +
      `a wave of ${WAVE} over ${WAVE_MS / 1000} s, a burst of ${WAVE} over ${BURST_MS / 1000} s (own PostgreSQL + Redis on loopback)`,
  );
  const root = scratchDir("haolin-bench-escalation-");
  const pg = await PgServer.start(root);
  REDIS = (await RedisServer.start(root)).url;
  const baseline = new Map<string, Result>();
  for (const phase of PHASES) baseline.set(phase.name, await bare(phase));
  const ours = await haolin(pg);
  await stopAll();
  const ratio = (x: number, y: number) => (y > 0 && Number.isFinite(x) ? `${(x / y).toFixed(2)}×` : "n/a");
  const rows: (string | number)[][] = [];
  for (const phase of PHASES) {
    const b = baseline.get(phase.name) as Result;
    const o = ours.results.get(phase.name) as Result;
    const sb = stats(b);
    const so = stats(o);
    const what = `${phase.n} over ${phase.spreadMs / 1000} s`;
    rows.push([`${phase.name} (${what}): bare BullMQ`, sb.p50, sb.p99, sb.max, sb.spanMs, sb.perSecond, b.duplicates, b.misses]);
    rows.push([`${phase.name} (${what}): Haolin`, so.p50, so.p99, so.max, so.spanMs, so.perSecond, o.duplicates, o.misses]);
    rows.push([`${phase.name}: ratio Haolin / bare`, ratio(so.p50, sb.p50), ratio(so.p99, sb.p99), ratio(so.max, sb.max), ratio(so.spanMs, sb.spanMs), ratio(so.perSecond, sb.perSecond), "", ""]);
  }
  printTable("Fire lateness (ms after due) and throughput (first due → last escalated)", ["", "p50", "p99", "max", "span ms", "per s", "dup", "missed"], rows);
  printTable(
    "Reconciler pass (database time, median of 5; nothing lapsed)",
    ["", "open", "closed", "db ms"],
    ours.reconcile.map((r) => [r.label, r.open, r.closed, r.dbMs]),
  );
  console.log(`\n  peak RSS of the bench process while escalating: ${ours.rssMb} MB`);

  const minute = stats(ours.results.get("minute") as Result);
  const m = ours.results.get("minute") as Result;
  const wave = ours.results.get("wave") as Result;
  const waveSpan = stats(wave).spanMs;
  const burst = stats(ours.results.get("burst") as Result);
  const bareBurst = stats(baseline.get("burst") as Result);
  const bigPass = Math.max(...ours.reconcile.filter((r) => r.open === OPEN).map((r) => r.dbMs));
  const verdicts: [boolean, string][] = [
    [minute.p99 <= TARGET.p99Ms, `lateness p99 ${minute.p99} ms (≤ ${TARGET.p99Ms}; bare BullMQ ${stats(baseline.get("minute") as Result).p99} ms) with ${OPEN} open`],
    [m.duplicates === 0 && m.misses === 0, `duplicates ${m.duplicates}, misses ${m.misses} (0 and 0)`],
    [
      wave.misses === 0 && wave.duplicates === 0 && waveSpan <= TARGET.waveMs,
      `wave of ${WAVE} due within ${WAVE_MS / 1000} s: last escalated ${waveSpan} ms after its start (≤ ${TARGET.waveMs}), duplicates ${wave.duplicates}, misses ${wave.misses}`,
    ],
    [burst.perSecond >= TARGET.perSecond, `throughput ${burst.perSecond} escalations/s (≥ ${TARGET.perSecond}; bare BullMQ ${bareBurst.perSecond} jobs/s, ratio ${ratio(burst.perSecond, bareBurst.perSecond)})`],
    [bigPass <= TARGET.reconcileDbMs, `reconciler pass ${bigPass} ms of database time at ${OPEN} open (≤ ${TARGET.reconcileDbMs})`],
  ];
  console.log("");
  for (const [ok, line] of verdicts) console.log(`${ok ? "ok  " : "MISS"} ${line}`);
  const ok = verdicts.every(([v]) => v);
  const small = ours.reconcile[0]?.dbMs;
  console.log(
    `\n${ok ? "PASS" : "FAIL"}: p99=${minute.p99} ms (bare ${stats(baseline.get("minute") as Result).p99} ms) dup=${m.duplicates} missed=${m.misses}; ` +
      `wave ${waveSpan} ms; ${burst.perSecond} escalations/s; reconciler ${small} ms at ${Math.round(OPEN / 10)} open, ${bigPass} ms at ${OPEN} open`,
  );
  process.exit(ok ? 0 : 1);
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
