/**
 * A fake WeCom server API for the 自建应用, over real HTTP on 127.0.0.1, written from the documents (not from our
 * sender): docs/platforms.md lists which document each behaviour comes from.
 *
 * - GET /cgi-bin/gettoken?corpid&corpsecret (doc 91039): 40013 for another corp, 40001 for a wrong secret; a token
 *   lives `expires_in` 7200 s; `revokeTokens()` ends them early (WeCom may), after which calls answer 42001.
 *   A call without a token answers 41001, with one never issued 40014.
 * - POST /cgi-bin/message/send?access_token (doc 90236): agentid must be the app's (40056); touser "a|b" (≤1000);
 *   text / markdown (content ≤2048 bytes, longer is cut off: recorded as `truncated`), textcard (title ≤128 bytes,
 *   description ≤512 bytes, url required) and template_card; other msgtypes 40008, empty content 44004. Recipients
 *   outside the app's visible range come back in `invaliduser` (the rest are delivered); if none is valid, 81013.
 *   Per member and app: 30 a minute and 1000 an hour, the excess silently dropped (errcode 0, not delivered).
 *   With enable_duplicate_check, a request whose JSON equals one accepted within duplicate_check_interval
 *   (default 1800 s, at most 4 h) is dropped the same way.
 * - POST /cgi-bin/batch/openuserid_to_userid (doc 101521): open_userid → userid; anything else is invalid.
 * - `script(...codes)` answers the next calls to message/send with those errcodes (-1, 45009, 60020, …).
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type FakeWecomAppOptions = {
  corpId?: string;
  secret?: string;
  agentId?: number;
  /** Userids (any case) in the app's visible range. */
  members: string[];
  /** Per member: at most `count` messages in any `windowMs` (default 30 a minute; 1000 an hour also holds). */
  memberLimit?: { count: number; windowMs: number };
  /** open_userid → userid, for batch/openuserid_to_userid. */
  openUserids?: Record<string, string>;
  now?: () => number;
};

export type Delivered = { userid: string; msgtype: string; body: Record<string, unknown>; content: string; truncated: boolean; at: number };
export type SendCall = { request: Record<string, unknown>; errcode: number; at: number };

const bytes = (s: unknown) => (typeof s === "string" ? Buffer.byteLength(s) : 0);
const cut = (s: string, max: number) => {
  const b = Buffer.from(s);
  return b.length <= max ? s : b.subarray(0, max).toString("utf8").replace(/\uFFFD+$/u, "");
};

export class FakeWecomApp {
  readonly corpId: string;
  readonly secret: string;
  readonly agentId: number;
  url = "";
  tokenFetches = 0;
  /** The errcodes of calls refused for their token (41001 / 40014 / 42001), in order. */
  readonly tokenRejections: number[] = [];
  /** Every message/send call, accepted or not. */
  readonly sends: SendCall[] = [];
  /** What reached each member, in order. */
  readonly delivered: Delivered[] = [];
  /** Messages WeCom accepted but did not deliver: over the member limit, or a duplicate. */
  readonly dropped: { userid: string; reason: "rate" | "duplicate"; content: string; at: number }[] = [];
  private readonly tokens = new Map<string, number>();
  /** Every token ever issued: a revoked one answers 42001 (expired), one never issued 40014. */
  private readonly issued = new Set<string>();
  private readonly accepted: { json: string; at: number }[] = [];
  private readonly scripted: number[] = [];
  private server: Server | null = null;
  private readonly now: () => number;
  private readonly members: Set<string>;

  constructor(readonly opts: FakeWecomAppOptions) {
    this.corpId = opts.corpId ?? "wwFAKECORP0001";
    this.secret = opts.secret ?? "fake-app-secret-0001";
    this.agentId = opts.agentId ?? 1000002;
    this.now = opts.now ?? Date.now;
    this.members = new Set(opts.members.map((m) => m.toLowerCase()));
  }

  static async start(opts: FakeWecomAppOptions): Promise<FakeWecomApp> {
    const fake = new FakeWecomApp(opts);
    await fake.listen();
    return fake;
  }

  /** WeCom ended every token early ("提前使access_token失效"). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  script(...codes: number[]): void {
    this.scripted.push(...codes);
  }

  /** What one member received, as text. */
  inbox(userid: string): string[] {
    return this.delivered.filter((d) => d.userid === userid.toLowerCase()).map((d) => d.content);
  }

