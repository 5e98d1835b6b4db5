/**
 * The real binary in production mode: NODE_ENV=production on PostgreSQL and Redis with WeCom credentials. It migrates
 * an empty database, registers its periodic tasks in Redis, keeps the simulator off, answers a WeCom group message
 * end to end (real crypto, the fake WeCom), logs at the level production uses without the message text, and stops on
 * SIGTERM.
 */
import { randomInt } from "node:crypto";
import { Queue } from "bullmq";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { normalizeWebhook } from "../src/bot/wecom/webhook.js";
import { openDatabase } from "../src/db/client.js";
import { importDirectory } from "../src/db/directory-import.js";
import { bindChat } from "../src/workflows/chats.js";
import { FakeWecom, groupText, randomAESKey } from "./fakes/wecom.js";
import { type BotProcess, freePort, startBot } from "./helpers/bot-process.js";
import { FIXTURE, REDIS_URL } from "./helpers/harness.js";

const BASE = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const cleanup: (() => Promise<void>)[] = [];
const bots: BotProcess[] = [];
afterAll(async () => {
  for (const b of bots) b.killGroup();
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

describe("production mode", () => {
  it("PostgreSQL + Redis + WeCom: migrates, schedules, answers a group message, logs no text, stops on SIGTERM", { timeout: 300_000 }, async () => {
    const name = `haolin_t_prod_${randomInt(1e9)}`;
    const admin = postgres(BASE, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    cleanup.push(async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    });
    const dbUrl = new URL(BASE);
    dbUrl.pathname = `/${name}`;
    // Its own Redis database number: the binary's queues use the fixed "haolin" prefix.
    const redisUrl = new URL(REDIS_URL);
    redisUrl.pathname = `/${randomInt(1, 16)}`;
    const creds = { token: "HaolinProdToken1", encodingAESKey: randomAESKey(), botId: "aibPRODBOT01" };
    const fake = await FakeWecom.start(creds);
    cleanup.push(() => fake.close());
    const port = await freePort();
    const bot = startBot(process.execPath, ["--import", "tsx", "src/index.ts"], {
      NODE_ENV: "production",
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL: redisUrl.toString(),
      WECOM_TOKEN: creds.token,
      WECOM_ENCODING_AES_KEY: creds.encodingAESKey,
      WECOM_BOT_ID: creds.botId,
      WECOM_WEBHOOK_BASE: fake.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "info", // the default, as production runs
    });
    bots.push(bot);
    await bot.waitReady(port, 240_000);
    const base = `http://127.0.0.1:${port}`;

    // The empty database was migrated by the binary itself; the directory comes in as `npm run import` does it.
    const database = await openDatabase({ url: dbUrl.toString(), poolSize: 2 });
    try {
      await importDirectory(database.db, FIXTURE);
      const hook = fake.addWebhook();
      await bindChat(database.db, { platform: "wecom", externalId: "wrProdGroup01", unitId: "g1", name: "东村一组企微群", webhookUrl: normalizeWebhook(hook.url) });
    } finally {
      await database.close();
    }

    // Production keeps the simulator off.
    expect((await fetch(`${base}/sim/directory`)).status).toBe(404);
    // Its periodic tasks (visit reminders, digests, monthly reports) are registered in Redis.
    const queue = new Queue("periodic", { connection: { url: redisUrl.toString() }, prefix: "haolin" });
    cleanup.push(() => queue.close());
    expect((await queue.getJobSchedulers()).length).toBeGreaterThanOrEqual(3);

    fake.botUrl = `${base}/wecom/callback`;
    const res = await fake.callback(groupText(creds.botId, "wrProdGroup01", "LiYi", "@好邻 报事 生产模式下的路灯"));
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.reply)).toMatch(/已登记工单 #\d+/);

    bot.child.kill("SIGTERM");
    expect(await bot.exited).toBe(0);
    const logs = bot.output();
    expect(logs).toContain('"msg":"listening"');
    expect(logs).toContain('"scheduler":"bullmq"');
    expect(logs).toContain('"embedded":false');
    expect(logs).not.toContain("生产模式下的路灯"); // message text never reaches the logs at the production level
    expect(logs).not.toContain(creds.encodingAESKey);
  });
});
