/**
 * DingTalk OpenAPI calls (api.dingtalk.com) and session-webhook replies, with one cached app access token.
 * Every base URL comes from configuration so tests talk to a fake. Nothing here logs a token, secret or
 * webhook URL; errors carry the path, HTTP status and DingTalk's error code only.
 * Protocol notes: /work/shared/docs/protocols/dingtalk.md §3, §4, §5.
 */
import type { Logger } from "pino";
import { withTimeout } from "../../lib/timeout.js";
import { type FetchedToken, TokenCache } from "../../lib/token-cache.js";

export type DingTalkApiConfig = {
  clientId: string;
  clientSecret: string;
  /** For an internal-app robot, the robot code equals the client id (AppKey). */
  robotCode: string;
  /** https://api.dingtalk.com */
  apiBase: string;
  /** https://oapi.dingtalk.com: session webhooks must point here (never POST to a URL a frame merely claims). */
  oapiBase: string;
  timeoutMs?: number;
};

export type ErrorKind = "auth" | "throttled" | "quota" | "permanent" | "transient";

export class DingTalkError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly status: number,
    readonly code: string,
    what: string,
    readonly retryAfterMs: number | null = null,
  ) {
    super(`dingtalk ${what}: ${kind} (HTTP ${status}${code ? `, ${code}` : ""})`);
  }
}

const THROTTLED = /throttl|qpslimit|flowcontrol|ratelimit|too ?fast|^90002$|^90018$|^130101$/i;
const QUOTA = /apicountlimit|^90020$/i;

/** Sort a failed answer into what the caller should do: refresh the token, wait, give up, or retry with backoff. */
export function classify(status: number, code: string): ErrorKind {
  if (QUOTA.test(code)) return "quota";
  if (status === 429 || THROTTLED.test(code)) return "throttled";
  if (status === 401 || /invalidauthentication|^40014$|^42001$/i.test(code)) return "auth";
  if (status === 0 || status >= 500) return "transient";
  return "permanent";
}

export type SendResult = { processQueryKey?: string; flowControlled: string[]; invalid: string[] };

export type MsgBody = { msgKey: string; msgParam: string };

