/**
 * The benchmarks' one seeder: a directory (towns → villages → groups → 邻, one chat per group, a 邻长 per 邻, a 组长
 * per group, village and town officials, residents) and tickets with their 台账 events, written by
 * `insert … select generate_series` in a few statements (1,000,000 tickets take about a minute), deterministic per id.
 * With `households`, also each 邻's households (5–15, about 12% special) and a year of their visits and contacts
 * (`seedHouseholds`, `seedVisits`).
 *
 * `benchDatabase(options)` opens a migrated scratch database on PostgreSQL and seeds it. With `reuse: name`
 * (BENCH_DB in the benches) the database of that name is kept and, when its seed was made with the same options, used
 * again as it is (migrations still run, so a new index is measured on the old rows) — seeding a million rows once
 * instead of every run.
 */

import type { SQL } from "drizzle-orm";
import postgres from "postgres";
import { type Db, queryRows, sql, textArray } from "../src/db/client.js";
import { scratchPostgres } from "../test/helpers/db.js";

export type SeedOptions = {
  /** Tickets (default 1,000,000). */
  tickets?: number;
  /** Residents' groups, each with one chat (default 1,000). Units: towns + villages + groups × (1 + neighborhoodsPerGroup). */
  groups?: number;
  /** Villages, the groups spread evenly over them (default 10). */
  villages?: number;
  /** Towns, the villages spread evenly over them (default 1). */
  towns?: number;
  /** 邻 per group, each with its 邻长 (default 5). */
  neighborhoodsPerGroup?: number;
  /** Tickets' creation times spread over this many weeks before `now` (default 26). */
  weeks?: number;
  /**
   * "lifecycle" (default): the events each ticket's state implies (opened, claimed, escalated, resolved, rated; 3.3 a
   * ticket on average). A number n: those padded with 'replied' events to n per ticket (at least the lifecycle ones).
   */
  eventsPerTicket?: "lifecycle" | number;
  /** Residents (people with role resident in the 邻, in turn), who report the tickets (default 0: no reporter). */
  people?: number;
  /** The seed's "now" (default Friday 2026-03-06 08:05 Asia/Shanghai, just after the weekly digest's slot). */
  now?: Date;
  /**
   * Households and a year of visits (default false): 5–15 households per 邻 (邻长联户), ~12% special (a tag of the
   * default special list), visited as the care plans ask with some periods missed; residents belong to households of
   * their 邻 and a fifth of the tickets name one (诉求户). See `seedHouseholds`.
   */
  households?: boolean;
};

/**
 * Bumped whenever what a given set of options seeds changes (a reused database made by an older seeder is emptied and
 * seeded again rather than measured as if it were the new shape). 2: households and visits; 3: their marks.
 */
const SEED_VERSION = 3;

export type Seed = Required<SeedOptions> & { neighborhoods: number; units: number; events: number; householdCount: number; visitCount: number };

/** Unit ids: towns t1…, villages v1…, groups g1…, 邻 n1…; chats c<i> bound to g<i>; 邻长 nl<i>, 组长 gl<i>, residents r<i>. */
export const seedIds = { town: (i: number) => `t${i}`, village: (i: number) => `v${i}`, group: (i: number) => `g${i}`, chat: (i: number) => `c${i}` };

export function seedOptions(o: SeedOptions = {}): Required<SeedOptions> {
  return {
    tickets: o.tickets ?? 1_000_000,
    groups: o.groups ?? 1000,
    villages: o.villages ?? 10,
    towns: o.towns ?? 1,
    neighborhoodsPerGroup: o.neighborhoodsPerGroup ?? 5,
    weeks: o.weeks ?? 26,
    eventsPerTicket: o.eventsPerTicket ?? "lifecycle",
    people: o.people ?? 0,
    now: o.now ?? new Date("2026-03-06T00:05:00Z"),
    households: o.households ?? false,
  };
}

