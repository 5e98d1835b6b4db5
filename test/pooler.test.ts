/**
 * Behind a connection pooler in transaction mode (DATABASE_POOLER=transaction), as on most managed PostgreSQL:
 * Debian's PgBouncer, started here in front of the test PostgreSQL (DATABASE_URL, else the local one) with
 * `pool_mode = transaction` and fewer server connections than the bots' pools, so a client connection's statements
 * keep landing on other server sessions. Through it: replicas migrate one empty database at once, and two real bot
 * processes answer the simulator, deduplicate a redelivery, escalate every ticket up the ladder on their short clocks
 * and deliver every notice once. Without DATABASE_POOLER=transaction the same bots hang on their prepared statements
 * (PgBouncer 1.18 cannot follow them), and with a session-level migration lock the second replica waits for ever.
 */
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratePostgresUrl, migrationsFolder } from "../src/db/migrate.js";
import { loadEnv } from "../src/env.js";
import { type BotProcess, freePort, startBot } from "./helpers/bot-process.js";
import { REDIS_URL } from "./helpers/harness.js";
import { PgBouncer } from "./helpers/pgbouncer.js";

const BASE = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const NAME = `haolin_t_pool_${randomInt(1e9)}`;
let bouncer: PgBouncer;
let direct: postgres.Sql;
const bots: BotProcess[] = [];
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const admin = postgres(BASE, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${NAME}`);
  cleanup.push(async () => {
    await admin.unsafe(`drop database if exists ${NAME} with (force)`);
    await admin.end();
  });
  // Three server connections for two bots with pools of four, the migrators and the checks below.
  bouncer = await PgBouncer.start({ server: BASE, poolSize: 3 });
  cleanup.push(() => bouncer.stop());
  const url = new URL(BASE);
  url.pathname = `/${NAME}`;
  direct = postgres(url.toString(), { max: 2, onnotice: () => {} });
  cleanup.push(() => direct.end({ timeout: 5 }));
}, 60_000);

afterAll(async () => {
  for (const b of bots) b.killGroup();
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

describe("behind PgBouncer in transaction mode", () => {
  it("a deployment says so with DATABASE_POOLER; a value that is not a pooling mode stops start-up naming it", () => {
    expect(loadEnv({}).DATABASE_POOLER).toBe("none");
    expect(loadEnv({ DATABASE_POOLER: "transaction" }).DATABASE_POOLER).toBe("transaction");
    expect(() => loadEnv({ DATABASE_POOLER: "pgbouncer" })).toThrow(/DATABASE_POOLER/);
  });

  it("the stage is a transaction pooler: a client connection's server session goes to another client between statements", async () => {
    const a = postgres(bouncer.url(NAME), { max: 1, prepare: false, onnotice: () => {} });
    const b = postgres(bouncer.url(NAME), { max: 1, prepare: false, onnotice: () => {} });
    try {
      const pid = async (sql: postgres.Sql | postgres.TransactionSql) => (await sql.unsafe("select pg_backend_pid() as pid"))[0]?.pid as number;
      const first = await pid(a);
      const seen = await b.begin(async (tx) => ({ held: await pid(tx), next: await pid(a) }));
      // PgBouncer hands out the server connection released last (LIFO): b's transaction runs in the session a's
      // statement just used — impossible in session pooling — and a's next statement runs in another one.
      expect(seen.held).toBe(first);
      expect(seen.next).not.toBe(first);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it("replicas migrating one empty database at once through it: every one succeeds, each migration is applied once", async () => {
    await Promise.all([1, 2, 3].map(() => migratePostgresUrl(bouncer.url(NAME))));
    const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, "utf8")) as { entries: unknown[] };
    const [row] = await direct<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(row?.n).toBe(journal.entries.length);
    // No lock is left behind on any server session (a session-level lock would be).
    const [locks] = await direct<{ n: number }[]>`
      select count(*)::int as n from pg_locks
      where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`;
    expect(locks?.n).toBe(0);
  }, 120_000);

  it("two bots through it answer, deduplicate, escalate every ticket up the ladder and deliver each notice once", { timeout: 300_000 }, async () => {
    const redisUrl = new URL(REDIS_URL);
    redisUrl.pathname = `/${randomInt(1, 16)}`;
    const env = (port: number, extra: Record<string, string> = {}) => ({
      DATABASE_URL: bouncer.url(NAME),
      DATABASE_POOLER: "transaction",
      DATABASE_POOL_SIZE: "4",
      REDIS_URL: redisUrl.toString(),
      SIM_ENABLED: "true",
      ANSWER_DEADLINE: "2s",
      PORT: String(port),
      HOST: "127.0.0.1",
      ...extra,
    });
    // The first bot loads the demo directory; the second starts on it (two first boots would both load it).
    const ports = [await freePort(), await freePort()];
    const a = startBot(process.execPath, ["--import", "tsx", "src/index.ts"], env(ports[0] as number, { DEMO_DATA: "true" }));
    bots.push(a);
    await a.waitReady(ports[0] as number, 120_000);
    const b = startBot(process.execPath, ["--import", "tsx", "src/index.ts"], env(ports[1] as number, { DEMO_DATA: "false" }));
    bots.push(b);
    await b.waitReady(ports[1] as number, 120_000);
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);

    // Residents of the demo directory in the simulator groups over their units.
    const dir = (await (await fetch(`${urls[0]}/sim/directory`)).json()) as {
      units: { id: string; parentId: string | null }[];
      chats: { id: string; unitId: string }[];
      people: { id: string; role: string; unitId: string }[];
    };
    const parent = new Map(dir.units.map((u) => [u.id, u.parentId]));
    const within = (unit: string | null | undefined, top: string): boolean => unit === top || (unit != null && within(parent.get(unit), top));
    const pairs = dir.people
      .filter((p) => p.role === "resident")
      .flatMap((p) => dir.chats.filter((c) => within(p.unitId, c.unitId)).map((c) => ({ chatId: c.id, userId: p.id })));
    expect(pairs.length).toBeGreaterThan(3);

    const send = async (url: string, body: Record<string, string>) => {
      const res = await fetch(`${url}/sim/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { replies: { text: string }[] }).replies.map((r) => r.text).join("\n");
    };
    // Twenty reports at once, half through each bot.
    const reports = Array.from({ length: 20 }, (_, i) => ({ ...(pairs[i % pairs.length] as { chatId: string; userId: string }), text: `报事 连接池后面的第${i}件事`, messageId: `pool-${i}` }));
    const replies = await Promise.all(reports.map((r, i) => send(urls[i % 2] as string, r)));
    const ids = replies.map((t) => Number(/#(\d+)/.exec(t)?.[1]));
    expect(ids.every((id) => id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(20);
    // A redelivery through the other bot gets the same answer and creates nothing.
    expect(await send(urls[1] as string, reports[0] as Record<string, string>)).toBe(replies[0]);
    const [count] = await direct<{ n: number }[]>`select count(*)::int as n from tickets`;
    expect(count?.n).toBe(20);

    // Every ticket climbs to the top of the ladder on its 2 s clocks (waiting for the events, not for a time). At the
    // top a ticket is pinged again every 2 s, so new rows keep coming: the end point is one snapshot (one statement)
    // in which every ticket is at the top and no row is pending or sending; what it saw of the outbox is checked below.
    let statuses: string[] = [];
    for (;;) {
      const [s] = await direct<{ left: number; pending: number; statuses: string[] }[]>`
        select (select count(*)::int from tickets where level <> 'town') as left,
               (select count(*)::int from outbox where status in ('pending', 'sending')) as pending,
               (select coalesce(array_agg(distinct status::text order by status::text), '{}'::text[]) from outbox) as statuses`;
      if (s?.left === 0 && s.pending === 0) {
        statuses = s.statuses;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    // Each step once: no ticket escalated twice to the same level, every notice sent, none failed.
    const twice = await direct`
      select ticket_id, data->>'to' as level, count(*) from ticket_events where kind = 'escalated'
      group by 1, 2 having count(*) > 1`;
    expect(twice).toEqual([]);
    const [steps] = await direct<{ n: number }[]>`select count(*)::int as n from ticket_events where kind = 'escalated'`;
    expect(steps?.n).toBeGreaterThanOrEqual(40);
    // Every notice written by then was sent: none failed, skipped or cancelled.
    expect(statuses).toEqual(["sent"]);

    for (const bot of [a, b]) {
      bot.child.kill("SIGTERM");
      expect(await bot.exited).toBe(0);
      // Nothing failed on the way: no error logged by either bot.
      expect(bot.output()).not.toMatch(/"level":(50|60)/);
    }
  });
});
