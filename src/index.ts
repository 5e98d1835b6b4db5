/**
 * Boot: env → PostgreSQL and Redis, waited for → database (+ migrations under an advisory lock) → demo directory if
 * empty → scheduler → runtime (workers + reconciler) → HTTP. Shutdown in the reverse order on SIGTERM/SIGINT.
 */
import { errInfo, isQueryError } from "./lib/errors.js";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { count } from "drizzle-orm";
import type { Logger } from "pino";
import { createApp } from "./app.js";
import { simSender } from "./bot/sim/sender.js";
import { WecomAppApi } from "./bot/wecom/app-api.js";
import { wecomMediaFetcher } from "./bot/wecom/media.js";
import { createWecomSender } from "./bot/wecom/sender.js";
import { dingtalkConfig } from "./bot/dingtalk/config.js";
import { type Database, isPermanentConnectError, openDatabase } from "./db/client.js";
import { importDirectory } from "./db/directory-import.js";
import { migrateDatabase } from "./db/migrate.js";
import { units } from "./db/schema/index.js";
import { demoEnabled, type Env, EnvError, isEmbedded, loadEnv, simMode, wecomAppConfig, wecomConfig } from "./env.js";
import { StartupAborted, StartupWaitError, urlTarget, waitFor } from "./lib/wait-for.js";
import { createLogger } from "./logger.js";
import { Runtime } from "./runtime.js";
import { MemoryScheduler } from "./scheduler/memory.js";
import { markWebhookDead } from "./workflows/chats.js";
import type { Sender } from "./workflows/delivery.js";
import type { MediaFetcher } from "./workflows/media/job.js";
import { digestTasks } from "./workflows/digests/tasks.js";
import { visitTasks } from "./workflows/visits/tasks.js";
import { meetingTasks } from "./workflows/meetings/tasks.js";
import { loadDemoGoodNeighbors } from "./workflows/good-neighbors.js";
import { Effects } from "./workflows/effects.js";
import { circularTasks } from "./workflows/circulars/tasks.js";
import { mediationTasks } from "./workflows/mediations/tasks.js";
import { loadDemoActivity } from "./workflows/demo-activity.js";

const DEMO_FILE = fileURLToPath(new URL("../demo/directory.yaml", import.meta.url));
const DEMO_GOOD_NEIGHBORS = fileURLToPath(new URL("../demo/good-neighbors.yaml", import.meta.url));
const DEMO_ACTIVITY = fileURLToPath(new URL("../demo/notices-and-mediations.yaml", import.meta.url));