const ms = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** Seeds an empty, migrated database. Logs each step's time through `log`. */
export async function seed(db: Db, options: SeedOptions = {}, log: (line: string) => void = console.log): Promise<Seed> {
  const o = seedOptions(options);
  const N = o.groups * o.neighborhoodsPerGroup;
  const K = o.neighborhoodsPerGroup;
  const span = o.weeks * 7 * 86_400;
  const nowIso = o.now.toISOString();
  let t0 = performance.now();
  await db.execute(sql`insert into units (id, kind, name) select 't' || i, 'town', '基准镇' || i from generate_series(1, ${o.towns}::int) i`);
  await db.execute(sql`insert into units (id, parent_id, kind, name)
    select 'v' || i, 't' || (1 + (i - 1) % ${o.towns}::int), 'village', '村' || i from generate_series(1, ${o.villages}::int) i`);
  await db.execute(sql`insert into units (id, parent_id, kind, name)
    select 'g' || i, 'v' || (1 + (i - 1) % ${o.villages}::int), 'group', '组' || i from generate_series(1, ${o.groups}::int) i`);
  await db.execute(sql`insert into units (id, parent_id, kind, name)
    select 'n' || i, 'g' || (1 + (i - 1) / ${K}::int), 'neighborhood', '邻' || i from generate_series(1, ${N}::int) i`);
  if (o.households) await seedHouseholds(db, N);
  // A resident of 邻 n belongs to one of its households (in turn) when there are households.
  await db.execute(sql`insert into people (id, name, role, unit_id, household_id)
    select 'nl' || i, '邻长' || i, 'neighbor_leader', 'n' || i, null from generate_series(1, ${N}::int) i
    union all select 'gl' || i, '组长' || i, 'group_leader', 'g' || i, null from generate_series(1, ${o.groups}::int) i
    union all select 'vo' || i, '村干部' || i, 'village_official', 'v' || i, null from generate_series(1, ${o.villages}::int) i
    union all select 'to' || i, '镇干部' || i, 'town_official', 't' || i, null from generate_series(1, ${o.towns}::int) i
    union all select 'r' || i, '居民' || i, 'resident', 'n' || n,
      case when ${o.households} then 'h' || n || '_' || (1 + ((i - 1) / ${N}::int) % ${HOUSEHOLDS_OF(sql`n`)}) end
    from generate_series(1, ${o.people}::int) i, lateral (select 1 + (i - 1) % ${N}::int as n) x`);
  await db.execute(sql`insert into chats (id, platform, external_id, unit_id, name, created_at)
    select 'c' || i, 'sim', 'c' || i, 'g' || i, '群' || i, '2025-01-01' from generate_series(1, ${o.groups}::int) i`);
  await bulkLoad(db, ["tickets", "ticket_events", "visits"], async (tx) => {
    const t1 = await seedTickets(tx, o, N, K, span, nowIso);
    log(`seeded ${o.towns} towns, ${o.villages} villages, ${o.groups} groups and chats, ${N} 邻, ${o.people} residents, ${o.tickets.toLocaleString("en")} tickets in ${ms(t0)}`);
    t0 = t1;
    await seedEvents(tx, o);
    if (o.households) await seedVisits(tx, N, K, nowIso);
  });
  await db.execute(sql`analyze`);
  const [c] = await queryRows<{ events: string; households: string; visits: string }>(
    db,
    sql`select (select count(*) from ticket_events) as events, (select count(*) from households) as households, (select count(*) from visits) as visits`,
  );
  const events = Number(c?.events);
  const householdCount = Number(c?.households);
  const visitCount = Number(c?.visits);
  log(
    `seeded ${events.toLocaleString("en")} ticket events${o.households ? `, ${householdCount.toLocaleString("en")} households and ${visitCount.toLocaleString("en")} visits` : ""} in ${ms(t0)} (indexes built again included)`,
  );
  return { ...o, neighborhoods: N, units: o.towns + o.villages + o.groups + N, events, householdCount, visitCount };
}

/** How many households 邻 number `n` has (5–15, deterministic): the same expression wherever households are named. */
const HOUSEHOLDS_OF = (n: SQL) => sql`(5 + (${n} * 7) % 11)`;

/**
 * Every household, as (n, k, id, special, byContact): household k of 邻 n, id h<n>_<k>. About 12% are special; a
 * third of those are looked after by weekly contact (电联/微信), the rest by a monthly home visit.
 */
const householdRows = (N: number) => sql`
  select n, k, 'h' || n || '_' || k as id, (n * 31 + k * 17) % 100 < 12 as special, (n + k) % 3 = 0 as by_contact
  from generate_series(1, ${N}::int) n, generate_series(1, ${HOUSEHOLDS_OF(sql`n`)}) k`;

/** The households of every 邻 (before the people: residents name theirs). */
async function seedHouseholds(db: Db, N: number): Promise<void> {
  await db.execute(sql`
    insert into households (id, unit_id, head_name, tags, care_level, house_no)
    select id, 'n' || n, '户主' || n || '_' || k,
      case when special then array[(array['留守儿童', '孤寡老人', '独居老人', '残疾', '低保'])[1 + (n + k) % 5]] else '{}'::text[] end,
      case when special then 'special' else 'normal' end, k || '号'
    from (${householdRows(N)}) h`);
}

/**
 * A year of visits and contacts before now, logged by each 邻's 邻长, roughly what the care plans ask: every normal
 * household (and each special one looked after by contact) a home visit per 91 days, each special one on visits a home
 * visit per 30 days, each special one on contact a 微信/电话 contact per 7 days — at a deterministic point of each
 * period, with 15% / 10% / 15% of the periods missed. Plus one unmatched visit (a name nobody matched) per 20 邻.
 */
