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
  /** Embedded mode keeps its PGlite database here. */
  DATA_DIR: z.string().default("./data"),
  /** postgres://… — when set, PostgreSQL through postgres.js instead of embedded PGlite. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
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
export const simEnabled = (env: Env) => env.SIM_ENABLED ?? isEmbedded(env);
export const demoEnabled = (env: Env) => env.DEMO_DATA ?? isEmbedded(env);
