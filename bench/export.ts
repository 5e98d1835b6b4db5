/**
 * bench:export — the dashboard's 台账 downloads (XLSX and CSV) of a county's year: 100,000 tickets and 500,000 events
 * (BENCH_TICKETS), through the real HTTP route, signed in as the admin. Prints time, bytes, the process's peak RSS
 * growth and the longest event-loop stall during each download (the bot keeps answering messages meanwhile), and —
 * in the same run — the baseline: the same tickets and events read in one query each, with nothing written.
 * Needs PostgreSQL (DATABASE_URL, default the local one); runs in a scratch database it drops at the end.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import ExcelJS from "exceljs";
import { pino } from "pino";
import { createApp } from "../src/app.js";
import { simSender } from "../src/bot/sim/sender.js";
import { queryRows, sql } from "../src/db/client.js";
import { importDirectory } from "../src/db/directory-import.js";
import { Runtime } from "../src/runtime.js";
import { MemoryScheduler } from "../src/scheduler/memory.js";
import { printTable, scratchDatabase } from "./lib.js";

const N = Number(process.env.BENCH_TICKETS ?? 100_000);
const TOKEN = "bench-admin-token-0123456789";
const logger = pino({ level: "warn" });

type Measured = { seconds: number; mb: number; peakGrowthMb: number; stallMs: number; body: Buffer };

async function measure(work: () => Promise<Buffer>): Promise<Measured> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const t0 = performance.now();
  const body = await work();
  const seconds = (performance.now() - t0) / 1000;
  loop.disable();
  clearInterval(sampler);
  return { seconds, mb: body.length / 1e6, peakGrowthMb: (peak - base) / 1e6, stallMs: loop.max / 1e6, body };
}

async function main() {
  console.log(`bench:export — ${N} tickets with 5 events each, downloaded from the dashboard`);
  const scratch = await scratchDatabase(10);
  const { db } = scratch.database;
  await importDirectory(db, fileURLToPath(new URL("../test/fixtures/directory.yaml", import.meta.url)));
  await db.execute(sql`insert into tickets (unit_id, holder_unit_id, level, category, text, status, assignee_id, chat_id, reporter_id, created_at, updated_at)
    select 'n1', 'n1', 'neighborhood', '基础设施', '村口路灯坏了，晚上看不见，请尽快处理（' || g || '）', 'closed', 'nl1', 'c1', 'r1',
      now() - (g || ' minutes')::interval, now() from generate_series(1, ${N}) g`);
  await db.execute(sql`insert into ticket_events (ticket_id, at, actor_id, kind, from_status, to_status, level, text)
    select t.id, t.created_at + (k || ' minutes')::interval, 'nl1', (array['opened','claimed','replied','resolved','rated'])[k],
      'open', 'closed', 'neighborhood', '已处理，换了新灯泡' from tickets t, generate_series(1, 5) k`);
  const runtime = new Runtime({ database: scratch.database, scheduler: new MemoryScheduler(logger), senders: [simSender], logger, botNames: ["好邻"] });
  const app = createApp({ runtime, logger, sim: false, dashboard: { adminToken: TOKEN, sessionSecret: "b".repeat(40) } });
  const login = await app.request("/dashboard/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: TOKEN }).toString(),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
  const download = (path: string) => async () => {
    const res = await app.request(path, { headers: { cookie } });
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };

  const xlsx = await measure(download("/dashboard/export.xlsx"));
  const csv = await measure(download("/dashboard/export.csv"));
  // Last: reading everything at once grows the heap, and a heap does not give memory back at once.
  const base = await measure(async () => {
    const tickets = await queryRows<Record<string, unknown>>(db, sql`select * from tickets order by id desc`);
    const events = await queryRows<Record<string, unknown>>(db, sql`select * from ticket_events order by ticket_id, at, id`);
    return Buffer.alloc(tickets.length + events.length);
  });

  // The file is whole: every ticket and event is in it.
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(xlsx.body as unknown as ArrayBuffer);
  const rows = wb.worksheets.map((w) => w.rowCount - 1);
  const csvRows = csv.body.toString("utf8").trimEnd().split("\r\n").length - 1;
  const r = (x: number, y: number) => (y > 0 ? `${(x / y).toFixed(1)}×` : "n/a");
  printTable(
    "Downloads (time, size, peak RSS growth of the process, longest event-loop stall)",
    ["", "seconds", "MB", "RSS +MB", "stall ms", "rows"],
    [
      ["baseline: the same rows read in one query each", base.seconds.toFixed(1), "", Math.round(base.peakGrowthMb), Math.round(base.stallMs), `${N} + ${N * 5}`],
      ["XLSX (工单台账 + 事件记录)", xlsx.seconds.toFixed(1), xlsx.mb.toFixed(1), Math.round(xlsx.peakGrowthMb), Math.round(xlsx.stallMs), rows.join(" + ")],
      ["CSV (工单台账)", csv.seconds.toFixed(1), csv.mb.toFixed(1), Math.round(csv.peakGrowthMb), Math.round(csv.stallMs), String(csvRows)],
      ["ratio XLSX / baseline", r(xlsx.seconds, base.seconds), "", r(xlsx.peakGrowthMb, base.peakGrowthMb), r(xlsx.stallMs, base.stallMs), ""],
    ],
  );
  const whole = rows[0] === N && rows[1] === N * 5 && csvRows === N;
  await runtime.stop();
  await scratch.drop();
  console.log(`\n${whole ? "PASS" : "FAIL"}: XLSX ${xlsx.seconds.toFixed(1)} s, +${Math.round(xlsx.peakGrowthMb)} MB, stall ≤ ${Math.round(xlsx.stallMs)} ms; rows ${rows.join(" + ")}, CSV ${csvRows}`);
  process.exit(whole ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
