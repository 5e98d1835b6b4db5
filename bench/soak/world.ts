/**
 * A generated county-like directory for the bench and the soak (many WeCom groups, leaders and residents with
 * WeCom ids; households with phones, addresses and tags so the privacy check has something to catch), the bot
 * processes (`node --import tsx src/index.ts`, loopback only) and the WeCom credentials they share with the fake.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type postgres from "postgres";
import { stringify } from "yaml";
import { openDatabase, type Pooler } from "../../src/db/client.js";
import { importDirectory } from "../../src/db/directory-import.js";
import { migrateDatabase } from "../../src/db/migrate.js";
import { FakeWecom, randomAESKey } from "../../test/fakes/wecom.js";
import { PgBouncer } from "../../test/helpers/pgbouncer.js";
import { freePort, onStop, PgServer, procStats, RedisServer, scratchDir, sleep, terminate } from "./services.js";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));

export type WecomCreds = { token: string; encodingAESKey: string; botId: string };
export const newCreds = (): WecomCreds => ({ token: "HaolinSoakToken01", encodingAESKey: randomAESKey(), botId: "aibSOAKBOT01" });

export type Group = {
  chatId: string; // WeCom chatid
  residents: string[]; // WeCom userids
  leaders: string[]; // WeCom userids of leaders over this group (邻长s, 组长, 村干, 镇干)
  /** With `dingtalk` in the shape: the same group on DingTalk (conversationId) and its residents' staff ids. */
  dingtalk?: { conversationId: string; residents: string[] };
};

export type World = { groups: Group[]; file: string; chats: number; people: number; households: number };

export type WorldShape = {
  villages: number;
  groupsPerVillage: number;
  neighborhoodsPerGroup: number;
  householdsPerNeighborhood: number;
  /** Town settings (clocks): quietHours is always off so pings are not deferred. */
  settings?: Record<string, unknown>;
  /** The 消息推送 webhook URL for a chat (the fake's key). */
  webhookFor: (chatId: string) => string;
  /** Also put every group and person on DingTalk (the bench's DingTalk phases). */
  dingtalk?: boolean;
};

const TAGS = ["孤寡老人", "留守儿童", "独居老人", "低保", "党员户"];

export function writeWorld(dir: string, shape: WorldShape): World {
  const units: object[] = [{ id: "t", kind: "town", name: "压测镇", settings: { quietHours: false, ...shape.settings } }];
  const people: object[] = [{ id: "to1", name: "镇干部", role: "town_official", unit: "t", identities: { wecom: "u-to1" } }];
  const households: object[] = [];
  const chats: object[] = [];
  const groups: Group[] = [];
  let phone = 19_900_100_000;
  for (let v = 1; v <= shape.villages; v++) {
    const vid = `v${v}`;
    units.push({ id: vid, parent: "t", kind: "village", name: `第${v}村` });
    people.push({ id: `vo${v}`, name: `村干${v}`, role: "village_official", unit: vid, identities: { wecom: `u-vo${v}` } });
    for (let g = 1; g <= shape.groupsPerVillage; g++) {
      const gid = `${vid}g${g}`;
      units.push({ id: gid, parent: vid, kind: "group", name: `第${v}村${g}组` });
      people.push({ id: `gl-${gid}`, name: `组长${v}-${g}`, role: "group_leader", unit: gid, phone: String(phone++), identities: { wecom: `u-gl-${gid}` } });
      const chatId = `wr${gid}`;
      chats.push({ id: `c-${gid}`, platform: "wecom", externalId: chatId, unit: gid, name: `第${v}村${g}组群`, webhookUrl: shape.webhookFor(chatId) });
      const group: Group = { chatId, residents: [], leaders: [`u-gl-${gid}`, `u-vo${v}`, "u-to1"] };
      if (shape.dingtalk) {
        group.dingtalk = { conversationId: `cid-${gid}`, residents: [] };
        chats.push({ id: `d-${gid}`, platform: "dingtalk", externalId: `cid-${gid}`, unit: gid, name: `第${v}村${g}组钉钉群` });
      }
      for (let n = 1; n <= shape.neighborhoodsPerGroup; n++) {
        const nid = `${gid}n${n}`;
        units.push({ id: nid, parent: gid, kind: "neighborhood", name: `${g}组${n}邻` });
        // Every third 邻 has no 邻长: its tickets go straight to the 组 (the ladder skips vacancies).
        if (n % 3 !== 0) {
          people.push({ id: `nl-${nid}`, name: `邻长${v}-${g}-${n}`, role: "neighbor_leader", unit: nid, phone: String(phone++), identities: { wecom: `u-nl-${nid}` } });
          group.leaders.push(`u-nl-${nid}`);
        }
        for (let h = 1; h <= shape.householdsPerNeighborhood; h++) {
          const hid = `${nid}h${h}`;
          const tag = TAGS[(v + g + n + h) % 7];
          households.push({
            id: hid,
            unit: nid,
            head: `户主${hid}`,
            members: [`户主${hid}`],
            ...(tag ? { tags: [tag] } : {}),
            houseNo: `${h}号`,
            address: `第${v}村${g}组${h}号`,
            phone: String(phone++),
          });
          const identities = shape.dingtalk ? { wecom: `u-r-${hid}`, dingtalk: `d-r-${hid}` } : { wecom: `u-r-${hid}` };
          people.push({ id: `r-${hid}`, name: `居民${hid}`, role: "resident", unit: nid, household: hid, phone: String(phone++), identities });
          group.residents.push(`u-r-${hid}`);
          group.dingtalk?.residents.push(`d-r-${hid}`);
        }
      }
      groups.push(group);
    }
  }
  const file = join(dir, "directory.yaml");
  writeFileSync(file, stringify({ units, households, people, chats }));
  return { groups, file, chats: chats.length, people: people.length, households: households.length };
}

