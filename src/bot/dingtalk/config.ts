/**
 * The DingTalk adapter's configuration, read from the environment. Kept apart from the adapter so start-up can
 * decide whether DingTalk is configured without loading the Stream SDK (tens of MB) when it is not.
 */
import { type Env, EnvError } from "../../env.js";
import type { WatchdogOptions } from "./stream.js";

export type DingTalkConfig = {
  clientId: string;
  clientSecret: string;
  robotCode: string;
  botNames: string[];
  cardTemplateId?: string;
  apiBase: string;
  oapiBase: string;
  gatewayUrl: string;
  watchdog?: Partial<WatchdogOptions>;
};

const trimSlash = (s: string) => s.replace(/\/+$/, "");

/** The adapter's configuration, or null when DingTalk is not configured. */
export function dingtalkConfig(env: Env): DingTalkConfig | null {
  const { DINGTALK_CLIENT_ID: id, DINGTALK_CLIENT_SECRET: secret } = env;
  if (!id && !secret) return null;
  if (!id || !secret) throw new EnvError("Invalid configuration:\n  DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET must be set together");
  return {
    clientId: id,
    clientSecret: secret,
    robotCode: env.DINGTALK_ROBOT_CODE ?? id,
    botNames: env.DINGTALK_BOT_NAMES ?? env.BOT_NAMES,
    cardTemplateId: env.DINGTALK_CARD_TEMPLATE_ID,
    apiBase: trimSlash(env.DINGTALK_API_BASE),
    oapiBase: trimSlash(env.DINGTALK_OAPI_BASE),
    gatewayUrl: env.DINGTALK_GATEWAY_URL,
    watchdog: env.DINGTALK_STREAM_SILENCE ? { silenceMs: env.DINGTALK_STREAM_SILENCE } : undefined,
  };
}