async function main() {
  let env: ReturnType<typeof loadEnv>;
  let wecom: ReturnType<typeof wecomConfig>;
  let wecomApp: ReturnType<typeof wecomAppConfig>;
  let dingtalk: ReturnType<typeof dingtalkConfig>;
  let simulator: ReturnType<typeof simMode>;
  try {
    env = loadEnv();
    wecom = wecomConfig(env);
    wecomApp = wecomAppConfig(env);
    dingtalk = dingtalkConfig(env);
    simulator = simMode(env);
  } catch (err) {
    if (err instanceof EnvError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(env.LOG_LEVEL, env.LOG_FORMAT);
  const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: env.DATABASE_POOL_SIZE, pooler: env.DATABASE_POOLER });
  await waitForServices(env, database, logger);
  await migrateDatabase(database, env.DATABASE_URL);

  if (demoEnabled(env)) {
    const [row] = await database.db.select({ n: count() }).from(units);
    if (!row?.n) {
      const summary = await importDirectory(database.db, DEMO_FILE);
      logger.info({ summary }, "demo directory loaded");
      const lists = await database.db.transaction((db) =>
        loadDemoGoodNeighbors({ db, now: new Date(), effects: new Effects(), overrides: {} }, DEMO_GOOD_NEIGHBORS),
      );
      logger.info({ lists }, "demo 好邻 lists loaded");
      const activity = await database.db.transaction((db) =>
        loadDemoActivity({ db, now: new Date(), effects: new Effects(), overrides: {} }, DEMO_ACTIVITY),
      );
      logger.info(activity, "demo notices and mediation cases loaded");
    }
  }

  // BullMQ and ioredis are loaded only with Redis (the embedded default never needs them).
  const scheduler = env.REDIS_URL
    ? new (await import("./scheduler/bullmq.js")).BullScheduler({ url: env.REDIS_URL, concurrency: env.WORKER_CONCURRENCY, logger })
    : new MemoryScheduler(logger);
  const sim = simulator !== "off";
  const senders: Sender[] = [];
  if (sim) senders.push(simSender);
  // One WeCom sender: groups through their 消息推送 webhooks, people through the 自建应用 when it is configured.
  const wecomAppApi = wecomApp ? new WecomAppApi(wecomApp, logger.child({ platform: "wecom" })) : null;
  if (wecom || wecomAppApi)
    senders.push(
      createWecomSender({
        webhookBase: env.WECOM_WEBHOOK_BASE,
        app: wecomAppApi ? { api: wecomAppApi, logger } : undefined,
        logger,
        onDeadWebhook: async (chatId) => {
          await runtime.transact((ctx) => markWebhookDead(ctx, chatId));
        },
      }),
    );

  // Loaded only when configured: the Stream SDK and its dependencies cost tens of MB of memory.
  const dingtalkBot = dingtalk ? new (await import("./bot/dingtalk/index.js")).DingTalkBot(dingtalk, logger) : null;
  if (dingtalkBot) senders.push(dingtalkBot.sender);
  // Photos are fetched off the reply path by the photo job (the simulator's come inline).
  const fetchers: MediaFetcher[] = [];
  if (wecom) fetchers.push(wecomMediaFetcher({ encodingAESKey: wecom.encodingAESKey }));
  if (dingtalkBot) fetchers.push(dingtalkBot.mediaFetcher);

  const runtime = new Runtime({
    database,
    scheduler,
    senders,
    fetchers,
    logger,
    botNames: [...new Set([...env.BOT_NAMES, ...(wecom?.botNames ?? []), ...(dingtalk?.botNames ?? [])])],
    overrides: { answerMs: env.ANSWER_DEADLINE, resolveMs: env.RESOLVE_DEADLINE },
  });
  runtime.start();
  await runtime.reconcile().catch(() => {});
  // 走访 reminders (daily 09:00), weekly digests (default Friday 08:00) and monthly reports (the 28th): exactly once each.
  // The 25th: groups without a 民情恳谈会 this month are named to their 组长.
  for (const task of [...visitTasks, ...digestTasks, ...meetingTasks]) await runtime.addPeriodic(task);
  // 通知: the one reminder three days on, to whoever has not confirmed passing it on.
  for (const task of circularTasks) await runtime.addPeriodic(task);
  // 调解: a case left 调解中 at one level for 14 days, its leaders reminded privately, once per stay.
  for (const task of mediationTasks) await runtime.addPeriodic(task);
  // The dashboard: ADMIN_TOKEN signs in; in embedded mode without one, a one-off token is made and printed.
  const adminToken = env.ADMIN_TOKEN ?? (isEmbedded(env) ? randomBytes(18).toString("base64url") : undefined);
  const dashboard =
    adminToken || env.SESSION_SECRET
      ? { adminToken, sessionSecret: env.SESSION_SECRET, linkTtlMs: env.LOGIN_LINK_TTL, trustProxy: env.TRUST_PROXY }
      : undefined;

  // Listeners are registered before the first connect (the gateway learns the topics then).
  dingtalkBot?.start(runtime.pipeline);

  const app = createApp({ runtime, logger, sim: simulator === "behind-sign-in" ? "behind-sign-in" : sim, wecom, wecomApp: wecomAppApi, readiness: dingtalkBot ? [() => dingtalkBot.readiness()] : [], dashboard, metricsToken: env.METRICS_TOKEN });
  const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) => {
    logger.info({ port: info.port, embedded: isEmbedded(env), sim, scheduler: env.REDIS_URL ? "bullmq" : "memory" }, "listening");
    if (sim) console.log(`\n  好邻已启动：http://localhost:${info.port}  （${isEmbedded(env) ? "内置数据库，" : ""}聊天模拟器已开启）\n`);
    if (dashboard && !env.ADMIN_TOKEN && adminToken) console.log(`  看板：http://localhost:${info.port}/dashboard  本次口令：${adminToken}\n`);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const hard = setTimeout(() => process.exit(1), 10_000);
    hard.unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await dingtalkBot?.stop();
    await runtime.stop();
    await scheduler.close();
    await database.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/**
 * PostgreSQL and Redis may come up after the bot (compose without health ordering, a host rebooting): wait for both
 * within STARTUP_WAIT. A SIGTERM meanwhile ends the wait and the process; nothing is open yet but the idle pool.
 */
async function waitForServices(env: Env, database: Database, logger: Logger) {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  const common = { logger, timeoutMs: env.STARTUP_WAIT, signal: stop.signal };
  const redisUrl = env.REDIS_URL;
  try {
    if (env.DATABASE_URL)
      await waitFor({
        ...common,
        service: "PostgreSQL",
        target: urlTarget(env.DATABASE_URL, 5432),
        probe: () => database.ping(),
        permanent: isPermanentConnectError,
      });
    if (redisUrl) {
      const { isPermanentRedisError, pingRedis } = await import("./scheduler/redis-ping.js");
      await waitFor({
        ...common,
        service: "Redis",
        target: urlTarget(redisUrl, 6379),
        probe: () => pingRedis(redisUrl),
        permanent: isPermanentRedisError,
      });
    }
  } catch (err) {
    await database.close().catch(() => {});
    if (err instanceof StartupAborted) {
      logger.info("stopped while waiting for PostgreSQL/Redis");
      process.exit(0);
    }
    if (err instanceof StartupWaitError) {
      logger.fatal(err.message);
      process.exit(1);
    }
    throw err;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

main().catch((err) => {
  // A failed query's message holds its parameters (directory data): only its name and code are printed.
  console.error("start-up failed:", isQueryError(err) ? errInfo(err) : err);
  process.exit(1);
});
