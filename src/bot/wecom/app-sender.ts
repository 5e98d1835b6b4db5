/**
 * Private messages on WeCom through the 自建应用 (application messages, doc 90236): one outbox row for one person
 * is one or more message/send calls to their WeCom userid. text and markdown are each at most 2048 bytes, so a
 * longer message goes in parts, and a retry starts after the parts already delivered.
 *
 * Duplicate checking is always on, at its longest interval (4 h): WeCom drops a request whose JSON equals one it
 * accepted in that time. A part sent just before a crash, and sent again when the row's lease lapses, is the same
 * JSON, so the person gets it once. The price: the very same text to the same person within 4 h arrives once.
 */
import { errInfo } from "../../lib/errors.js";
import type { Logger } from "pino";
import type { OutboxPayload } from "../../db/schema/index.js";
import { Permanent, RetryAt } from "../../scheduler/types.js";
import type { PartsSent } from "../../workflows/delivery.js";
import { type AppMessageBody, MAX_DUPLICATE_CHECK_S, type WecomAppApi, WecomAppError } from "./app-api.js";
import { splitBytes } from "./webhook.js";

/** text.content and markdown.content: at most 2048 bytes each (doc 90236). */
export const APP_TEXT_MAX_BYTES = 2048;
/** Per member and app: 30 a minute and 1000 an hour, the rest silently dropped (doc 90236); 3.6 s apart keeps both. */
export const APP_MEMBER_INTERVAL_MS = 3600;

export type AppSenderOptions = {
  api: WecomAppApi;
  logger: Logger;
  /** 0 turns duplicate checking off (tests show what it prevents). Default: 4 h, the longest WeCom allows. */
  duplicateCheckS?: number;
  /** Spacing per part between two messages to one member (default 3.6 s). */
  memberIntervalMs?: number;
};

/** The application-message bodies for one outbox payload, in order. */
export function appMessages(payload: OutboxPayload): AppMessageBody[] {
  return splitBytes(payload.text, APP_TEXT_MAX_BYTES).map((content) =>
    payload.format === "markdown" ? { msgtype: "markdown", markdown: { content } } : { msgtype: "text", text: { content } },
  );
}

export function createAppDelivery(opts: AppSenderOptions) {
  const { api, logger } = opts;
  const duplicateCheckS = opts.duplicateCheckS ?? MAX_DUPLICATE_CHECK_S;
  const jitter = () => Math.floor(Math.random() * 1000);

  function outboxError(err: unknown): unknown {
    if (!(err instanceof WecomAppError)) return err;
    switch (err.kind) {
      case "throttled":
        return new RetryAt(new Date(Date.now() + 60_000 + jitter()));
      case "config":
        // Wrong secret, corp id, agent id or an untrusted server IP: nothing goes until an admin fixes it; keep the rows.
        logger.error({ errcode: err.errcode }, "wecom app refused: check WECOM_CORP_ID / WECOM_APP_SECRET / WECOM_AGENT_ID and 企业可信IP; messages wait");
        return new RetryAt(new Date(Date.now() + 3_600_000 + jitter()));
      case "permanent":
        return new Permanent(err.message);
      default:
        return err;
    }
  }

  /** The spacing one payload needs before the next message to the same member: one interval per part it is sent in. */
  const interval = (payload: OutboxPayload) => (opts.memberIntervalMs ?? APP_MEMBER_INTERVAL_MS) * appMessages(payload).length;

  /** Deliver one payload to one member, part by part; throws Permanent when WeCom says the member cannot be reached. */
  async function send(userid: string, payload: OutboxPayload, parts: PartsSent): Promise<void> {
    const messages = appMessages(payload);
    try {
      for (const [i, body] of messages.entries()) {
        if (i < parts.sent) continue;
        const r = await api.sendMessage([userid], body, duplicateCheckS);
        if (r.invalid.includes(userid.toLowerCase())) {
          logger.warn({ parts: messages.length }, "wecom app: recipient not reachable (not a member in the app's visible range)");
          throw new Permanent("wecom app: not a member in the app's visible range (invaliduser / 81013)");
        }
        if (i < messages.length - 1) await parts.record(i + 1);
      }
    } catch (err) {
      if (err instanceof Permanent) throw err;
      const mapped = outboxError(err);
      if (mapped !== err) logger.warn(errInfo(err), "wecom app send failed");
      throw mapped;
    }
  }

  return { send, interval };
}
