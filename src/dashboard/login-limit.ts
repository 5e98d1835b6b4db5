/**
 * Limits on POST /dashboard/login, against guessing the admin token: per client address and over all addresses (a
 * guesser with many addresses), each a fixed window. Kept in this process (per replica); a refused attempt is
 * answered 429 with a Chinese message and Retry-After, and does not reach the token check.
 */
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";

export type LoginLimits = { perAddress: number; overall: number; windowMs: number };

/** Ten tries per address and two hundred in all per quarter hour: plenty for people, far too few for guessing. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perAddress: 10, overall: 200, windowMs: 15 * 60_000 };
/** Addresses remembered at most; beyond it the oldest window is forgotten (memory stays bounded under a flood). */
const MAX_ADDRESSES = 10_000;

type Window = { start: number; count: number };

export class LoginLimiter {
  private readonly byAddress = new Map<string, Window>();
  private all: Window = { start: 0, count: 0 };

  constructor(private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {}

  /** Counts an attempt; returns why it is refused, or null when it may go on. */
  check(address: string, nowMs: number): { text: string; retryAfterMs: number } | null {
    const { windowMs } = this.limits;
    if (nowMs - this.all.start >= windowMs) this.all = { start: nowMs, count: 0 };
    let mine = this.byAddress.get(address);
    if (!mine || nowMs - mine.start >= windowMs) {
      this.byAddress.delete(address);
      if (this.byAddress.size >= MAX_ADDRESSES) this.byAddress.delete(this.byAddress.keys().next().value as string);
      mine = { start: nowMs, count: 0 };
      this.byAddress.set(address, mine);
    }
    if (mine.count >= this.limits.perAddress) {
      const wait = mine.start + windowMs - nowMs;
      return { text: `登录尝试太频繁，请 ${Math.max(1, Math.ceil(wait / 60_000))} 分钟后再试。`, retryAfterMs: wait };
    }
    if (this.all.count >= this.limits.overall)
      return { text: "登录请求太多，系统暂停登录一会儿，请稍后再试。", retryAfterMs: this.all.start + windowMs - nowMs };
    mine.count += 1;
    this.all.count += 1;
    return null;
  }
}

/**
 * The client's address: with TRUST_PROXY the last X-Forwarded-For entry (the one the proxy itself added; earlier
 * ones the client can write), otherwise the TCP peer.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const last = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (last) return last;
  }
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // not served by @hono/node-server (app.request in tests)
  }
}
