/**
 * bench:embedded (`npm run bench:embedded`) — what the no-configuration start costs in memory (issue 20 item 6).
 *
 * Runs `npm start` exactly as the quick start does (no DATABASE_URL, no REDIS_URL: PGlite in DATA_DIR, the in-process
 * scheduler, the simulator, the demo data) on an empty data directory, and reads the bot's RSS from /proc:
 * - start: time until it listens (the quick start must be up within a minute) and the high-water mark so far; also
 *   the largest RSS of the bot with its child processes while it starts (initdb runs in one, for a few seconds);
 * - idle: RSS after IDLE_SECONDS of nothing;
 * - load: simulator messages (报事, a photo with every 20th report, 进度, 待办, 帮助) at concurrency 4 from the demo's
 *   people, with the dashboard's pages viewed as the admin between them (overview with its charts, ticket list and
 *   pages, per-unit table, 履职评议, 走访, 好邻, a CSV and an XLSX export); peak RSS over the whole run;
 * - idle again after the load.
 * Baseline, in the same run: the same command and load on PostgreSQL (a private server this bench starts on loopback,
 * DATABASE_URL set, demo data and simulator switched on), printed as the embedded/PostgreSQL ratio.
 *
 * Env: BENCH_MESSAGES (default 1500), BENCH_IDLE_SECONDS (default 10). Everything started here is stopped at the end.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { percentile, printTable } from "./lib.js";
import { freePort, onStop, PgServer, procStats, scratchDir, sleep, stopAll, terminate } from "./soak/services.js";
import { REPO } from "./soak/world.js";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1500);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const CONCURRENCY = 4;
/** Issue 20 item 6. */
const TARGET = { idleMb: 300, peakMb: 300, startS: 60 } as const;

type Figures = { startS: number; startTreeMb: number; startHwmMb: number; idleMb: number; loadMaxMb: number; afterMb: number; peakMb: number; sent: number; failed: number; views: number; p99Ms: number };

/** RSS (MB) of `pid` and all its descendants: the first start's initdb runs in a child process of the bot. */
function treeRssMb(pid: number): number {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return 0;
  }
  return (procStats(pid)?.rssMb ?? 0) + kids.reduce((sum, k) => sum + treeRssMb(k), 0);
}

/** The node process `npm start` runs (`exec node …`: npm's only child). */
function childPid(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    return kids[0];
  } catch {
    return undefined;
  }
}

