/**
 * The WeCom 自建应用 server API: the app's access token (gettoken, doc 91039) and application messages
 * (message/send, doc 90236), with the global error codes (doc 90313) sorted into what a caller should do.
 * Every answer is HTTP 200 with an `errcode`; 0 is success. Nothing here logs the secret or a token, and an error
 * carries the path and errcode only (a token travels in the query string, so never the URL).
 */
import type { Logger } from "pino";
import { withTimeout } from "../../lib/timeout.js";
import { type FetchedToken, TokenCache } from "../../lib/token-cache.js";

export type WecomAppConfig = { corpId: string; secret: string; agentId: number; apiBase: string; timeoutMs?: number };

/**
 * auth: the token expired or was revoked early (fetch a new one, once); throttled: wait; config: the corp id,
 * secret, agent id or the server's IP (企业可信IP) is wrong, nothing goes until an admin fixes it; all_invalid:
 * no recipient is a member in the app's visible range (81013); permanent: this request can never succeed.
 */
export type AppErrorKind = "auth" | "throttled" | "config" | "all_invalid" | "permanent" | "transient";

export class WecomAppError extends Error {
  constructor(
    readonly kind: AppErrorKind,
    readonly errcode: number,
    what: string,
  ) {
    super(`wecom ${what}: ${kind} (errcode ${errcode})`);
  }
}

/** 40014 invalid access_token, 42001 access_token expired, 41001 access_token missing. */
export const TOKEN_CODES = new Set([40014, 42001, 41001]);
/** 45009 API frequency over the limit, 45033 too many concurrent calls. */
const THROTTLE_CODES = new Set([45009, 45033]);
/** 40001 / 40091 bad secret, 40013 bad corpid, 40056 bad agentid, 60020 IP not trusted, 48002 no API permission, 301002 no right to the app. */
const CONFIG_CODES = new Set([40001, 40091, 40013, 40056, 60020, 48002, 301002]);

export function classifyErrcode(errcode: number): AppErrorKind {
  if (TOKEN_CODES.has(errcode)) return "auth";
  if (THROTTLE_CODES.has(errcode)) return "throttled";
  if (CONFIG_CODES.has(errcode)) return "config";
  if (errcode === 81013) return "all_invalid";
  if (errcode === -1) return "transient";
  return "permanent";
}

/** At most 1000 userids in one message/send (doc 90236). */
export const MAX_TOUSER = 1000;
/** duplicate_check_interval: default 1800 s, at most 4 hours (doc 90236). */
export const MAX_DUPLICATE_CHECK_S = 4 * 3600;

export type AppMessageBody =
  | { msgtype: "text"; text: { content: string } }
  | { msgtype: "markdown"; markdown: { content: string } }
  | { msgtype: "textcard"; textcard: { title: string; description: string; url: string; btntxt?: string } }
  | { msgtype: "template_card"; template_card: Record<string, unknown> };

/** Who a message/send reached: everyone asked but `invalid` (lower-cased, as WeCom answers them). */
export type AppSendResult = { invalid: string[]; msgids: string[] };

export class WecomAppApi {
  private readonly token: TokenCache;

  constructor(
    readonly config: WecomAppConfig,
    private readonly logger: Logger,
    now: () => number = Date.now,
  ) {
    this.token = new TokenCache(() => this.fetchToken(), now);
  }

  get tokenFetches(): number {
    return this.token.fetches;
  }

  private async fetchToken(): Promise<FetchedToken> {
    const q = new URLSearchParams({ corpid: this.config.corpId, corpsecret: this.config.secret });
    const body = await this.request("GET", `/cgi-bin/gettoken?${q}`, undefined, "gettoken");
    const value = typeof body.access_token === "string" ? body.access_token : "";
    const ttlMs = Number(body.expires_in ?? 7200) * 1000;
    if (!value || !(ttlMs > 0)) throw new WecomAppError("transient", 0, "gettoken");
    this.logger.info({ ttlS: ttlMs / 1000 }, "wecom app access token fetched");
    return { value, ttlMs };
  }

