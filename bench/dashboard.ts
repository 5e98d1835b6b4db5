/**
 * npm run bench:dashboard — the leaders' dashboard over a county's history: 1,000,000 tickets with their events over
 * 10,000 units (bench/seed.ts), read through the real HTTP path of a bot process this bench starts
 * (the compiled build with `npm run start:prod`'s command line, on loopback; a PostgreSQL scratch database, the
 * in-process scheduler), signed in twice:
 * as the admin (the admin token) and as a town official (their login link from /dashboard/links).
 *
 * At each size (BENCH_SIZES, default 100000,1000000: the database grows from one to the next, so the growth is
 * visible) it times, per viewer, p50/p95/max over BENCH_SAMPLES requests each (after a warm-up):
 *   overview (/dashboard), the ticket list filtered by village and paged (following 下一页), a ticket's timeline,
 *   履职评议 (/dashboard/scorecards) and the per-unit table (/dashboard/units, several periods and levels),
 * and, as the baseline in the same run, /readyz (an HTTP round trip and one trivial query). Then the XLSX export of
 * 100,000 tickets (the export's limit), with the bot's RSS sampled from /proc while it streams.
 *
 * Targets (issue 20 item 3), at the largest size: p95 ≤ 500 ms for each page and viewer; the export's peak RSS of
 * the bot ≤ 250 MB. One verdict line per target, a last line PASS/FAIL, exit 1 on a miss.
 *
 * Env: DATABASE_URL (server, default the local one), BENCH_SIZES, BENCH_SAMPLES (default 20), BENCH_KEEP=1 keeps
 * the seeded databases; BENCH_DB=<name> keeps one database per size (<name>_<size>) and reuses its seed on the next
 * run (bench/seed.ts), BENCH_SEED_ONLY=1 (with BENCH_DB) only seeds. BOT_BUILD=src runs the sources through tsx
 * instead of building first.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import { queryRows, sql } from "../src/db/client.js";
import { percentile, printTable } from "./lib.js";
import { benchDatabase } from "./seed.js";
import { freePort, onStop, procStats, scratchDir, sleep, stopAll, terminate } from "./soak/services.js";
import { nodeArgsOf, REPO } from "./soak/world.js";

const SIZES = (process.env.BENCH_SIZES ?? "100000,1000000").split(",").map(Number).sort((a, b) => a - b);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20);
const TARGET_P95_MS = 500;
const TARGET_RSS_MB = 250;
const EXPORT_TICKETS = 100_000;
const TOKEN = "bench-dashboard-admin-token-0123";
const SECRET = "bench-dashboard-session-secret-0123456789";
/**
 * 10,000 units: 10 towns of 10 villages, 1,978 groups (one chat each), 4 邻 a group; a year of tickets; residents;
 * 5–15 households a 邻 with a year of visits and contacts (the overview's and the table's 走访覆盖, 履职评议's 走访按时).
 */
const SHAPE = { towns: 10, villages: 100, groups: 1978, neighborhoodsPerGroup: 4, weeks: 52, people: 50_000, households: true };
/** The town official who signs in (seed: 镇干部 to1 of town t1). */
const TOWN = "t1";
const TOWN_OFFICIAL = "to1";

/** The bot under test: one process on a free loopback port, started against the seeded database. */
class BotProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(databaseUrl: string, logDir: string, name: string): Promise<BotProcess> {
    const port = await freePort();
    const log = openSync(join(logDir, `${name}.log`), "a");
    const entry = process.env.BOT_BUILD === "src" ? ["--import", "tsx", "src/index.ts"] : nodeArgsOf("start:prod");
    const child = spawn(process.execPath, entry, {
      cwd: REPO,
      stdio: ["ignore", log, log],
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        ADMIN_TOKEN: TOKEN,
        SESSION_SECRET: SECRET,
        LOG_LEVEL: "warn",
        SIM_ENABLED: "false",
        DEMO_DATA: "false",
      },
    });
    const bot = new BotProcess(child, `http://127.0.0.1:${port}`);
    onStop(() => terminate(child));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the bot exited during start-up; see ${logDir}/${name}.log`);
      try {
        if ((await fetch(`${bot.url}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200) return bot;
      } catch {}
      await sleep(250);
    }
    throw new Error("the bot was not ready in 120 s");
  }

  rssMb(): number {
    return this.child.pid ? (procStats(this.child.pid)?.rssMb ?? Number.NaN) : Number.NaN;
  }

  stop(): Promise<void> {
    return terminate(this.child);
  }
}