/** Migrate and import the directory with the app's own code (what `npm run import` does). */
export async function loadWorld(url: string, file: string, pooler: Pooler = "none"): Promise<void> {
  const database = await openDatabase({ url, poolSize: 2, pooler });
  try {
    await migrateDatabase(database, url);
    await importDirectory(database.db, file);
  } finally {
    await database.close();
  }
}

export type BotOptions = { name: string; databaseUrl: string; redisUrl: string; creds: WecomCreds; webhookBase: string; logDir: string; env?: Record<string, string> };

/**
 * An npm script that execs node (`start`, `start:prod`) without its leading `exec node`: the flags and entry point
 * it runs, so a bench measures the node process itself with exactly that command line.
 */
export function nodeArgsOf(script: "start" | "start:prod"): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> };
  // `exec` makes node npm's own child, so a signal to npm reaches it (see docs/architecture.md).
  const [node, ...args] = (pkg.scripts[script] ?? "").replace(/^exec\s+/, "").split(/\s+/);
  if (node !== "node") throw new Error(`${script} must start with \`node\``);
  return args;
}

/** One bot process; `restart()` starts a new process on the same port. */
export class Bot {
  child: ChildProcess | null = null;
  port = 0;
  /** RSS samples per process id. */
  readonly samples: { pid: number; at: number; rssMb: number }[] = [];
  restarts = 0;
  /** Each process this bot has been: pid, when it started and (if it did) when it was SIGKILLed. */
  readonly lives: { pid: number; startedAt: number; killedAt?: number }[] = [];

  constructor(readonly opts: BotOptions) {}

  static async start(opts: BotOptions): Promise<Bot> {
    const bot = new Bot(opts);
    bot.port = await freePort();
    onStop(() => bot.stop());
    await bot.launch();
    return bot;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get callbackUrl(): string {
    return `${this.url}/wecom/callback`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  async launch(): Promise<void> {
    const o = this.opts;
    const log = openSync(join(o.logDir, `${o.name}.log`), "a");
    // BOT_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the bots.
    const nodeArgs = (process.env.BOT_NODE_ARGS ?? "").split(" ").filter(Boolean);
    // BOT_BUILD=dist runs the compiled build with production's command line (`npm run start:prod`, after
    // `npm run build`); default: the sources via tsx.
    const entry = process.env.BOT_BUILD === "dist" ? nodeArgsOf("start:prod") : ["--import", "tsx", "src/index.ts"];
    this.child = spawn(process.execPath, [...nodeArgs, ...entry], {
      cwd: REPO,
      stdio: ["ignore", log, log],
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        PORT: String(this.port),
        DATABASE_URL: o.databaseUrl,
        REDIS_URL: o.redisUrl,
        WECOM_TOKEN: o.creds.token,
        WECOM_ENCODING_AES_KEY: o.creds.encodingAESKey,
        WECOM_BOT_ID: o.creds.botId,
        WECOM_WEBHOOK_BASE: o.webhookBase,
        LOG_LEVEL: "warn",
        // No fixed replica name: the WeCom sender's default (host:pid) is what the soak attributes copies by.
        SIM_ENABLED: "false",
        DEMO_DATA: "false",
        ...o.env,
      },
    });
    if (this.child.pid) this.lives.push({ pid: this.child.pid, startedAt: Date.now() });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (!this.alive) throw new Error(`${o.name} exited during start-up; see ${o.logDir}/${o.name}.log`);
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
      } catch {}
      await sleep(250);
    }
    throw new Error(`${o.name} not ready in 60 s`);
  }

  sample(): void {
    const pid = this.pid;
    if (!pid || !this.alive) return;
    const s = procStats(pid);
    if (s) this.samples.push({ pid, at: Date.now(), rssMb: s.rssMb });
  }

  kill9(): void {
    const life = this.lives.find((l) => l.pid === this.child?.pid);
    if (life) life.killedAt = Date.now();
    this.child?.kill("SIGKILL");
  }

  async restart(): Promise<void> {
    if (this.alive) {
      const life = this.lives.find((l) => l.pid === this.child?.pid);
      if (life) life.killedAt = Date.now();
    }
    if (this.child) await terminate(this.child, "SIGKILL", 1000);
    this.restarts += 1;
    await this.launch();
  }

  async stop(): Promise<void> {
    if (this.child) await terminate(this.child, "SIGTERM", 12_000);
  }
}