  /** A POST with the app token; an expired or revoked token (40014 / 42001 / 41001) is fetched anew, once. */
  async call(path: string, payload: unknown): Promise<Record<string, unknown>> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token.get();
      try {
        return await this.request("POST", `${path}?access_token=${encodeURIComponent(token)}`, payload, path);
      } catch (err) {
        if (err instanceof WecomAppError && err.kind === "auth" && attempt === 0) {
          this.token.invalidate(token);
          continue;
        }
        throw err;
      }
    }
  }

  private async request(method: "GET" | "POST", pathAndQuery: string, payload: unknown, what: string): Promise<Record<string, unknown>> {
    let status: number;
    let text: string;
    try {
      ({ status, text } = await withTimeout(this.config.timeoutMs ?? 10_000, async (signal) => {
        const res = await fetch(`${this.config.apiBase}${pathAndQuery}`, {
          method,
          headers: payload === undefined ? {} : { "content-type": "application/json; charset=utf-8" },
          body: payload === undefined ? undefined : JSON.stringify(payload),
          signal,
        });
        return { status: res.status, text: await res.text() };
      }));
    } catch {
      throw new WecomAppError("transient", 0, what);
    }
    if (status >= 500 || status === 429) throw new WecomAppError(status === 429 ? "throttled" : "transient", 0, what);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new WecomAppError("transient", 0, what);
    }
    const errcode = Number(body.errcode ?? 0);
    if (errcode !== 0) throw new WecomAppError(classifyErrcode(errcode), errcode, what);
    return body;
  }

  /**
   * message/send to members (touser joined by "|", at most 1000 a call, split here). Partial success is success:
   * the ones WeCom could not reach come back in `invaliduser`; when none could be reached the call fails with
   * 81013, which is reported here as all of that call's recipients being invalid. Duplicate checking makes WeCom
   * drop a request whose JSON equals one it accepted within `duplicateCheckS` seconds.
   */
  async sendMessage(touser: string[], body: AppMessageBody, duplicateCheckS?: number): Promise<AppSendResult> {
    const out: AppSendResult = { invalid: [], msgids: [] };
    for (let i = 0; i < touser.length; i += MAX_TOUSER) {
      const batch = touser.slice(i, i + MAX_TOUSER);
      const request = {
        touser: batch.join("|"),
        agentid: this.config.agentId,
        ...body,
        ...(duplicateCheckS
          ? { enable_duplicate_check: 1, duplicate_check_interval: Math.min(duplicateCheckS, MAX_DUPLICATE_CHECK_S) }
          : {}),
      };
      try {
        const r = await this.call("/cgi-bin/message/send", request);
        const invalid = typeof r.invaliduser === "string" ? r.invaliduser.split("|").filter(Boolean) : [];
        out.invalid.push(...invalid.map((u) => u.toLowerCase()));
        if (typeof r.msgid === "string") out.msgids.push(r.msgid);
      } catch (err) {
        if (err instanceof WecomAppError && err.kind === "all_invalid") out.invalid.push(...batch.map((u) => u.toLowerCase()));
        else throw err;
      }
    }
    return out;
  }

  /**
   * batch/openuserid_to_userid (doc 101521): the 智能机器人 may give a member as an encrypted open_userid; the app
   * turns it into the plaintext userid. Ids that are not open_userids (plaintext already, or unknown) are left out.
   */
  async openUseridsToUserids(openUserids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < openUserids.length; i += 1000) {
      const r = await this.call("/cgi-bin/batch/openuserid_to_userid", { open_userid_list: openUserids.slice(i, i + 1000) });
      for (const item of (r.userid_list as { open_userid?: unknown; userid?: unknown }[] | undefined) ?? []) {
        if (typeof item.open_userid === "string" && typeof item.userid === "string") out.set(item.open_userid, item.userid.toLowerCase());
      }
    }
    return out;
  }
}
