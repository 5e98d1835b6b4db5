/**
 * The only module that reads process.env. Validated once at start-up; a bad value stops the process
 * with a message naming the variable.
 */
import { z } from "zod";
import { parseDuration } from "./lib/duration.js";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const duration = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: "custom", message: `not a duration (examples: 20s, 30m, 4h, 3d): "${v}"` });
    return z.NEVER;
  }
  return ms;
});

const list = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** "json" (one line per event) or "pretty" (`npm run dev`; needs the dev dependency pino-pretty). */
  LOG_FORMAT: z.enum(["json", "pretty"]).default("json"),
  /** Embedded mode keeps its PGlite database here. */
  DATA_DIR: z.string().default("./data"),
  /** postgres://… — when set, PostgreSQL through postgres.js instead of embedded PGlite. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * What sits between the bot and PostgreSQL: "transaction" for a pooler in transaction mode (PgBouncer
   * `pool_mode = transaction`, most managed PostgreSQL poolers): no prepared statements and no pipelining outside a
   * transaction. "none" (default) or "session": a direct connection or a session pooler.
   */
  DATABASE_POOLER: z.enum(["none", "session", "transaction"]).default("none"),
  /**
   * How long start-up waits for PostgreSQL and Redis to answer (growing pauses, one log line per try) before it
   * gives up. "0": one try only.
   */
  STARTUP_WAIT: z.union([z.literal("0").transform(() => 0), duration]).default(120_000),
  /** redis://… — when set, BullMQ timers and workers; otherwise the in-process scheduler. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** The chat simulator: on by default without DATABASE_URL (embedded mode), off in production unless true. */
  SIM_ENABLED: bool.optional(),
  /** Load the fictional demo directory when the database has no units. Default: on in embedded mode. */
  DEMO_DATA: bool.optional(),
  /** The bot's display names (its @mention is stripped from messages). */
  BOT_NAMES: list.default(["好邻"]),
  /** Deployment-wide overrides of the towns' answer and resolution clocks. */
  ANSWER_DEADLINE: duration.optional(),
  RESOLVE_DEADLINE: duration.optional(),
  /** Worker concurrency for BullMQ queues. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(10),
  /** Admin token for the dashboard and admin HTTP routes. */
  ADMIN_TOKEN: z.string().min(16).optional(),
  /**
   * Behind a TLS-terminating reverse proxy: trust its X-Forwarded-Proto (Secure cookies when it says https) and the
   * last address of X-Forwarded-For (the client, for the sign-in rate limit). Off: both headers are ignored.
   */
  TRUST_PROXY: bool.default(false),
  /** When set, /metrics answers only to `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** How long a leader's dashboard login link stays valid (default 2h); an admin can revoke a person's links at once. */
  LOGIN_LINK_TTL: duration.default(2 * 3_600_000),
  /** Signs dashboard sessions and leaders' login links (default: derived from ADMIN_TOKEN). */
  SESSION_SECRET: z.string().min(32).optional(),
  /** DingTalk internal app (Stream mode): both turn the DingTalk adapter on. The secret is never logged. */
  DINGTALK_CLIENT_ID: z.string().optional(),
  DINGTALK_CLIENT_SECRET: z.string().optional(),
  /** The robot code; for an internal-app robot it equals the client id (the default). */
  DINGTALK_ROBOT_CODE: z.string().optional(),
  /** The robot's names in DingTalk groups (default: BOT_NAMES). */
  DINGTALK_BOT_NAMES: list.optional(),
  /** The escalation card template (卡片平台, "….schema"); without it pings are plain group messages. */
  DINGTALK_CARD_TEMPLATE_ID: z.string().optional(),
  /** Base URLs, overridable so tests (or a proxy) can stand in for DingTalk. */
  DINGTALK_API_BASE: z.url({ protocol: /^https?$/ }).default("https://api.dingtalk.com"),
  DINGTALK_OAPI_BASE: z.url({ protocol: /^https?$/ }).default("https://oapi.dingtalk.com"),
  DINGTALK_GATEWAY_URL: z.url({ protocol: /^https?$/ }).default("https://api.dingtalk.com/v1.0/gateway/connections/open"),
  /** Reconnect the Stream connection after this long without any frame or pong (default 15m). */
  DINGTALK_STREAM_SILENCE: duration.optional(),
  /** WeCom 智能机器人 (API mode, callback URL): Token, EncodingAESKey and BotID. All three turn /wecom/callback on. */
  WECOM_TOKEN: z.string().regex(/^[A-Za-z0-9]{1,64}$/, "应为字母和数字（企业微信后台“随机获取”的 Token）").optional(),
  WECOM_ENCODING_AES_KEY: z.string().regex(/^[A-Za-z0-9]{43}$/, "应为 43 位字母和数字").optional(),
  WECOM_BOT_ID: z.string().min(1).max(128).optional(),
  /** The WeCom bot's display names (its @name is stripped); default BOT_NAMES. */
  WECOM_BOT_NAMES: list.optional(),
  /**
   * WeCom 自建应用 (application messages): the corp id, the app's Secret and its AgentId. All three turn on private
   * messages to WeCom members (待走访 lists, reminders, escalation copies, monthly reports). The secret is never logged.
   */
  WECOM_CORP_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "应为企业 ID（我的企业 → 企业信息，ww 开头）").optional(),
  WECOM_APP_SECRET: z.string().min(1).max(256).optional(),
  WECOM_AGENT_ID: z.coerce.number().int().min(1).max(2 ** 31 - 1).optional(),
  /** WeCom server API base URL for 消息推送 webhooks and the 自建应用 (tests point it at a fake). */
  WECOM_WEBHOOK_BASE: z.url({ protocol: /^https?$/ }).default("https://qyapi.weixin.qq.com"),
});

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {}