async function seedVisits(db: Db, N: number, K: number, nowIso: string): Promise<void> {
  await db.execute(sql`
    insert into visits (household_id, leader_id, unit_id, kind, channel, query, status, chat_id, at, created_at)
    select h.id, 'nl' || h.n, 'n' || h.n, p.kind, p.channel, '户主' || h.n || '_' || h.k, 'matched', 'c' || (1 + (h.n - 1) / ${K}::int), p.at, p.at
    from (${householdRows(N)}) h
    cross join lateral (
      select 'visit' as kind, 'home' as channel, j, 91 as days from generate_series(0, 3) j where not h.special or h.by_contact
      union all select 'visit', 'home', j, 30 from generate_series(0, 11) j where h.special and not h.by_contact
      union all select 'contact', case when j % 2 = 0 then 'wechat' else 'phone' end, j, 7 from generate_series(0, 51) j where h.special and h.by_contact
    ) s
    cross join lateral (select (h.n * 7919 + h.k * 104729 + s.j * 31) % 1000 as r) x
    cross join lateral (
      select s.kind, s.channel,
        ${nowIso}::timestamptz - (s.j * s.days + x.r % s.days) * interval '1 day' - (x.r % 600) * interval '1 minute' as at
    ) p
    where x.r % 100 >= case s.days when 30 then 10 else 15 end
    union all
    select null, 'nl' || n, 'n' || n, 'visit', 'home', '不知名住户' || n, 'unmatched', 'c' || (1 + (n - 1) / ${K}::int),
      ${nowIso}::timestamptz - (n % 60) * interval '1 day', ${nowIso}::timestamptz - (n % 60) * interval '1 day'
    from generate_series(20, ${N}::int, 20) n`);
  // The triggers that keep each household's marks do not fire in a bulk load (replica role): counted once here.
  await db.execute(sql`
    insert into household_visit_marks (household_id, last_visit_at, last_touch_at)
    select household_id, max(at) filter (where kind = 'visit'), max(at) from visits
    where status = 'matched' and household_id is not null group by household_id`);
}

/**
 * Runs a bulk load into `tables` in one transaction with their secondary indexes dropped and built again afterwards
 * (the same definitions, from pg_indexes), and foreign keys unchecked (session_replication_role = replica: the seed
 * writes only ids it made). Both cut the time of a million-row seed: index entries row by row and a key lookup per
 * event cost more than the rows themselves.
 */
async function bulkLoad(db: Db, tables: string[], work: (tx: Db) => Promise<void>): Promise<void> {
  await db.transaction(async (t) => {
    const tx = t as unknown as Db;
    await tx.execute(sql`select set_config('session_replication_role', 'replica', true)`);
    const indexes = await queryRows<{ name: string; def: string }>(
      tx,
      sql`select indexname as name, indexdef as def from pg_indexes
        where schemaname = current_schema() and tablename = any(${textArray(tables)})
          and indexname not in (select conname from pg_constraint)`,
    );
    for (const i of indexes) await tx.execute(sql`drop index ${sql.identifier(i.name)}`);
    await work(tx);
    for (const i of indexes) await tx.execute(sql.raw(i.def));
  });
}

/** Tickets over `weeks` before now (returns the time it finished). */
async function seedTickets(db: Db, o: Required<SeedOptions>, N: number, K: number, span: number, nowIso: string): Promise<number> {
  // Each in a 邻 (pseudo-random but deterministic per id): 10% open (those escalated to the group), the rest answered /
  // resolved / closed; answered within 0–10 h, resolved 20 h after.
  await db.execute(sql`
    insert into tickets (id, unit_id, holder_unit_id, level, category, text, status, chat_id, reporter_id, assignee_id,
                         created_at, updated_at, first_answered_at, answered_at, resolved_at, closed_at, rating,
                         reopen_count, escalation_count, household_id)
    select i::int, 'n' || n, case when esc then 'g' || (1 + (n - 1) / ${K}::int) else 'n' || n end,
      case when esc then 'group' else 'neighborhood' end,
      (array['基础设施','环境卫生','矛盾纠纷','农业水利','民生服务','其他'])[1 + i % 6], '基准工单', st,
      'c' || (1 + (n - 1) / ${K}::int),
      case when ${o.people}::int > 0 then 'r' || (1 + (i * 7) % greatest(${o.people}::int, 1)) end,
      case when ans is not null then 'nl' || n end,
      c, c, c + ans, c + ans,
      case when st in ('resolved', 'closed') then c + ans + interval '20 hours' end,
      case when st = 'closed' then c + ans + interval '30 hours' end,
      case when st = 'closed' then 'satisfied' end, case when i % 37 = 0 then 1 else 0 end, case when esc then 1 else 0 end,
      -- A fifth of the tickets are for one of the 邻's households (诉求户) when there are households.
      case when ${o.households} and i % 5 = 2 then 'h' || n || '_' || (1 + i % ${HOUSEHOLDS_OF(sql`n`)}) end
    from (
      select i, 1 + (i * 7919) % ${N}::int as n,
        ${nowIso}::timestamptz - ((i * 104729) % ${span}::int) * interval '1 second' as c,
        case when i % 10 = 0 then null else ((i * 31) % 600) * interval '1 minute' end as ans,
        case when i % 10 = 0 then 'open' when i % 5 = 1 then 'answered' when i % 3 = 0 then 'resolved' else 'closed' end as st,
        i % 10 = 0 as esc
      from generate_series(1::bigint, ${o.tickets}::bigint) i
    ) x`);
  await db.execute(sql`select setval(pg_get_serial_sequence('tickets', 'id'), greatest(${o.tickets}::int, 1))`);
  return performance.now();
}

