/**
 * bench (`npm run bench`) — end-to-end ingest through the real WeCom callback path: signature, AES, parse,
 * dedupe, ticket, event, deadline job (BullMQ), encrypted reply; one bot process (`node --import tsx
 * src/index.ts`) on its own PostgreSQL and Redis, driven by bench/loadgen.ts in a separate process.
 *
 * Prints throughput at concurrency 1 / 8 / 32, latency p50 / p99 at a fixed 200 callbacks/s, the bot's RSS and
 * CPU, and — in the same run, with the same clients — the baseline (a bare single-row INSERT plus a BullMQ
 * delayed add) and the ratio. Targets: ≥ 50% of the baseline at concurrency 32, p99 ≤ 50 ms at 200/s, RSS ≤ 250 MB.
 *
 * Env: BENCH_SECONDS (per phase, default 10), BENCH_RATE (default 200), BENCH_RATE_SECONDS (default 15).
 * Only loopback; everything started here is stopped at the end (also on error and Ctrl-C).
 */
import { execFileSync, spawn } from "node:child_process";
import type { LoadJob, LoadResult } from "./loadgen.js";
import { printTable } from "./lib.js";
import { onStop, procStats, stopAll } from "./soak/services.js";
import { Bot, REPO, startStage } from "./soak/world.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 15);
const POOL = 10; // DATABASE_POOL_SIZE default: the bot and the baseline use the same pool size

type Usage = { cpuPct: number; peakRssMb: number };

/** Run one load-generator job in its own process while sampling the bot's CPU and RSS. */
async function load(job: LoadJob, botPid?: number): Promise<LoadResult & Usage> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/loadgen.ts"], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOADGEN_JOB: JSON.stringify(job) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  onStop(async () => void child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  let first: { at: number; cpuS: number } | null = null;
  let last: { at: number; cpuS: number } | null = null;
  let peakRssMb = 0;
  const started = Date.now();
  const timer = setInterval(() => {
    if (!botPid) return;
    const s = procStats(botPid);
    if (!s) return;
    peakRssMb = Math.max(peakRssMb, s.rssMb);
    // CPU is measured over the busy part only: from the first sample after the loadgen prepared its callbacks.
    if (!first && out === "" && Date.now() - started > 1500) first = { at: Date.now(), cpuS: s.cpuS };
    if (out === "") last = { at: Date.now(), cpuS: s.cpuS };
  }, 250);
  const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
  clearInterval(timer);
  if (code !== 0) throw new Error(`load generator failed (${job.mode})`);
  const result = JSON.parse(out.trim().split("\n").at(-1) as string) as LoadResult;
  const f = first as { at: number; cpuS: number } | null;
  const l = last as { at: number; cpuS: number } | null;
  const cpuPct = f && l && l.at > f.at ? Math.round(((l.cpuS - f.cpuS) / ((l.at - f.at) / 1000)) * 100) : Number.NaN;
  return { ...result, cpuPct, peakRssMb: Math.round(peakRssMb) };
}