/** Parse an environment (process.env by default). Empty strings count as unset. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== "") cleaned[k] = v;
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new EnvError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export const isEmbedded = (env: Env) => !env.DATABASE_URL;
/** Credentials of a real platform: with any of them set, the simulator could act as real people in real groups. */
const PLATFORM_CREDENTIALS = [
  "WECOM_TOKEN",
  "WECOM_ENCODING_AES_KEY",
  "WECOM_BOT_ID",
  "WECOM_CORP_ID",
  "WECOM_APP_SECRET",
  "DINGTALK_CLIENT_ID",
  "DINGTALK_CLIENT_SECRET",
] as const;

/**
 * The simulator: "open" in the embedded default and demos; beside real platform credentials only when asked for
 * (SIM_ENABLED=true) and then only "behind-sign-in" (an admin dashboard session), which needs ADMIN_TOKEN — without
 * it the configuration is refused, because the simulator acts as any person and its notices reach the real groups.
 */
export function simMode(env: Env): "off" | "open" | "behind-sign-in" {
  const real = PLATFORM_CREDENTIALS.some((k) => env[k] !== undefined);
  if (!real) return (env.SIM_ENABLED ?? isEmbedded(env)) ? "open" : "off";
  if (env.SIM_ENABLED !== true) return "off";
  if (!env.ADMIN_TOKEN)
    throw new EnvError(
      "Invalid configuration:\n  SIM_ENABLED: 与企业微信/钉钉凭据同时开启模拟器时，模拟器只对登录看板的管理员开放，必须设置 ADMIN_TOKEN（或关闭 SIM_ENABLED）。" +
        " With WeCom/DingTalk credentials the simulator is served only behind the admin sign-in: set ADMIN_TOKEN (or turn SIM_ENABLED off).",
    );
  return "behind-sign-in";
}
export const demoEnabled = (env: Env) => env.DEMO_DATA ?? isEmbedded(env);

/** The WeCom settings when WECOM_TOKEN, WECOM_ENCODING_AES_KEY and WECOM_BOT_ID are all set; null when none is. */
export function wecomConfig(env: Env) {
  const { WECOM_TOKEN: token, WECOM_ENCODING_AES_KEY: encodingAESKey, WECOM_BOT_ID: botId } = env;
  if (!token && !encodingAESKey && !botId) return null;
  if (!token || !encodingAESKey || !botId) {
    const missing = Object.entries({ WECOM_TOKEN: token, WECOM_ENCODING_AES_KEY: encodingAESKey, WECOM_BOT_ID: botId })
      .filter(([, v]) => !v)
      .map(([k]) => `  ${k}: required when any WECOM_* credential is set`);
    throw new EnvError(`Invalid configuration:\n${missing.join("\n")}`);
  }
  return { token, encodingAESKey, botId, botNames: env.WECOM_BOT_NAMES ?? env.BOT_NAMES, webhookBase: env.WECOM_WEBHOOK_BASE };
}

/** The 自建应用 settings when WECOM_CORP_ID, WECOM_APP_SECRET and WECOM_AGENT_ID are all set; null when none is. */
export function wecomAppConfig(env: Env) {
  const { WECOM_CORP_ID: corpId, WECOM_APP_SECRET: secret, WECOM_AGENT_ID: agentId } = env;
  if (!corpId && !secret && agentId === undefined) return null;
  if (!corpId || !secret || agentId === undefined) {
    const missing = Object.entries({ WECOM_CORP_ID: corpId, WECOM_APP_SECRET: secret, WECOM_AGENT_ID: agentId })
      .filter(([, v]) => v === undefined || v === "")
      .map(([k]) => `  ${k}: required when WECOM_CORP_ID, WECOM_APP_SECRET or WECOM_AGENT_ID is set`);
    throw new EnvError(`Invalid configuration:\n${missing.join("\n")}`);
  }
  return { corpId, secret, agentId, apiBase: env.WECOM_WEBHOOK_BASE.replace(/\/+$/, "") };
}