/** The events each ticket's state implies, padded with replies when `eventsPerTicket` is a number. */
async function seedEvents(db: Db, o: Required<SeedOptions>): Promise<void> {
  await db.execute(sql`
    insert into ticket_events (ticket_id, at, actor_id, kind, level)
    select id, created_at, reporter_id, 'opened', 'neighborhood' from tickets
    union all select id, first_answered_at, 'nl' || substr(unit_id, 2), 'claimed', 'neighborhood' from tickets where first_answered_at is not null
    union all select id, resolved_at, 'nl' || substr(unit_id, 2), 'resolved', level from tickets where resolved_at is not null
    union all select id, closed_at, reporter_id, 'rated', level from tickets where closed_at is not null
    union all select id, created_at + interval '4 hours', null, 'escalated', 'group' from tickets where escalation_count > 0`);
  if (typeof o.eventsPerTicket === "number") {
    // Pad each ticket with replies (a minute apart after it was opened) up to eventsPerTicket.
    await db.execute(sql`
      insert into ticket_events (ticket_id, at, actor_id, kind, level, text)
      select t.id, t.created_at + k * interval '1 minute', 'nl' || substr(t.unit_id, 2), 'replied', t.level, '基准回复'
      from tickets t, generate_series(1, ${o.eventsPerTicket}::int - (1 + (t.first_answered_at is not null)::int
        + (t.resolved_at is not null)::int + (t.closed_at is not null)::int + (t.escalation_count > 0)::int)) k`);
  }
}

type BenchDatabase = Awaited<ReturnType<typeof scratchPostgres>> & { seed: Seed; reused: boolean };

/**
 * A migrated PostgreSQL database next to `base`, seeded with `options`. Without `reuse` it is a fresh scratch database
 * dropped by `close()` (`keep` keeps it). With `reuse: name` the database of that name is created when missing, seeded
 * once and kept; a later call with the same options finds the seed (table bench_seed) and skips it, with other options
 * it is emptied and seeded again.
 */
export async function benchDatabase(
  options: SeedOptions & { base?: string; poolSize?: number; keep?: boolean; reuse?: string; log?: (line: string) => void } = {},
): Promise<BenchDatabase> {
  const base = options.base ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const log = options.log ?? console.log;
  const wanted = seedOptions(options);
  const key = JSON.stringify({ version: SEED_VERSION, ...wanted, now: wanted.now.toISOString() });
  const database = await scratchPostgres(base, {
    prefix: "haolin_bench_",
    poolSize: options.poolSize ?? 4,
    keep: Boolean(options.keep || options.reuse),
    name: options.reuse,
  });
  const { db } = database;
  await db.execute(sql`create table if not exists bench_seed (options text not null, seed jsonb not null)`);
  const [found] = await queryRows<{ options: string; seed: Seed }>(db, sql`select options, seed from bench_seed`);
  if (found?.options === key) {
    log(`reusing the seed in database ${database.name}`);
    return { ...database, seed: { ...found.seed, now: new Date(found.seed.now) }, reused: true };
  }
  if (found || (await queryRows(db, sql`select 1 from units limit 1`)).length > 0) {
    log(`database ${database.name} holds another seed: emptying it`);
    await db.execute(sql`truncate bench_seed, units, households, household_visit_marks, people, chats, tickets, ticket_events, visits, outbox restart identity cascade`);
  }
  const s = await seed(db, wanted, log);
  await db.execute(sql`insert into bench_seed (options, seed) values (${key}, ${JSON.stringify(s)}::jsonb)`);
  return { ...database, seed: s, reused: false };
}

/** Drops a database kept by `reuse` (for a clean start). */
export async function dropBenchDatabase(name: string, base = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test") {
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}