async function main() {
  const t0 = Date.now();
  console.log(`bench — WeCom callback ingest end to end (own PostgreSQL 15 + Redis on loopback), ${SECONDS} s per phase`);
  // Measure what production runs: the compiled build (node dist/index.js), not the sources through tsx.
  execFileSync("npm", ["run", "--silent", "build"], { cwd: process.cwd(), stdio: "inherit" });
  process.env.BOT_BUILD = "dist";
  const { tmp, redis, databaseUrl, creds, fake, world } = await startStage("haolin-bench-", {
    villages: 4,
    groupsPerVillage: 5,
    neighborhoodsPerGroup: 3,
    householdsPerNeighborhood: 5,
  });
  console.log(`  directory: ${world.chats} WeCom groups, ${world.people} people, ${world.households} households`);
  const bot = await Bot.start({ name: "bench-bot", databaseUrl, redisUrl: redis.url, creds, webhookBase: fake.url, logDir: tmp });
  const pid = bot.pid as number;
  const idle = procStats(pid);

  const cb = { url: bot.callbackUrl, creds, groups: world.groups };
  await load({ mode: "closed", ...cb, concurrency: 8, durationMs: 4000, maxCount: 20_000 }, pid); // warm-up (JIT, pools)
  const levels = [1, 8, 32];
  const ours: Record<number, LoadResult & Usage> = {};
  for (const c of levels) {
    ours[c] = await load({ mode: "closed", ...cb, concurrency: c, durationMs: SECONDS * 1000, maxCount: 40_000 }, pid);
  }
  const fixed = await load({ mode: "open", ...cb, rate: RATE, durationMs: RATE_SECONDS * 1000 }, pid);
  const base: Record<number, LoadResult & Usage> = {};
  for (const c of levels) base[c] = await load({ mode: "baseline", databaseUrl, redisUrl: redis.url, poolSize: POOL, concurrency: c, durationMs: SECONDS * 1000 });
  const after = procStats(pid);

  const pct = (x: number, y: number) => (y > 0 ? `${Math.round((x / y) * 100)}%` : "n/a");
  printTable(
    "Throughput (accepted callbacks/s; each = verified, decrypted, deduped, ticket + event + deadline job, encrypted reply)",
    ["concurrency", "Haolin /s", "p50 ms", "p99 ms", "bot CPU", "baseline /s", "baseline p99", "ratio", "failed", "replies checked"],
    levels.map((c) => {
      const o = ours[c] as LoadResult & Usage;
      const b = base[c] as LoadResult & Usage;
      return [c, o.perSecond, o.p50, o.p99, `${o.cpuPct}%`, b.perSecond, b.p99, pct(o.perSecond, b.perSecond), o.failed + b.failed, `${o.verified}/${o.verified + o.badReplies}`];
    }),
  );
  printTable(
    `Latency at a fixed ${RATE} callbacks/s for ${RATE_SECONDS} s (from each callback's scheduled send time)`,
    ["offered /s", "achieved /s", "p50 ms", "p99 ms", "max ms", "failed", "bot CPU", "replies checked"],
    [[RATE, fixed.perSecond, fixed.p50, fixed.p99, fixed.max, fixed.failed, `${fixed.cpuPct}%`, `${fixed.verified}/${fixed.verified + fixed.badReplies}`]],
  );
  const peakRss = Math.max(...Object.values(ours).map((o) => o.peakRssMb), fixed.peakRssMb);
  printTable("Bot process", ["RSS idle MB", "RSS peak MB", "RSS end MB", "CPU s total"], [[Math.round(idle?.rssMb ?? 0), peakRss, Math.round(after?.rssMb ?? 0), Math.round(after?.cpuS ?? 0)]]);

  const o32 = ours[32] as LoadResult;
  const b32 = base[32] as LoadResult;
  const ratio32 = o32.perSecond / b32.perSecond;
  const failures = Object.values(ours).reduce((n, o) => n + o.failed + o.badReplies, fixed.failed + fixed.badReplies);
  const targets = [
    [`ratio at 32 = ${Math.round(ratio32 * 100)}% (target ≥ 50%)`, ratio32 >= 0.5],
    [`p99 at ${RATE}/s = ${fixed.p99} ms (target ≤ 50 ms)`, fixed.p99 <= 50],
    [`peak RSS = ${peakRss} MB (target ≤ 250 MB)`, peakRss <= 250],
    [`failed or bad replies = ${failures}`, failures === 0],
  ] as const;
  console.log("\nTargets");
  for (const [text, ok] of targets) console.log(`  ${ok ? "met   " : "MISSED"}  ${text}`);
  const pass = targets.every(([, ok]) => ok);
  await stopAll();
  console.log(
    `\n${pass ? "PASS" : "FAIL"}: c32 ${o32.perSecond}/s vs baseline ${b32.perSecond}/s (${Math.round(ratio32 * 100)}%), ` +
      `c1 ${ours[1]?.perSecond}/s, c8 ${ours[8]?.perSecond}/s; ${RATE}/s p50 ${fixed.p50} ms p99 ${fixed.p99} ms; ` +
      `RSS peak ${peakRss} MB; ${Math.round((Date.now() - t0) / 1000)} s`,
  );
  process.exit(pass ? 0 : 1);
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