  private listen(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://fake");
        const answer = (body: Record<string, unknown>) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ errmsg: body.errcode === 0 ? "ok" : `fake error ${body.errcode}`, ...body }));
        };
        if (req.method === "GET" && url.pathname === "/cgi-bin/gettoken") return answer(this.gettoken(url));
        if (req.method !== "POST") return answer({ errcode: 40001 });
        const auth = this.checkToken(url.searchParams.get("access_token"));
        if (auth) {
          this.tokenRejections.push(auth);
          return answer({ errcode: auth });
        }
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
        } catch {
          return answer({ errcode: 47001 });
        }
        if (url.pathname === "/cgi-bin/message/send") return answer(this.send(body));
        if (url.pathname === "/cgi-bin/batch/openuserid_to_userid") return answer(this.openToUser(body));
        res.writeHead(404).end();
      });
    });
    this.server = server;
    return new Promise((resolve) => {
      server.listen(0, "127.0.0.1", () => {
        this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        resolve();
      });
    });
  }

  private gettoken(url: URL): Record<string, unknown> {
    if (url.searchParams.get("corpid") !== this.corpId) return { errcode: 40013 };
    if (url.searchParams.get("corpsecret") !== this.secret) return { errcode: 40001 };
    this.tokenFetches += 1;
    const token = randomBytes(24).toString("base64url");
    this.tokens.set(token, this.now() + 7200_000);
    this.issued.add(token);
    return { errcode: 0, access_token: token, expires_in: 7200 };
  }

  private checkToken(token: string | null): number {
    if (!token) return 41001;
    const until = this.tokens.get(token);
    if (until === undefined) return this.issued.has(token) ? 42001 : 40014;
    return until <= this.now() ? 42001 : 0;
  }

  private send(body: Record<string, unknown>): Record<string, unknown> {
    const at = this.now();
    const record = (errcode: number, extra: Record<string, unknown> = {}) => {
      this.sends.push({ request: body, errcode, at });
      return { errcode, ...extra };
    };
    const next = this.scripted.shift();
    if (next !== undefined) return record(next);
    if (body.agentid !== this.agentId) return record(40056);
    const content = this.contentOf(body);
    if (typeof content === "number") return record(content);
    const touser = typeof body.touser === "string" ? body.touser.split("|").filter(Boolean) : [];
    if (touser.length === 0 || touser.length > 1000) return record(40031);
    const valid = touser.filter((u) => this.members.has(u.toLowerCase()));
    const invalid = touser.filter((u) => !this.members.has(u.toLowerCase())).map((u) => u.toLowerCase());
    if (valid.length === 0) return record(81013);

    const json = JSON.stringify(body);
    const dedupe = body.enable_duplicate_check === 1;
    const intervalMs = Math.min(Number(body.duplicate_check_interval ?? 1800), 14_400) * 1000;
    const duplicate = dedupe && this.accepted.some((a) => a.json === json && at - a.at < intervalMs);
    if (!duplicate) this.accepted.push({ json, at });
    const limit = this.opts.memberLimit ?? { count: 30, windowMs: 60_000 };
    for (const u of valid.map((v) => v.toLowerCase())) {
      if (duplicate) {
        this.dropped.push({ userid: u, reason: "duplicate", content: content.text, at });
        continue;
      }
      const recent = (w: number) => this.delivered.filter((d) => d.userid === u && at - d.at < w).length;
      if (recent(limit.windowMs) >= limit.count || recent(3_600_000) >= 1000) {
        this.dropped.push({ userid: u, reason: "rate", content: content.text, at });
        continue;
      }
      this.delivered.push({ userid: u, msgtype: String(body.msgtype), body, content: content.text, truncated: content.truncated, at });
    }
    return record(0, { invaliduser: invalid.join("|"), msgid: randomBytes(8).toString("hex") });
  }

  /** The shown text of a message body and whether WeCom cut it; an errcode when the body is not acceptable. */
  private contentOf(body: Record<string, unknown>): { text: string; truncated: boolean } | number {
    const part = body[String(body.msgtype)] as Record<string, unknown> | undefined;
    if (!part || typeof part !== "object") return 40008;
    switch (body.msgtype) {
      case "text":
      case "markdown": {
        if (typeof part.content !== "string" || part.content === "") return 44004;
        const text = cut(part.content, 2048);
        return { text, truncated: text !== part.content };
      }
      case "textcard": {
        if (typeof part.title !== "string" || typeof part.description !== "string" || typeof part.url !== "string" || !part.url)
          return 40058;
        const truncated = bytes(part.title) > 128 || bytes(part.description) > 512;
        return { text: `${cut(part.title, 128)}\n${cut(part.description, 512)}`, truncated };
      }
      case "template_card":
        return typeof part.card_type === "string" ? { text: JSON.stringify(part), truncated: false } : 40058;
      default:
        return 40008;
    }
  }

  private openToUser(body: Record<string, unknown>): Record<string, unknown> {
    const list = Array.isArray(body.open_userid_list) ? (body.open_userid_list as string[]) : [];
    const map = this.opts.openUserids ?? {};
    return {
      errcode: 0,
      userid_list: list.filter((o) => map[o]).map((o) => ({ open_userid: o, userid: map[o] })),
      invalid_open_userid_list: list.filter((o) => !map[o]),
    };
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
