/**
 * npm run bench:digest — the weekly digests of a province, on PostgreSQL.
 *
 * For each size in BENCH_SIZES (chats; default 1,000 and 10,000) it seeds a scratch database with bench/seed.ts:
 * BENCH_TICKETS tickets (default 1,000,000) over 26 weeks with their events, one chat per group, 5 邻 per group,
 * 100 groups per village, 10 villages per town. Then, in the same database:
 * - baseline: `select unit_id, count(*) from tickets group by unit_id` (the cheapest look at every ticket);
 * - fan-out: Friday's digests for every chat through the product's path (`fanOutWeeklyDigests` in one transaction:
 *   figures, visit coverage, text, one outbox row per chat), twice (the rows deleted in between), and a third run
 *   that finds every row queued (the idempotent path the 5-minute tick takes all week);
 * - on demand: `周报` in one chat (`digestForChat`, unit tree included), 20 chats spread over the province.
 * Targets, at 10,000 chats over 1,000,000 tickets: the fan-out ≤ 30 s (its wall time, which bounds the database
 * time), one on-demand 周报 ≤ 300 ms on average. Smaller runs print figures and end FAIL (not the target size).
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) names the server; scratch databases are dropped
 * at the end. BENCH_DB=<name> keeps each size's seed as <name>_<chats> and reuses it next time (migrations still run).
 */
import { eq } from "drizzle-orm";
import { type Db, queryRows, sql } from "../src/db/client.js";
import { outbox } from "../src/db/schema/index.js";
import { digestForChat, fanOutWeeklyDigests } from "../src/workflows/digests/index.js";
import { Effects } from "../src/workflows/effects.js";
import { percentile, printTable } from "./lib.js";
import { benchDatabase } from "./seed.js";

const TICKETS = Number(process.env.BENCH_TICKETS ?? 1_000_000);
const SIZES = (process.env.BENCH_SIZES ?? "1000,10000").split(",").map(Number);
const NOW = new Date("2026-03-06T00:05:00Z"); // Friday 08:05 Asia/Shanghai, just after the digest's slot
const TARGET = { chats: 10_000, tickets: 1_000_000, fanOutMs: 30_000, onDemandMs: 300 };
const ON_DEMAND = 20;

type Figures = { chats: number; baselineMs: number; fanOutMs: number[]; queued: number; againMs: number; onDemand: number[] };

const ctxOf = (db: Db, now = NOW) => ({ db, now, effects: new Effects(), overrides: {} });

async function measure(chats: number): Promise<Figures> {
  const database = await benchDatabase({
    base: process.env.DATABASE_URL,
    tickets: TICKETS,
    groups: chats,
    villages: Math.max(1, Math.round(chats / 100)),
    towns: Math.max(1, Math.round(chats / 1000)),
    now: NOW,
    reuse: process.env.BENCH_DB ? `${process.env.BENCH_DB}_${chats}` : undefined,
  });
  const { db } = database;
  try {
    await db.delete(outbox).where(eq(outbox.kind, "digest"));
    await db.execute(sql`vacuum analyze outbox`);
    let t0 = performance.now();
    const base = await queryRows(db, sql`select unit_id, count(*) from tickets group by unit_id`);
    const baselineMs = performance.now() - t0;
    console.log(`${chats} chats: baseline count(*) group by → ${base.length} rows in ${baselineMs.toFixed(0)} ms`);

    const fanOutMs: number[] = [];
    let queued = 0;
    for (const round of [1, 2]) {
      if (round > 1) await db.delete(outbox).where(eq(outbox.kind, "digest"));
      t0 = performance.now();
      const r = await db.transaction((tx) => fanOutWeeklyDigests(ctxOf(tx as unknown as Db)));
      fanOutMs.push(performance.now() - t0);
      queued = r.queued;
      console.log(`${chats} chats: fan-out round ${round}: ${r.queued} queued over ${r.towns} towns in ${fanOutMs.at(-1)?.toFixed(0)} ms`);
    }
    t0 = performance.now();
    const again = await db.transaction((tx) => fanOutWeeklyDigests(ctxOf(tx as unknown as Db, new Date(NOW.getTime() + 300_000))));
    const againMs = performance.now() - t0;
    console.log(`${chats} chats: the next tick finds ${again.existing} queued, queues ${again.queued}, in ${againMs.toFixed(0)} ms`);

    const onDemand: number[] = [];
    const [sample] = await queryRows<{ text: string }>(db, sql`select payload->>'text' as text from outbox where kind = 'digest' limit 1`);
    if (!sample?.text.includes("新增")) throw new Error("a queued digest has no figures");
    for (let k = 0; k < ON_DEMAND; k++) {
      const i = 1 + ((k * 7919) % chats);
      t0 = performance.now();
      const text = await digestForChat(ctxOf(db), { id: `c${i}`, unitId: `g${i}` });
      onDemand.push(performance.now() - t0);
      if (!text.includes("近 7 天")) throw new Error(`周报 of c${i} is not a digest`);
    }
    console.log(`${chats} chats: 周报 on demand: mean ${mean(onDemand).toFixed(0)} ms, max ${Math.max(...onDemand).toFixed(0)} ms`);
    return { chats, baselineMs, fanOutMs, queued, againMs, onDemand };
  } finally {
    await database.close();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  console.log(`bench:digest — ${TICKETS.toLocaleString("en")} tickets; chats: ${SIZES.join(", ")}`);
  const results: Figures[] = [];
  for (const chats of SIZES) results.push(await measure(chats));
  printTable(
    `weekly digests over ${TICKETS.toLocaleString("en")} tickets (ms; × = against the count(*) baseline of the same database)`,
    ["chats", "baseline", "fan-out (worse of 2)", "×", "per chat", "next tick", "周报 mean", "周报 p95", "×"],
    results.map((r) => {
      const fan = Math.max(...r.fanOutMs);
      const sorted = [...r.onDemand].sort((a, b) => a - b);
      return [
        r.chats,
        r.baselineMs.toFixed(0),
        fan.toFixed(0),
        (fan / r.baselineMs).toFixed(1),
        (fan / r.chats).toFixed(2),
        r.againMs.toFixed(0),
        mean(r.onDemand).toFixed(0),
        percentile(sorted, 95).toFixed(0),
        (mean(r.onDemand) / r.baselineMs).toFixed(2),
      ];
    }),
  );
  const full = results.find((r) => r.chats >= TARGET.chats && TICKETS >= TARGET.tickets);
  const verdicts: [boolean, string][] = [];
  if (!full) {
    verdicts.push([false, `fan-out: not measured at ${TARGET.chats} chats over ${TARGET.tickets.toLocaleString("en")} tickets`]);
  } else {
    const fan = Math.max(...full.fanOutMs);
    const od = mean(full.onDemand);
    verdicts.push([
      fan <= TARGET.fanOutMs && full.queued === full.chats,
      `fan-out of ${full.chats} digests: ${(fan / 1000).toFixed(1)} s (target ≤ ${TARGET.fanOutMs / 1000} s), ${full.queued} queued, ${(fan / full.baselineMs).toFixed(0)}× the baseline`,
    ]);
    verdicts.push([od <= TARGET.onDemandMs, `周报 on demand: ${od.toFixed(0)} ms mean (target ≤ ${TARGET.onDemandMs} ms)`]);
  }
  for (const [ok, line] of verdicts) console.log(`${ok ? "ok  " : "MISS"} ${line}`);
  const pass = verdicts.every(([ok]) => ok);
  console.log(`${pass ? "PASS" : "FAIL"}: ${verdicts.map(([, l]) => l).join("; ")}`);
  process.exit(pass ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