/**
 * The stage both the bench and the soak play on: a temp dir, private PostgreSQL and Redis on free loopback ports,
 * a fake WeCom, and a generated directory of WeCom groups imported into the database. Stopped by stopAll().
 *
 * With `pooler`, PgBouncer in transaction mode stands in front of PostgreSQL with `pooler` server connections (fewer
 * than the bots' pools, so client connections share them, as behind a managed pooler): the directory is migrated and
 * imported through it, and `bot` is how the bots reach the database (its URL and DATABASE_POOLER). `databaseUrl`
 * stays the direct one, for the checks.
 */
export async function startStage(prefix: string, shape: Omit<WorldShape, "webhookFor">, opts: { pooler?: number } = {}) {
  const tmp = scratchDir(prefix);
  // BENCH_PGSS=1: pg_stat_statements loaded, for a bench to print where PostgreSQL's time goes (see statementStats).
  const pg = await PgServer.start(tmp, process.env.BENCH_PGSS ? { shared_preload_libraries: "pg_stat_statements", "pg_stat_statements.track": "all" } : {});
  const redis = await RedisServer.start(tmp);
  const databaseUrl = await pg.createDatabase("haolin");
  let bot = { databaseUrl, env: {} as Record<string, string> };
  if (opts.pooler) {
    const bouncer = await PgBouncer.start({ server: databaseUrl, poolSize: opts.pooler });
    onStop(() => bouncer.stop());
    bot = { databaseUrl: bouncer.url("haolin"), env: { DATABASE_POOLER: "transaction" } };
  }
  const creds = newCreds();
  const fake = await FakeWecom.start({ ...creds });
  onStop(() => fake.close());
  const world = writeWorld(tmp, { ...shape, webhookFor: () => fake.addWebhook().url });
  await loadWorld(bot.databaseUrl, world.file, opts.pooler ? "transaction" : "none");
  return { tmp, pg, redis, databaseUrl, bot, creds, fake, world };
}

/**
 * With BENCH_PGSS=1: the statements PostgreSQL spent most time on since the last call (then reset), a line each —
 * calls, total and mean ms, rows, buffers hit, WAL records — and how many distinct texts the top ones came in.
 */
export async function statementStats(db: postgres.Sql, limit = 12): Promise<string[]> {
  if (!process.env.BENCH_PGSS) return [];
  await db.unsafe("create extension if not exists pg_stat_statements");
  const rows = await db.unsafe<{ calls: string; ms: string; mean: string; rows: string; hit: string; wal: string; texts: string; q: string }[]>(
    `select sum(calls) calls, round(sum(total_exec_time)::numeric, 1) ms, round((sum(total_exec_time) / sum(calls))::numeric, 3) mean,
       sum(rows) as rows, sum(shared_blks_hit) hit, sum(wal_records) wal, count(*) texts, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) q
     from pg_stat_statements group by q order by 2 desc limit ${Number(limit)}`,
  );
  await db.unsafe("select pg_stat_statements_reset()");
  return rows.map((r) => `${r.calls} calls, ${r.ms} ms (mean ${r.mean}), ${r.rows} rows, ${r.hit} hits, ${r.wal} WAL, ${r.texts} texts: ${r.q}`);
}