async function startBot(
  label: string,
  env: Record<string, string>,
): Promise<{ npm: ChildProcess; pid: number; port: number; output: () => string; startS: number; startTreeMb: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const npm = spawn("npm", ["start"], {
    cwd: REPO,
    // Nothing from this shell: the quick start has no configuration.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", PORT: String(port), HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  onStop(() => terminate(npm));
  let out = "";
  // The first 64 KB of its output (the one-off dashboard token is printed at start); the rest is read and dropped.
  const keep = (d: Buffer) => void (out.length < 65_536 && (out += d));
  npm.stdout?.on("data", keep);
  npm.stderr?.on("data", keep);
  // While it starts: the whole tree under npm (npm itself left out), every 100 ms.
  let startTreeMb = 0;
  const tree = setInterval(() => {
    const pid = childPid(npm.pid as number);
    if (pid) startTreeMb = Math.max(startTreeMb, treeRssMb(pid));
  }, 100);
  for (;;) {
    if (npm.exitCode !== null) throw new Error(`${label}: npm start exited (${npm.exitCode}):\n${out}`);
    if (performance.now() - t0 > 180_000) throw new Error(`${label}: not listening after 180 s:\n${out}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    await sleep(250);
  }
  const startS = (performance.now() - t0) / 1000;
  clearInterval(tree);
  const pid = childPid(npm.pid as number);
  if (!pid) throw new Error(`${label}: no node process under npm`);
  return { npm, pid, port, output: () => out, startS, startTreeMb };
}

type Directory = { units: { id: number; parentId: number | null }[]; chats: { id: string; unitId: number }[]; people: { id: string; role: string; unitId: number }[] };

async function run(label: string, env: Record<string, string>, adminToken: (output: string) => string): Promise<Figures> {
  const bot = await startBot(label, env);
  const base = `http://127.0.0.1:${bot.port}`;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    const s = procStats(bot.pid);
    if (s) samples.push(s.rssMb);
  }, 200);
  const startHwmMb = procStats(bot.pid)?.hwmMb ?? Number.NaN;

  await sleep(IDLE_SECONDS * 1000);
  const idleMb = procStats(bot.pid)?.rssMb ?? Number.NaN;

  // Sign in as the admin once; the session cookie serves every view.
  const login = await fetch(`${base}/dashboard/login`, { method: "POST", body: new URLSearchParams({ token: adminToken(bot.output()) }), redirect: "manual" });
  const cookie = (login.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
  if (login.status !== 303 || !cookie) throw new Error(`${label}: dashboard sign-in answered ${login.status}`);

  const dir = (await (await fetch(`${base}/sim/directory`)).json()) as Directory;
  const parent = new Map(dir.units.map((u) => [u.id, u.parentId]));
  const chatOf = (unitId: number): string | undefined => {
    for (let u: number | null | undefined = unitId; u != null; u = parent.get(u)) {
      const chat = dir.chats.find((c) => c.unitId === u);
      if (chat) return chat.id;
    }
    return undefined;
  };
  const speakers = dir.people.map((p) => ({ ...p, chat: chatOf(p.unitId) })).filter((p) => p.chat);
  const residents = speakers.filter((p) => p.role === "resident");
  const leaders = speakers.filter((p) => p.role !== "resident");
  if (!residents.length || !leaders.length) throw new Error(`${label}: the demo directory has no residents or leaders in chats`);
  const photo = await sharp({ create: { width: 1280, height: 960, channels: 3, background: "#6a8" } })
    .composite([{ input: Buffer.from('<svg width="1280" height="960"><circle cx="640" cy="480" r="300" fill="#c33"/></svg>') }])
    .jpeg({ quality: 80 })
    .toBuffer();

  let sent = 0;
  let failed = 0;
  let views = 0;
  const lat: number[] = [];
  const failures: string[] = [];
  const tickets: number[] = [];
  const message = async (i: number) => {
    const kind = i % 10;
    const who = kind < 6 ? residents[i % residents.length] : leaders[i % leaders.length];
    const text =
      kind < 5 ? `报事 ${["楼道灯坏了", "路面有坑", "垃圾没清运", "下水道堵了"][i % 4]}（第${i}条）` : kind === 5 ? `进度 #${tickets[i % Math.max(1, tickets.length)] ?? 1}` : kind < 9 ? "待办" : "帮助";
    const body: Record<string, unknown> = { chatId: who?.chat, userId: who?.id, text };
    if (kind === 0 && i % 20 === 0) body.attachments = [{ kind: "image", dataBase64: photo.toString("base64"), fileName: "现场.jpg" }];
    const t = performance.now();
    const res = await fetch(`${base}/sim/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    lat.push(performance.now() - t);
    sent++;
    if (!res.ok) {
      failed++;
      failures.push(`${res.status} ${text}: ${(await res.text()).slice(0, 200)}`);
      return;
    }
    const { replies } = (await res.json()) as { replies: { text: string }[] };
    const n = /#(\d+)/.exec(replies.map((r) => r.text).join("\n"))?.[1];
    if (kind < 5 && n) tickets.push(Number(n));
  };
  const pages = ["/dashboard", "/dashboard/tickets", "/dashboard/units", "/dashboard/scorecards", "/dashboard/visits", "/dashboard/good-neighbors", "/dashboard/circulars", "/dashboard/mediations", "/dashboard/meetings"];
  const view = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { cookie } });
    await res.arrayBuffer();
    views++;
    if (!res.ok) {
      failed++;
      failures.push(`${res.status} ${path}`);
    }
  };
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < MESSAGES; i = next++) {
      await message(i);
      if (i % 25 === 0) await view(pages[(i / 25) % pages.length] as string);
      if (i % 50 === 0 && tickets.length) await view(`/dashboard/tickets/${tickets[tickets.length - 1]}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await view("/dashboard/export.csv");
  await view("/dashboard/export.xlsx");
  const loadMaxMb = Math.max(...samples);

  await sleep(IDLE_SECONDS * 1000);
  const afterMb = procStats(bot.pid)?.rssMb ?? Number.NaN;
  const peakMb = procStats(bot.pid)?.hwmMb ?? Number.NaN;
  clearInterval(sampler);
  await terminate(bot.npm);
  lat.sort((a, b) => a - b);
  if (failures.length) console.error(`${label}: ${failures.length} failed, e.g. ${failures.slice(0, 5).join("; ")}`);
  return { startS: bot.startS, startTreeMb: bot.startTreeMb, startHwmMb, idleMb, loadMaxMb, afterMb, peakMb, sent, failed, views, p99Ms: percentile(lat, 99) };
}

async function main() {
  const root = scratchDir("haolin-bench-embedded-");
  const embedded = await run("embedded", { DATA_DIR: join(root, "data") }, (out) => {
    const token = /本次口令：(\S+)/.exec(out)?.[1];
    if (!token) throw new Error("embedded: no one-off dashboard token in the output");
    return token;
  });

  const pg = await PgServer.start(root);
  const token = "bench-embedded-admin-token";
  const postgresql = await run("PostgreSQL", { DATABASE_URL: pg.url(), DEMO_DATA: "true", SIM_ENABLED: "true", ADMIN_TOKEN: token }, () => token);

  const mb = (n: number) => n.toFixed(0);
  printTable(
    `npm start, ${MESSAGES} simulator messages at concurrency ${CONCURRENCY} with dashboard views (RSS of the bot's node process, MB)`,
    ["database", "up in s", "start, with children", "peak at start", "idle", "max under load", "idle after", "peak (HWM)", "messages", "views", "failed", "p99 ms"],
    [embedded, postgresql].map((f, i) => [i ? "PostgreSQL (baseline)" : "PGlite (embedded)", f.startS.toFixed(1), mb(f.startTreeMb), mb(f.startHwmMb), mb(f.idleMb), mb(f.loadMaxMb), mb(f.afterMb), mb(f.peakMb), f.sent, f.views, f.failed, f.p99Ms.toFixed(0)]),
  );
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  console.log(`embedded ÷ PostgreSQL: idle ${ratio(embedded.idleMb, postgresql.idleMb)}, peak ${ratio(embedded.peakMb, postgresql.peakMb)}`);

  const verdicts = [
    { ok: embedded.idleMb <= TARGET.idleMb, line: `idle RSS ${mb(embedded.idleMb)} MB ≤ ${TARGET.idleMb} MB (PostgreSQL ${mb(postgresql.idleMb)} MB)` },
    { ok: embedded.peakMb <= TARGET.peakMb, line: `peak RSS ${mb(embedded.peakMb)} MB ≤ ${TARGET.peakMb} MB from start through the load (PostgreSQL ${mb(postgresql.peakMb)} MB)` },
    { ok: embedded.startS <= TARGET.startS, line: `npm start on an empty data directory listening in ${embedded.startS.toFixed(1)} s ≤ ${TARGET.startS} s` },
    { ok: embedded.failed === 0 && postgresql.failed === 0, line: `every message and view answered (failed: embedded ${embedded.failed}, PostgreSQL ${postgresql.failed})` },
  ];
  for (const v of verdicts) console.log(`${v.ok ? "ok  " : "MISS"} ${v.line}`);
  const pass = verdicts.every((v) => v.ok);
  const key = `embedded idle ${mb(embedded.idleMb)} MB, peak ${mb(embedded.peakMb)} MB (PostgreSQL ${mb(postgresql.idleMb)}/${mb(postgresql.peakMb)} MB), up in ${embedded.startS.toFixed(1)} s, ${embedded.sent} messages + ${embedded.views} views, ${embedded.failed} failed`;
  console.log(`${pass ? "PASS" : "FAIL"}: ${key}`);
  return pass;
}

main()
  .then(async (pass) => {
    await stopAll();
    process.exit(pass ? 0 : 1);
  })
  .catch(async (err) => {
    console.error(err);
    await stopAll();
    process.exit(1);
  });
