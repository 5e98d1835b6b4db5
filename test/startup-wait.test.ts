/**
 * Start-up waits for PostgreSQL and Redis instead of crash-looping: the pauses grow, each try is logged with the
 * service and its address, a permanent refusal stops at once, and the budget (STARTUP_WAIT) is kept. The real path:
 * the bot started against ports where nothing listens yet, which later forward to the real PostgreSQL and Redis.
 */
import { createServer, type Server, connect } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { retryDelayMs, StartupAborted, StartupWaitError, waitFor } from "../src/lib/wait-for.js";
import { type BotProcess, freePort, listening, startBot } from "./helpers/bot-process.js";
import { scratchPostgres } from "./helpers/db.js";
import { REDIS_URL } from "./helpers/harness.js";

const PG_BASE = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

function recordingLogger() {
  const lines: { level: number; msg: string; attempt?: number; target?: string; code?: string }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

/** A clock that only moves when the code under test sleeps. */
function fakeTime() {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
  };
}

const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

describe("waitFor", () => {
  it("retries with doubling pauses, logs each try with the address, and logs once when the service answers", async () => {
    const { logger, lines } = recordingLogger();
    const time = fakeTime();
    let calls = 0;
    await waitFor({
      service: "PostgreSQL",
      target: "db:5432",
      probe: async () => {
        if (++calls < 5) throw refused();
      },
      logger,
      timeoutMs: 60_000,
      now: time.now,
      sleep: time.sleep,
    });
    expect(calls).toBe(5);
    expect(time.slept).toEqual([500, 1000, 2000, 4000]);
    const warns = lines.filter((l) => l.level === 40);
    expect(warns.map((l) => l.attempt)).toEqual([1, 2, 3, 4]);
    expect(warns[0]?.msg).toBe("waiting for PostgreSQL at db:5432 (ECONNREFUSED); next try in 0.5s");
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: "PostgreSQL is reachable", target: "db:5432" });
    expect(retryDelayMs(10)).toBe(10_000); // capped
  });

  it("says nothing when the service answers at once", async () => {
    const { logger, lines } = recordingLogger();
    await waitFor({ service: "Redis", target: "r:6379", probe: async () => {}, logger, timeoutMs: 0 });
    expect(lines).toEqual([]);
  });

  it("gives up when the next pause would pass the budget", async () => {
    const { logger } = recordingLogger();
    const time = fakeTime();
    let calls = 0;
    const waiting = waitFor({
      service: "Redis",
      target: "r:6379",
      probe: async () => {
        calls++;
        throw refused();
      },
      logger,
      timeoutMs: 3000,
      now: time.now,
      sleep: time.sleep,
    });
    await expect(waiting).rejects.toThrow(StartupWaitError);
    await expect(waiting).rejects.toThrow("Redis at r:6379 is not reachable (ECONNREFUSED); gave up after 2s");
    expect(time.slept).toEqual([500, 1000]);
    expect(calls).toBe(3);
  });

  it("stops at once on an error waiting cannot fix", async () => {
    const { logger, lines } = recordingLogger();
    const time = fakeTime();
    const badPassword = Object.assign(new Error('password authentication failed for user "x"'), { code: "28P01" });
    await expect(
      waitFor({
        service: "PostgreSQL",
        target: "db:5432",
        probe: async () => {
          throw badPassword;
        },
        permanent: (err) => (err as { code?: string }).code === "28P01",
        logger,
        timeoutMs: 60_000,
        now: time.now,
        sleep: time.sleep,
      }),
    ).rejects.toThrow(/PostgreSQL at db:5432 refused the bot/);
    expect(time.slept).toEqual([]);
    expect(lines).toEqual([]);
  });

  it("ends the wait when it is aborted (SIGTERM during start-up)", async () => {
    const { logger } = recordingLogger();
    const stop = new AbortController();
    const waiting = waitFor({
      service: "Redis",
      target: "r:6379",
      probe: async () => {
        throw refused();
      },
      logger,
      timeoutMs: 600_000,
      firstDelayMs: 600_000,
      signal: stop.signal,
    });
    stop.abort();
    await expect(waiting).rejects.toThrow(StartupAborted);
  });
});

/** A TCP forwarder to `target`, opened on `port` only when the test says the service is "up". */
function forwarder(port: number, target: { host: string; port: number }): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  return new Promise((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", () => resolve(server)));
}
const hostPort = (url: string, port: number) => ({ host: new URL(url).hostname, port: Number(new URL(url).port || port) });

const servers: Server[] = [];
const bots: BotProcess[] = [];
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const bot of bots) bot.killGroup();
  for (const s of servers) s.close();
  for (const close of closers) await close();
});

describe("the bot at start-up", () => {
  it("waits for PostgreSQL and then Redis to come up, then serves; SIGTERM stops it", async () => {
    const db = await scratchPostgres(PG_BASE, { prefix: "haolin_wait_" });
    closers.push(db.close);
    const [pgPort, redisPort, port] = [await freePort(), await freePort(), await freePort()];
    const dbUrl = new URL(db.url);
    dbUrl.host = `127.0.0.1:${pgPort}`;
    const redisUrl = new URL(REDIS_URL);
    redisUrl.host = `127.0.0.1:${redisPort}`;
    const bot = startBot(process.execPath, ["--import", "tsx", "src/index.ts"], {
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL: redisUrl.toString(),
      PORT: String(port),
      HOST: "127.0.0.1",
    });
    bots.push(bot);

    await bot.waitForOutput(`waiting for PostgreSQL at 127.0.0.1:${pgPort} (ECONNREFUSED)`);
    await bot.waitForOutput(`"attempt":2`); // it keeps trying rather than exiting
    expect(await listening(port)).toBe(false);
    servers.push(await forwarder(pgPort, hostPort(db.url, 5432)));
    await bot.waitForOutput("PostgreSQL is reachable");

    await bot.waitForOutput(`waiting for Redis at 127.0.0.1:${redisPort} (ECONNREFUSED)`);
    expect(await listening(port)).toBe(false);
    servers.push(await forwarder(redisPort, hostPort(REDIS_URL, 6379)));
    await bot.waitForOutput("Redis is reachable");
    await bot.waitReady(port);

    bot.child.kill("SIGTERM");
    expect(await bot.exited).toBe(0);
    expect(bot.output()).not.toContain("start-up failed");
  }, 120_000);

  it("stops at once, with a clear line, when PostgreSQL refuses for good (no such database)", async () => {
    const url = new URL(PG_BASE);
    url.pathname = "/haolin_no_such_database";
    const bot = startBot(process.execPath, ["--import", "tsx", "src/index.ts"], {
      DATABASE_URL: url.toString(),
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
    });
    bots.push(bot);
    expect(await bot.exited).toBe(1);
    expect(bot.output()).toContain(`PostgreSQL at ${url.host} refused the bot`);
    expect(bot.output()).not.toContain("waiting for PostgreSQL");
  }, 60_000);

  it("a SIGTERM while waiting stops it with exit code 0", async () => {
    const pgPort = await freePort();
    const bot = startBot(process.execPath, ["--import", "tsx", "src/index.ts"], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/test`,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
    });
    bots.push(bot);
    await bot.waitForOutput(`waiting for PostgreSQL at 127.0.0.1:${pgPort}`);
    bot.child.kill("SIGTERM");
    expect(await bot.exited).toBe(0);
    expect(bot.output()).toContain("stopped while waiting for PostgreSQL/Redis");
  }, 60_000);
});
