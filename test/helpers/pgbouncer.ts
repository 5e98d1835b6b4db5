/**
 * Debian's PgBouncer (`apt-get install pgbouncer`) in transaction pooling in front of a PostgreSQL server, as a
 * managed PostgreSQL's pooler runs it: each transaction (or lone statement) gets whichever server connection is free,
 * so nothing a session holds (prepared statements, session advisory locks, SET, LISTEN) follows a client connection.
 * Started on a free loopback port with its files in a temp directory, stopped with `stop()`. Used by
 * test/pooler.test.ts and the soak (`SOAK_POOLER=pgbouncer`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PGBOUNCER_BIN = "/usr/sbin/pgbouncer";

/**
 * The uid/gid of the `postgres` user when we run as root (PostgreSQL and PgBouncer both refuse to run as root);
 * undefined otherwise (they run as we do).
 */
export function serviceUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  return { uid, gid };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
      .once("error", reject)
      .listen(0, "127.0.0.1", () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
  });
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const sock = connect(port, "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });

export type PgBouncerOptions = {
  /** The PostgreSQL server behind it, as a URL (its host, port and user are used; every database is served). */
  server: string;
  /** Server connections per database and user (PgBouncer's default_pool_size; its default is 20). */
  poolSize?: number;
  /** Extra `[pgbouncer]` settings. */
  settings?: Record<string, string | number>;
};

export class PgBouncer {
  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    readonly port: number,
    private readonly user: string,
  ) {}

  static async start(opts: PgBouncerOptions): Promise<PgBouncer> {
    if (!existsSync(PGBOUNCER_BIN)) throw new Error(`${PGBOUNCER_BIN} is missing: apt-get install pgbouncer (.ci/run installs it)`);
    const server = new URL(opts.server);
    const user = decodeURIComponent(server.username || "postgres");
    const dir = mkdtempSync(join(tmpdir(), "haolin-pgbouncer-"));
    const port = await freePort();
    const settings: Record<string, string | number> = {
      listen_addr: "127.0.0.1",
      listen_port: port,
      unix_socket_dir: "",
      pool_mode: "transaction",
      // The server trusts loopback; PgBouncer still wants the user listed in its auth file.
      auth_type: "trust",
      auth_file: join(dir, "users.txt"),
      default_pool_size: opts.poolSize ?? 20,
      max_client_conn: 1000,
      logfile: join(dir, "pgbouncer.log"),
      ...opts.settings,
    };
    const ini = [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || 5432}`,
      "[pgbouncer]",
      ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
      "",
    ].join("\n");
    writeFileSync(join(dir, "pgbouncer.ini"), ini);
    writeFileSync(join(dir, "users.txt"), `"${user}" ""\n`);
    const ids = serviceUser();
    if (ids) for (const f of ["", "pgbouncer.ini", "users.txt"]) chownSync(join(dir, f), ids.uid, ids.gid);
    const out = openSync(join(dir, "stdout.log"), "a");
    const child = spawn(PGBOUNCER_BIN, [join(dir, "pgbouncer.ini")], { ...ids, stdio: ["ignore", out, out], env: { PATH: process.env.PATH ?? "" } });
    const bouncer = new PgBouncer(child, dir, port, user);
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}); see ${dir}/pgbouncer.log`);
      if (await accepts(port)) return bouncer;
      await new Promise((r) => setTimeout(r, 100));
    }
    await bouncer.stop();
    throw new Error("pgbouncer did not listen within 10 s");
  }

  /** A URL for `database` through the pooler. */
  url(database: string): string {
    return `postgres://${encodeURIComponent(this.user)}@127.0.0.1:${this.port}/${database}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM (immediate shutdown), SIGKILL if it lingers; removes its directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