/** A signed-in browser: its session cookie, sent with every request. */
type Session = { who: string; cookie: string };

async function signInAdmin(bot: BotProcess): Promise<Session> {
  const res = await fetch(`${bot.url}/dashboard/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: TOKEN }).toString(),
  });
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  if (res.status !== 303 || !cookie) throw new Error(`admin sign-in: HTTP ${res.status}`);
  return { who: "admin", cookie };
}

/** A leader signs in with the login link the admin hands out (/dashboard/links), as a leader would. */
async function signInLeader(bot: BotProcess, admin: Session, personId: string, who: string): Promise<Session> {
  const links = await (await get(bot, admin, "/dashboard/links")).text();
  const m = new RegExp(`value="[^"]*(/dashboard/login/link\\?k=[^"]+)" [^>]*data-person="${personId}"`).exec(links);
  if (!m?.[1]) throw new Error(`no login link for ${personId}`);
  const res = await fetch(`${bot.url}${m[1].replaceAll("&amp;", "&")}`, { redirect: "manual" });
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  if (res.status !== 303 || !cookie) throw new Error(`leader sign-in: HTTP ${res.status}`);
  return { who, cookie };
}

async function get(bot: BotProcess, s: Session | null, path: string): Promise<Response> {
  const res = await fetch(`${bot.url}${path}`, { headers: s ? { cookie: s.cookie } : {}, redirect: "manual" });
  if (res.status !== 200) throw new Error(`${s?.who ?? "anonymous"} GET ${path}: HTTP ${res.status}`);
  return res;
}

/** Milliseconds from the request to the last byte of the body; the body for checks. */
async function timed(bot: BotProcess, s: Session | null, path: string): Promise<{ ms: number; body: string }> {
  const t0 = performance.now();
  const body = await (await get(bot, s, path)).text();
  return { ms: performance.now() - t0, body };
}

type Stats = { p50: number; p95: number; max: number; n: number };
const stats = (xs: number[]): Stats => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), max: s.at(-1) ?? Number.NaN, n: s.length };
};

/** Each page: the paths of its samples, in order (a page may follow links from its previous response). */
type Page = { key: string; label: string; next: (i: number, previous: string | null) => string };

/** Where the samples go: a village's tickets page by page (following 下一页), tickets' timelines, periods of the table. */
function pages(villages: string[], ticketIds: number[], lastMonth: string): Page[] {
  const nextLink = (body: string | null) => {
    const m = body ? /<a href="(\?[^"]*)">下一页<\/a>/.exec(body) : null;
    return m?.[1] ? `/dashboard/tickets${m[1].replaceAll("&amp;", "&")}` : null;
  };
  const unitVariants = ["", "?period=30d", "?period=month", "?period=week", "?rows=group", "?sort=overdue&dir=desc"];
  return [
    { key: "overview", label: "overview /dashboard", next: () => "/dashboard" },
    {
      key: "tickets",
      label: "ticket list (a village, paged)",
      // Five pages of one village (page 1, then 下一页 four times), then the next village.
      next: (i, prev) => (i % 5 !== 0 && nextLink(prev)) || `/dashboard/tickets?unit=${villages[Math.floor(i / 5) % villages.length]}`,
    },
    { key: "ticket", label: "a ticket's timeline", next: (i) => `/dashboard/tickets/${ticketIds[i % ticketIds.length]}` },
    { key: "scorecards", label: "履职评议 /dashboard/scorecards", next: (i) => `/dashboard/scorecards${i % 2 ? `?month=${lastMonth}` : ""}` },
    { key: "units", label: "per-unit table /dashboard/units", next: (i) => `/dashboard/units${unitVariants[i % unitVariants.length]}` },
  ];
}

/** The XLSX export streamed to its end, the bot's RSS sampled meanwhile; rows counted with ExcelJS's streaming reader. */
async function exportXlsx(bot: BotProcess, s: Session): Promise<{ seconds: number; mb: number; rssBeforeMb: number; rssPeakMb: number; rows: number[] }> {
  const rssBeforeMb = bot.rssMb();
  let rssPeakMb = rssBeforeMb;
  const sampler = setInterval(() => {
    rssPeakMb = Math.max(rssPeakMb, bot.rssMb());
  }, 25);
  const t0 = performance.now();
  const res = await get(bot, s, "/dashboard/export.xlsx");
  const chunks: Buffer[] = [];
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const body = Buffer.concat(chunks);
  const { default: ExcelJS } = await import("exceljs");
  const { Readable } = await import("node:stream");
  const rows: number[] = [];
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(Readable.from([body]), { worksheets: "emit", sharedStrings: "cache" });
  for await (const sheet of reader) {
    let n = 0;
    for await (const _row of sheet as unknown as AsyncIterable<unknown>) n += 1;
    rows.push(n - 1);
  }
  return { seconds, mb: body.length / 1e6, rssBeforeMb, rssPeakMb, rows };
}

type SizeResult = {
  tickets: number;
  events: number;
  households: number;
  visits: number;
  baseline: Stats;
  pages: { key: string; label: string; who: string; s: Stats }[];
  export: Awaited<ReturnType<typeof exportXlsx>>;
};

async function measureSize(size: number, logDir: string): Promise<SizeResult | null> {
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const reuse = process.env.BENCH_DB ? `${process.env.BENCH_DB}_${size}` : undefined;
  const database = await benchDatabase({ ...SHAPE, tickets: size, now: today, reuse, keep: Boolean(process.env.BENCH_KEEP) });
  let closed: Promise<void> | null = null;
  const close = () => (closed ??= database.close());
  onStop(close);
  const { db } = database;
  // A live database's tables are vacuumed by autovacuum (index-only scans need the visibility map); a fresh seed's not
  // yet. Quick when nothing changed since the last run.
  await db.execute(sql`vacuum (analyze) tickets, ticket_events, units, people, households, visits, household_visit_marks`);
  // What the samples visit: the town official's villages, and tickets spread over the whole history of each scope.
  const villages = (await queryRows<{ id: string }>(db, sql`select id from units where parent_id = ${TOWN} order by id`)).map((r) => r.id);
  const everyId = (await queryRows<{ id: number }>(db, sql`select id from tickets where id % ${Math.max(1, Math.floor(size / 200))} = 7 order by id`)).map((r) => Number(r.id));
  const townIds = (
    await queryRows<{ id: number }>(
      db,
      sql`select t.id from tickets t join units n on n.id = t.unit_id join units g on g.id = n.parent_id join units v on v.id = g.parent_id
        where v.parent_id = ${TOWN} and t.id % ${Math.max(1, Math.floor(size / 2000))} = 3 order by t.id`,
    )
  ).map((r) => Number(r.id));
  const shuffle = (xs: number[]) => xs.map((x, i) => ({ x, k: (i * 7919) % xs.length })).sort((a, b) => a.k - b.k).map((r) => r.x);
  const lastMonth = new Date(today.getTime() - 31 * 86_400_000).toISOString().slice(0, 7);
  if (process.env.BENCH_SEED_ONLY) {
    await close();
    return null;
  }

  const bot = await BotProcess.start(database.url, logDir, `bot-${size}`);
  const admin = await signInAdmin(bot);
  const official = await signInLeader(bot, admin, TOWN_OFFICIAL, "town official");
  const viewers = [
    { s: official, pages: pages(villages, shuffle(townIds), lastMonth) },
    { s: admin, pages: pages(villages, shuffle(everyId), lastMonth) },
  ];
  const times = new Map<string, number[]>();
  const previous = new Map<string, string | null>();
  const base: number[] = [];
  // One warm-up round (first charts drawn, ExcelJS not yet), then SAMPLES rounds, pages and viewers interleaved so a
  // busy moment of the shared machine spreads over all of them.
  for (let i = -1; i < SAMPLES; i++) {
    const r = await timed(bot, null, "/readyz");
    if (i >= 0) base.push(r.ms);
    for (const v of viewers)
      for (const p of v.pages) {
        const key = `${v.s.who}/${p.key}`;
        const path = p.next(Math.max(0, i), previous.get(key) ?? null);
        const { ms, body } = await timed(bot, v.s, path);
        previous.set(key, body);
        if (i >= 0) times.set(key, [...(times.get(key) ?? []), ms]);
      }
  }
  const xlsx = await exportXlsx(bot, admin);
  await bot.stop();
  await close();
  return {
    tickets: size,
    events: database.seed.events,
    households: database.seed.householdCount,
    visits: database.seed.visitCount,
    baseline: stats(base),
    pages: viewers.flatMap((v) => v.pages.map((p) => ({ key: p.key, label: p.label, who: v.s.who, s: stats(times.get(`${v.s.who}/${p.key}`) ?? []) }))),
    export: xlsx,
  };
}

async function main() {
  console.log(
    `bench:dashboard — ${SIZES.map((n) => n.toLocaleString("en")).join(" and ")} tickets over ${SHAPE.towns} towns, ${SHAPE.villages} villages, ` +
      `${SHAPE.groups} groups, ${SHAPE.groups * SHAPE.neighborhoodsPerGroup} 邻 (10,000 units); ${SAMPLES} samples per page and viewer`,
  );
  const logDir = scratchDir("haolin-bench-dashboard-");
  // Measure what production runs: the compiled build with `npm run start:prod`'s command line (BOT_BUILD=src: tsx).
  if (process.env.BOT_BUILD !== "src") execFileSync("npm", ["run", "--silent", "build"], { cwd: REPO, stdio: "inherit" });
  const results: SizeResult[] = [];
  for (const size of SIZES) {
    const r = await measureSize(size, logDir);
    if (!r) continue;
    results.push(r);
    console.log(`  seed: ${r.households.toLocaleString("en")} households, ${r.visits.toLocaleString("en")} visits and contacts`);
    const f = (x: number) => x.toFixed(0);
    printTable(
      `${size.toLocaleString("en")} tickets, ${r.events.toLocaleString("en")} events — milliseconds to the last byte`,
      ["page", "viewer", "p50", "p95", "max", "p95 / baseline p95"],
      [
        ["baseline: /readyz (HTTP + select 1)", "", f(r.baseline.p50), f(r.baseline.p95), f(r.baseline.max), "1×"],
        ...r.pages.map((p) => [p.label, p.who, f(p.s.p50), f(p.s.p95), f(p.s.max), `${(p.s.p95 / r.baseline.p95).toFixed(0)}×`]),
      ],
    );
    const x = r.export;
    console.log(
      `  XLSX export: ${x.rows.join(" + ")} rows, ${x.mb.toFixed(1)} MB in ${x.seconds.toFixed(1)} s; bot RSS ${f(x.rssBeforeMb)} MB before, peak ${f(x.rssPeakMb)} MB`,
    );
  }
  await stopAll();
  if (process.env.BENCH_SEED_ONLY) process.exit(0);

  const last = results.at(-1) as SizeResult;
  const first = results[0] as SizeResult;
  if (results.length > 1)
    printTable(
      `growth ${first.tickets.toLocaleString("en")} → ${last.tickets.toLocaleString("en")} tickets (p95)`,
      ["page", "viewer", "p95 small", "p95 large", "large / small"],
      last.pages.map((p, i) => {
        const s = first.pages[i]?.s.p95 ?? Number.NaN;
        return [p.label, p.who, s.toFixed(0), p.s.p95.toFixed(0), `${(p.s.p95 / s).toFixed(1)}×`];
      }),
    );
  console.log("");
  const verdicts: [string, boolean][] = last.pages.map((p) => [
    `${p.label}, ${p.who}: p95 ${p.s.p95.toFixed(0)} ms (≤ ${TARGET_P95_MS} ms)`,
    p.s.p95 <= TARGET_P95_MS,
  ]);
  const x = last.export;
  const whole = x.rows[0] === Math.min(EXPORT_TICKETS, last.tickets);
  verdicts.push([
    `XLSX export of ${(x.rows[0] ?? 0).toLocaleString("en")} tickets: bot RSS peak ${x.rssPeakMb.toFixed(0)} MB (≤ ${TARGET_RSS_MB} MB), ${x.seconds.toFixed(1)} s`,
    x.rssPeakMb <= TARGET_RSS_MB && whole,
  ]);
  for (const [line, ok] of verdicts) console.log(`${ok ? "PASS" : "FAIL"}  ${line}`);
  const ok = verdicts.every(([, v]) => v);
  const worst = [...last.pages].sort((a, b) => b.s.p95 - a.s.p95)[0];
  console.log(
    `\n${ok ? "PASS" : "FAIL"}: ${last.tickets.toLocaleString("en")} tickets — slowest p95 ${worst?.label} (${worst?.who}) ${worst?.s.p95.toFixed(0)} ms, ` +
      `baseline p95 ${last.baseline.p95.toFixed(0)} ms; export ${x.rows[0]} tickets with RSS peak ${x.rssPeakMb.toFixed(0)} MB`,
  );
  process.exit(ok ? 0 : 1);
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
