/**
 * Private PostgreSQL and Redis for the bench and the soak: started as child processes on free loopback ports with
 * data in a temp directory, restarted on demand (the soak's faults), and stopped at the end. The machine's shared
 * services on 5432/6379 are never touched. PostgreSQL refuses to run as root, so it runs as the `postgres` user.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import postgres from "postgres";
import { serviceUser } from "../../test/helpers/pgbouncer.js";

const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** Everything started here, stopped in reverse order by `stopAll` (also on SIGINT/SIGTERM and errors). */
const stoppers: (() => Promise<void>)[] = [];
export function onStop(fn: () => Promise<void>): void {
  stoppers.push(fn);
}
let stopping: Promise<void> | null = null;
export function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const fn of stoppers.reverse()) await fn().catch((err) => console.error("cleanup:", (err as Error).message));
  })();
  return stopping;
}
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    console.error(`\n${sig}: stopping everything this run started`);
    void stopAll().finally(() => process.exit(130));
  });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A temp directory removed at the end (owned by postgres when we are root, so both can use it). */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onStop(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** SIGTERM (or the given signal), then SIGKILL after `graceMs`. */
export async function terminate(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  if (!(await waitExit(child, graceMs))) {
    child.kill("SIGKILL");
    await waitExit(child, 5000);
  }
}

export class PgServer {
  private child: ChildProcess | null = null;
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly ids: { uid: number; gid: number } | undefined,
  ) {}

  /** initdb into a temp directory (trust auth, loopback only) and start it. */
  static async start(root: string, settings: Record<string, string> = {}): Promise<PgServer> {
    const ids = serviceUser();
    const dir = join(root, "pg");
    mkdirSync(dir);
    if (ids) {
      chownSync(root, ids.uid, ids.gid);
      chownSync(dir, ids.uid, ids.gid);
    }
    const init = spawnSync(
      join(PG_BIN, "initdb"),
      ["-D", join(dir, "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"],
      { ...ids, stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "" } },
    );
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr?.toString()}`);
    const pg = new PgServer(dir, await freePort(), ids);
    pg.settings = settings;
    await pg.up();
    onStop(() => pg.stop());
    return pg;
  }

  private settings: Record<string, string> = {};

  url(database = "postgres"): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async up(): Promise<void> {
    const extra = Object.entries(this.settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
    const log = openSync(join(this.dir, "postgres.log"), "a");
    if (this.ids) chownSync(join(this.dir, "postgres.log"), this.ids.uid, this.ids.gid);
    this.child = spawn(
      join(PG_BIN, "postgres"),
      ["-D", join(this.dir, "data"), "-p", String(this.port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${this.dir}`, ...extra],
      { ...this.ids, stdio: ["ignore", log, log], env: { PATH: process.env.PATH ?? "" } },
    );
    for (let i = 0; i < 150; i++) {
      const ok = spawnSync(join(PG_BIN, "pg_isready"), ["-h", "127.0.0.1", "-p", String(this.port), "-q"]).status === 0;
      if (ok) return;
      if (this.child.exitCode !== null) throw new Error(`postgres exited (${this.child.exitCode}); see ${this.dir}/postgres.log`);
      await sleep(100);
    }
    throw new Error("postgres did not become ready in 15 s");
  }

  /** Fast shutdown (SIGINT: clients are disconnected, in-flight transactions roll back), then start again. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs) await sleep(downMs);
    await this.up();
  }

  async stop(): Promise<void> {
    if (this.child) await terminate(this.child, "SIGINT", 20_000);
    this.child = null;
  }

  async createDatabase(name: string): Promise<string> {
    const admin = postgres(this.url(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    return this.url(name);
  }
}

export class RedisServer {
  private child: ChildProcess | null = null;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** No persistence, as on a cache-like Redis that loses everything on restart (the worst case for timers). */
  static async start(root: string): Promise<RedisServer> {
    const dir = join(root, "redis");
    if (!existsSync(dir)) mkdirSync(dir);
    const r = new RedisServer(dir, await freePort());
    await r.up();
    onStop(() => r.stop());
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async up(): Promise<void> {
    const log = openSync(join(this.dir, "redis.log"), "a");
    this.child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--maxmemory-policy", "noeviction"],
      { stdio: ["ignore", log, log] },
    );
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => {});
    try {
      for (let i = 0; i < 100; i++) {
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch {
          probe.disconnect();
          await sleep(100);
        }
      }
      throw new Error("redis did not become ready in 10 s");
    } finally {
      probe.disconnect();
    }
  }

  /** FLUSHALL: every delayed job, lock and job scheduler is gone. */
  async flush(): Promise<void> {
    const c = new Redis(this.url, { maxRetriesPerRequest: 1 });
    await c.flushall();
    await c.quit();
  }

  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs) await sleep(downMs);
    await this.up();
  }

  async stop(): Promise<void> {
    if (this.child) await terminate(this.child, "SIGTERM", 10_000);
    this.child = null;
  }
}

/** RSS and its high-water mark (kB → MB) and CPU time (s) of a process, from /proc. */
export function procStats(pid: number): { rssMb: number; hwmMb: number; cpuS: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    return Number.isFinite(rss) && Number.isFinite(ticks) ? { rssMb: rss, hwmMb: hwm, cpuS: ticks / CLK_TCK } : null;
  } catch {
    return null;
  }
}
/**
 * CPU seconds of a process and all its live descendants, plus what its exited children used (PostgreSQL's
 * postmaster and its backends, say).
 */
export function treeCpuS(root: number): number {
  const children = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const pid = Number(d);
      const ppid = Number(f[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
      // utime + stime, and for the root also cutime + cstime (children it has waited for).
      cpu.set(pid, (Number(f[11]) + Number(f[12]) + (pid === root ? Number(f[13]) + Number(f[14]) : 0)) / CLK_TCK);
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  const todo = [root];
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    total += cpu.get(pid) ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return total;
}

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim() || 100);
