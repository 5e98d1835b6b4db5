/**
 * npm run bench:digest — weekly digests from SQL aggregates at scale, on PostgreSQL.
 * Seeds a scratch database (1 town, 10 villages, 1,000 groups each with a chat, 5,000 邻; 1,000,000 tickets over
 * 26 weeks with their events) with `insert … select generate_series`, then times: all 1,000 weekly digests
 * (figures + text), one chat's digest, and as the baseline a plain `count(*) … group by` over the same table.
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) names the server; the scratch database is dropped
 * at the end (BENCH_KEEP=1 keeps it). BENCH_TICKETS / BENCH_CHATS scale it down for a quick run.
 */
import { queryRows, sql } from "../src/db/client.js";
import { digestFigures, UnitTree } from "../src/workflows/digests/index.js";
import { formatWeeklyDigest } from "../src/workflows/digests/format.js";
import { weeklySlot } from "../src/workflows/digests/period.js";
import { weeklyFigures } from "../src/workflows/digests/weekly.js";
import { policyFor } from "../src/workflows/policy.js";
import { scratchPostgres } from "../test/helpers/db.js";

const BASE = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const TICKETS = Number(process.env.BENCH_TICKETS ?? 1_000_000);
const CHATS = Number(process.env.BENCH_CHATS ?? 1000);
const NEIGHBORHOODS = CHATS * 5;
const NOW = new Date("2026-03-06T00:05:00Z"); // Friday 08:05 Asia/Shanghai
const SPAN_S = 26 * 7 * 86_400;

const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;

async function main() {
  const database = await scratchPostgres(BASE, { prefix: "haolin_bench_", poolSize: 4, keep: Boolean(process.env.BENCH_KEEP) });
  const { db } = database;
  try {
    let t0 = performance.now();
    const nowIso = NOW.toISOString();
    await db.execute(sql`insert into units (id, kind, name) values ('t', 'town', '基准镇')`);
    await db.execute(sql`insert into units (id, parent_id, kind, name) select 'v' || i, 't', 'village', '村' || i from generate_series(1, 10) i`);
    await db.execute(
      sql`insert into units (id, parent_id, kind, name) select 'g' || i, 'v' || (1 + (i - 1) % 10), 'group', '组' || i from generate_series(1, ${CHATS}::int) i`,
    );
    await db.execute(
      sql`insert into units (id, parent_id, kind, name) select 'n' || i, 'g' || (1 + (i - 1) / 5), 'neighborhood', '邻' || i from generate_series(1, ${NEIGHBORHOODS}::int) i`,
    );
    await db.execute(
      sql`insert into people (id, name, role, unit_id) select 'nl' || i, '邻长' || i, 'neighbor_leader', 'n' || i from generate_series(1, ${NEIGHBORHOODS}::int) i`,
    );
    await db.execute(
      sql`insert into people (id, name, role, unit_id) select 'gl' || i, '组长' || i, 'group_leader', 'g' || i from generate_series(1, ${CHATS}::int) i`,
    );
    await db.execute(
      sql`insert into chats (id, platform, external_id, unit_id, name, created_at)
          select 'c' || i, 'sim', 'c' || i, 'g' || i, '群' || i, '2025-01-01' from generate_series(1, ${CHATS}::int) i`,
    );
    // Tickets: spread over 26 weeks before NOW; pseudo-random but deterministic per id.
    await db.execute(sql`
      insert into tickets (id, unit_id, holder_unit_id, level, category, text, status, created_at, updated_at,
                           first_answered_at, answered_at, resolved_at, closed_at, rating, reopen_count, escalation_count)
      select i::int, 'n' || n, case when esc then 'g' || (1 + (n - 1) / 5) else 'n' || n end,
        case when esc then 'group' else 'neighborhood' end,
        (array['基础设施','环境卫生','矛盾纠纷','农业水利','民生服务','其他'])[1 + i % 6], '基准工单', st, c, c,
        case when ans is null then null else c + ans end, case when ans is null then null else c + ans end,
        case when st in ('resolved', 'closed') then c + ans + interval '20 hours' end,
        case when st = 'closed' then c + ans + interval '30 hours' end,
        case when st = 'closed' then 'satisfied' end, case when i % 37 = 0 then 1 else 0 end, case when esc then 1 else 0 end
      from (
        select i, 1 + (i * 7919) % ${NEIGHBORHOODS}::int as n,
          ${nowIso}::timestamptz - ((i * 104729) % ${SPAN_S}::int) * interval '1 second' as c,
          case when i % 10 = 0 then null else ((i * 31) % 600) * interval '1 minute' end as ans,
          case when i % 10 = 0 then 'open' when i % 5 = 1 then 'answered' when i % 3 = 0 then 'resolved' else 'closed' end as st,
          i % 10 = 0 as esc
        from generate_series(1::bigint, ${TICKETS}::bigint) i
      ) x`);
    await db.execute(sql`select setval(pg_get_serial_sequence('tickets', 'id'), ${TICKETS}::int)`);
    console.log(`seeded ${CHATS} chats, ${NEIGHBORHOODS} 邻, ${TICKETS.toLocaleString("en")} tickets in ${ms(t0)}`);
    t0 = performance.now();
    await db.execute(sql`
      insert into ticket_events (ticket_id, at, actor_id, kind, level)
      select id, created_at, null, 'opened', 'neighborhood' from tickets
      union all select id, first_answered_at, 'nl' || substr(unit_id, 2), 'claimed', 'neighborhood' from tickets where first_answered_at is not null
      union all select id, resolved_at, 'nl' || substr(unit_id, 2), 'resolved', level from tickets where resolved_at is not null
      union all select id, closed_at, null, 'rated', level from tickets where closed_at is not null
      union all select id, created_at + interval '4 hours', null, 'escalated', 'group' from tickets where escalation_count > 0`);
    await db.execute(sql`analyze`);
    const [ev] = await queryRows<{ n: string }>(db, sql`select count(*) as n from ticket_events`);
    console.log(`seeded ${Number(ev?.n).toLocaleString("en")} ticket events in ${ms(t0)}`);

    const policy = policyFor({});
    const { window, slot } = weeklySlot(NOW, policy.digest.weekday, policy.digest.minutes);
    const tree = await UnitTree.load(db);
    const chats = Array.from({ length: CHATS }, (_, k) => ({ id: `c${k + 1}`, unitId: `g${k + 1}` }));

    // Baseline: a plain count(*) … group by over the same table.
    t0 = performance.now();
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
