/**
 * Runs one load-generator job (bench/loadgen.ts) in its own process and measures every process on the machine over
 * exactly the job's measured window: the bot's CPU and peak RSS, PostgreSQL's (postmaster and backends), Redis's and
 * the load generator's own. Shared by `npm run bench` and `npm run bench:burst`.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { LoadJob, LoadResult } from "./loadgen.js";
import { onStop, procStats, treeCpuS } from "./soak/services.js";
import { REPO } from "./soak/world.js";

export type Usage = { cpuPct: number; peakRssMb: number };
/** CPU per message (µs) of each process on the machine, over the measured window only. */
export type CpuPerMessage = { bot: number; postgres: number; redis: number; loadgen: number };
export type Procs = { bot?: number; postgres: number; redis: number };
type CpuSample = { at: number } & CpuPerMessage;

/** Each process's CPU between two samples, in µs per message. */
function perMessageOf(from: CpuSample, to: CpuSample, messages: number): CpuPerMessage {
  const per = (k: keyof CpuPerMessage) => Math.round(((to[k] - from[k]) * 1e6) / Math.max(1, messages));
  return { bot: per("bot"), postgres: per("postgres"), redis: per("redis"), loadgen: per("loadgen") };
}

/**
 * Between the job's start and stop markers (see bench/loadgen.ts), every process's CPU is read. The job goes to the
 * child on stdin (a county's groups do not fit in an environment variable). `R` is the job's result line (it
 * counts `ok` messages, the denominator of the CPU per message).
 */
export async function load<R extends { ok: number } = LoadResult>(
  job: LoadJob,
  procs: Procs,
): Promise<R & Usage & { cpuUs: CpuPerMessage; burst: { cpuUs: CpuPerMessage; seconds: number } | null }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/loadgen.ts"], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  onStop(async () => void child.kill("SIGKILL"));
  child.stdin.end(JSON.stringify(job));
  const cpuNow = () => ({
    at: performance.now(),
    bot: procs.bot ? (procStats(procs.bot)?.cpuS ?? 0) : 0,
    postgres: treeCpuS(procs.postgres),
    redis: procStats(procs.redis)?.cpuS ?? 0,
    loadgen: procStats(child.pid as number)?.cpuS ?? 0,
  });
  let first: ReturnType<typeof cpuNow> | null = null;
  let last: ReturnType<typeof cpuNow> | null = null;
  let burstFrom: ReturnType<typeof cpuNow> | null = null;
  let burst: { cpuUs: CpuPerMessage; seconds: number } | null = null;
  let result: R | null = null;
  let peakRssMb = 0;
  const rss = setInterval(() => {
    const s = procs.bot ? procStats(procs.bot) : null;
    if (s && first && !last) peakRssMb = Math.max(peakRssMb, s.rssMb);
  }, 250);
  for await (const line of createInterface({ input: child.stdout })) {
    const msg = JSON.parse(line) as { phase?: "start" | "stop" | "burst-start" | "burst-end"; messages?: number } & R;
    if (msg.phase === "start") first = cpuNow();
    else if (msg.phase === "stop") last = cpuNow();
    else if (msg.phase === "burst-start") burstFrom = cpuNow();
    else if (msg.phase === "burst-end" && burstFrom) {
      const [a, b] = [burstFrom, cpuNow()];
      burst = { cpuUs: perMessageOf(a, b, msg.messages ?? 0), seconds: (b.at - a.at) / 1000 };
    } else result = msg;
  }
  clearInterval(rss);
  const code = await new Promise<number>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on("exit", (c) => resolve(c ?? 1))));
  const [from, to, done] = [first, last, result];
  if (code !== 0 || !done || !from || !to) throw new Error(`load generator failed (${job.mode})`);
  const cpuUs = perMessageOf(from, to, done.ok);
  const cpuPct = Math.round(((to.bot - from.bot) / ((to.at - from.at) / 1000)) * 100);
  return { ...done, cpuPct, peakRssMb: Math.round(peakRssMb), cpuUs, burst };
}
