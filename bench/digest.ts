/**
 * npm run bench:digest — weekly digests from SQL aggregates at scale, on PostgreSQL.
 * Seeds a scratch database (bench/seed.ts: 1 town, 10 villages, 1,000 groups each with a chat, 5,000 邻; 1,000,000
 * tickets over 26 weeks with their events), then times: all 1,000 weekly digests
 * (figures + text), one chat's digest, and as the baseline a plain `count(*) … group by` over the same table.
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) names the server; the scratch database is dropped
 * at the end (BENCH_KEEP=1 keeps it; BENCH_DB=<name> keeps it under that name and reuses its seed next time).
 * BENCH_TICKETS / BENCH_CHATS scale it down for a quick run.
 */
import { queryRows, sql } from "../src/db/client.js";
import { digestFigures, UnitTree } from "../src/workflows/digests/index.js";
import { formatWeeklyDigest } from "../src/workflows/digests/format.js";
import { weeklySlot } from "../src/workflows/digests/period.js";
import { weeklyFigures } from "../src/workflows/digests/weekly.js";
import { policyFor } from "../src/workflows/policy.js";
import { benchDatabase } from "./seed.js";


const TICKETS = Number(process.env.BENCH_TICKETS ?? 1_000_000);
const CHATS = Number(process.env.BENCH_CHATS ?? 1000);
const NOW = new Date("2026-03-06T00:05:00Z"); // Friday 08:05 Asia/Shanghai

async function main() {
  const database = await benchDatabase({
    base: process.env.DATABASE_URL,
    tickets: TICKETS,
    groups: CHATS,
    now: NOW,
    keep: Boolean(process.env.BENCH_KEEP),
    reuse: process.env.BENCH_DB,
  });
  const { db } = database;
  try {
    const policy = policyFor({});
    const { window, slot } = weeklySlot(NOW, policy.digest.weekday, policy.digest.minutes);
    const tree = await UnitTree.load(db);
    const chats = Array.from({ length: CHATS }, (_, k) => ({ id: `c${k + 1}`, unitId: `g${k + 1}` }));

    // Baseline: a plain count(*) … group by over the same table.
    let t0 = performance.now();
    const base = await queryRows(db, sql`select unit_id, count(*) from tickets group by unit_id`);
    const baseline = performance.now() - t0;
    console.log(`baseline: select unit_id, count(*) from tickets group by unit_id → ${base.length} rows in ${baseline.toFixed(0)} ms`);

    for (const round of [1, 2]) {
      t0 = performance.now();
      const figures = await weeklyFigures(
        db,
        chats.map((c) => ({ chatId: c.id, unitId: c.unitId })),
        { window, asOf: slot, answerMs: policy.answerMs, resolveMs: policy.resolveMs },
      );
      const aggregates = performance.now() - t0;
      let bytes = 0;
      for (const c of chats) bytes = Math.max(bytes, Buffer.byteLength(formatWeeklyDigest(figures.get(c.id) as never, tree.name(c.unitId))));
      const all = performance.now() - t0;
      const created = [...figures.values()].reduce((a, f) => a + f.created, 0);
      console.log(
        `round ${round}: all ${CHATS} weekly digests in ${all.toFixed(0)} ms (SQL aggregates ${aggregates.toFixed(0)} ms) = ${(all / CHATS).toFixed(2)} ms per chat; ` +
          `${created.toLocaleString("en")} new tickets in the week; largest digest ${bytes} bytes; ${(all / baseline).toFixed(1)}× the baseline`,
      );
    }
    // One chat on its own (周报 on demand), averaged.
    t0 = performance.now();
    for (let k = 0; k < 20; k++) await digestFigures(db, [chats[(k * 37) % CHATS] as { id: string; unitId: string }], window, slot, policy);
    console.log(`one chat's digest on demand (with visit coverage): ${((performance.now() - t0) / 20).toFixed(1)} ms`);
  } finally {
    await database.close();
    if (process.env.BENCH_KEEP) console.log(`kept database ${database.name}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