/** A markdown message's title: its first line without markup (DingTalk shows it in the chat list). */
export const markdownTitle = (text: string) =>
  (text.split("\n").find((l) => l.trim()) ?? "好邻").replace(/^[#>*\s]+/, "").slice(0, 40) || "好邻";

/** A robot message body for the OpenAPI (msgParam is a JSON string, not an object). */
export function msgBody(text: string, format: "text" | "markdown" = "text"): MsgBody {
  if (format === "markdown") return { msgKey: "sampleMarkdown", msgParam: JSON.stringify({ title: markdownTitle(text), text }) };
  return { msgKey: "sampleText", msgParam: JSON.stringify({ content: text }) };
}

export type CardDelivery = { delivered: boolean; errors: string[] };

/** Read a createAndDeliver answer: delivered only when `success` is true and no target reports a failure. */
export function cardDelivery(body: Record<string, unknown>): CardDelivery {
  const result = (body.result ?? {}) as { deliverResults?: { success?: boolean; errorMsg?: string }[] };
  const targets = Array.isArray(result.deliverResults) ? result.deliverResults : [];
  const errors = targets.filter((t) => t?.success !== true).map((t) => String(t?.errorMsg ?? "not delivered").slice(0, 200));
  if (body.success !== true) errors.unshift("success is not true");
  return { delivered: errors.length === 0, errors };
}

export class DingTalkApi {
  private readonly token: TokenCache;

  constructor(
    readonly config: DingTalkApiConfig,
    private readonly logger: Logger,
    now: () => number = Date.now,
  ) {
    this.token = new TokenCache(() => this.fetchToken(), now);
  }

  /** How many times a token was fetched (for /readyz and tests). */
  get tokenFetches(): number {
    return this.token.fetches;
  }

  /** The app token: cached until shortly before expiry; concurrent callers share one fetch. */
  accessToken(): Promise<string> {
    return this.token.get();
  }

  /** Forget the token (after a 401): the next call fetches a new one. */
  invalidateToken(stale?: string) {
    this.token.invalidate(stale);
  }

  private async fetchToken(): Promise<FetchedToken> {
    const body = await this.call("POST", "/v1.0/oauth2/accessToken", {
      appKey: this.config.clientId,
      appSecret: this.config.clientSecret,
    });
    const value = typeof body.accessToken === "string" ? body.accessToken : "";
    const ttlMs = Number(body.expireIn ?? 7200) * 1000;
    if (!value || !(ttlMs > 0)) throw new DingTalkError("transient", 200, "noToken", "accessToken");
    this.logger.info({ ttlS: ttlMs / 1000 }, "dingtalk access token fetched");
    return { value, ttlMs };
  }

  /** An OpenAPI call with the app token; a 401 refreshes the token once and tries again. */
  async openApi(method: "POST" | "PUT", path: string, payload: unknown): Promise<Record<string, unknown>> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken();
      try {
        return await this.call(method, path, payload, token);
      } catch (err) {
        if (err instanceof DingTalkError && err.kind === "auth" && attempt === 0) {
          this.invalidateToken(token);
          continue;
        }
        throw err;
      }
    }
  }

  private async call(method: string, path: string, payload: unknown, token?: string): Promise<Record<string, unknown>> {
    return this.request(`${this.config.apiBase}${path}`, method, payload, path, token);
  }

  private async request(url: string, method: string, payload: unknown, what: string, token?: string): Promise<Record<string, unknown>> {
    let res: Response;
    let text: string;
    try {
      // The body is read within the same time limit; a connection dropped while reading it is transient too.
      ({ res, text } = await withTimeout(this.config.timeoutMs ?? 10_000, async (signal) => {
        // A FormData body (a media upload) sets its own multipart content type.
        const form = payload instanceof FormData;
        const r = await fetch(url, {
          method,
          headers: {
            ...(form ? {} : { "content-type": "application/json" }),
            accept: "application/json",
            ...(token ? { "x-acs-dingtalk-access-token": token } : {}),
          },
          body: form ? payload : JSON.stringify(payload),
          signal,
        });
        return { res: r, text: await r.text() };
      }));
    } catch (err) {
      throw new DingTalkError("transient", 0, (err as Error).name, what);
    }
    let body: Record<string, unknown> | null = null;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: an HTML page (IP-level throttling answers this way, dingtalk.md §4.5), or nothing at all.
    }
    if (body === null) {
      // Never a success: every answer DingTalk documents for these calls is a JSON object. A failing status
      // decides the kind; a "200" HTML page is the IP-level block (5 minutes): wait, do not count it a failure.
      const kind = res.ok ? "throttled" : classify(res.status, "");
      throw new DingTalkError(kind, res.status, "nonJsonBody", what, res.ok ? 60_000 : null);
    }
    // OpenAPI errors: HTTP 4xx/5xx with {code, message}; oapi-style answers: HTTP 200 with errcode ≠ 0.
    const errcode = body.errcode !== undefined && body.errcode !== 0 && body.errcode !== "0" ? String(body.errcode) : "";
    if (!res.ok || errcode) {
      const code = errcode || String(body.code ?? "");
      const retryAfter = Number(res.headers.get("retry-after"));
      throw new DingTalkError(classify(res.status, code), res.status, code, what, retryAfter > 0 ? retryAfter * 1000 : null);
    }
    return body;
  }

  /** Is this a session webhook we may POST to (DingTalk's own host, as configured)? */
  sessionWebhookAllowed(url: string): boolean {
    try {
      const u = new URL(url);
      return u.origin === new URL(this.config.oapiBase).origin && u.pathname.startsWith("/robot/sendBySession");
    } catch {
      return false;
    }
  }

  /** Reply in the conversation a message came from; no token needed (the URL is the credential). */
  async replyBySession(url: string, body: unknown): Promise<void> {
    if (!this.sessionWebhookAllowed(url)) throw new DingTalkError("permanent", 0, "untrustedWebhook", "sessionWebhook");
    await this.request(url, "POST", body, "sessionWebhook");
  }

  /**
   * Upload a picture (`POST oapi /media/upload?access_token=…&type=image`, multipart field `media`) for a group
   * message's `sampleImageMsg`; returns its media_id. The app's access token serves the old API too.
   */
  async uploadImage(data: Buffer, mime: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken();
      const form = new FormData();
      form.append("media", new Blob([new Uint8Array(data)], { type: mime }), mime === "image/png" ? "poster.png" : "poster.jpg");
      try {
        const url = `${this.config.oapiBase}/media/upload?access_token=${encodeURIComponent(token)}&type=image`;
        const body = await this.request(url, "POST", form, "media/upload");
        const id = typeof body.media_id === "string" ? body.media_id : "";
        if (!id) throw new DingTalkError("transient", 200, "noMediaId", "media/upload");
        return id;
      } catch (err) {
        if (err instanceof DingTalkError && err.kind === "auth" && attempt === 0) {
          this.invalidateToken(token);
          continue;
        }
        throw err;
      }
    }
  }

  /** groupMessages/send: the robot posts into a group it is a member of. Cannot @ anyone. */
  async sendGroup(openConversationId: string, msg: MsgBody): Promise<SendResult> {
    const r = await this.openApi("POST", "/v1.0/robot/groupMessages/send", { robotCode: this.config.robotCode, openConversationId, ...msg });
    return { processQueryKey: r.processQueryKey as string | undefined, flowControlled: [], invalid: [] };
  }

  /** oToMessages/batchSend: one-to-one messages, at most 20 users a call (split here). */
  async sendDirect(userIds: string[], msg: MsgBody): Promise<SendResult> {
    const out: SendResult = { flowControlled: [], invalid: [] };
    for (let i = 0; i < userIds.length; i += 20) {
      const r = await this.openApi("POST", "/v1.0/robot/oToMessages/batchSend", {
        robotCode: this.config.robotCode,
        userIds: userIds.slice(i, i + 20),
        ...msg,
      });
      out.processQueryKey ??= r.processQueryKey as string | undefined;
      out.flowControlled.push(...((r.flowControlledStaffIdList as string[] | undefined) ?? []));
      out.invalid.push(...((r.invalidStaffIdList as string[] | undefined) ?? []));
    }
    return out;
  }

  /**
   * card/instances/createAndDeliver with Stream callbacks (without callbackType STREAM, taps never arrive). A 200
   * is not a delivery: the answer says `success` and, per target, `deliverResults[].success/errorMsg` (card_1_0
   * CreateAndDeliverResponseBody); both are read.
   */
  async createAndDeliverCard(req: {
    templateId: string;
    outTrackId: string;
    openConversationId: string;
    params: Record<string, string>;
    atUserIds: Record<string, string>;
  }): Promise<CardDelivery> {
    const r = await this.openApi("POST", "/v1.0/card/instances/createAndDeliver", {
      cardTemplateId: req.templateId,
      outTrackId: req.outTrackId,
      callbackType: "STREAM",
      openSpaceId: `dtv1.card//IM_GROUP.${req.openConversationId}`,
      userIdType: 1,
      cardData: { cardParamMap: req.params },
      imGroupOpenSpaceModel: { supportForward: false },
      imGroupOpenDeliverModel: { robotCode: this.config.robotCode, atUserIds: req.atUserIds },
    });
    return cardDelivery(r);
  }

  /** PUT card/instances: update some variables of a card, and optionally what one user sees privately. */
  async updateCard(outTrackId: string, params: Record<string, string>, privateFor?: { userId: string; params: Record<string, string> }) {
    await this.openApi("PUT", "/v1.0/card/instances", {
      outTrackId,
      userIdType: 1,
      cardData: { cardParamMap: params },
      ...(privateFor ? { privateData: { [privateFor.userId]: { cardParamMap: privateFor.params } } } : {}),
      cardUpdateOptions: { updateCardDataByKey: true, updatePrivateDataByKey: true },
    });
  }
}
