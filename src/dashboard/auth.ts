/**
 * Dashboard sign-in without a sessions table: HMAC-SHA256 signed values. The session cookie holds who (the admin
 * or a person id) and until when; a leader's login link holds the same for a short time. Nothing secret is stored
 * in the browser, and a cookie cannot be forged or extended without the secret.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** `v`: the person's link version when the link was made (see people.linkVersion); absent for the admin token. */
export type Session = { sub: string; exp: number; v?: number };

export const ADMIN = "admin";
export const SESSION_TTL_MS = 12 * 3_600_000;
/** A leader's login link, unless LOGIN_LINK_TTL says otherwise. */
export const LINK_TTL_MS = 2 * 3_600_000;

export class Signer {
  private readonly key: Buffer;
  constructor(secret: string | undefined, adminToken: string | undefined) {
    // Without SESSION_SECRET the key derives from ADMIN_TOKEN (same on every replica); without either, random.
    const base = secret ?? (adminToken ? `admin-token:${adminToken}` : randomBytes(32).toString("hex"));
    this.key = createHmac("sha256", "haolin-dashboard").update(base).digest();
  }

  private mac(purpose: string, body: string) {
    return createHmac("sha256", this.key).update(`${purpose}.${body}`).digest("base64url");
  }

  sign(purpose: "session" | "link", s: Session): string {
    const body = Buffer.from(JSON.stringify(s)).toString("base64url");
    return `${body}.${this.mac(purpose, body)}`;
  }

  verify(purpose: "session" | "link", value: string | undefined, now: number): Session | null {
    if (!value || value.length > 1000) return null;
    const [body, mac] = value.split(".");
    if (!body || !mac) return null;
    const want = Buffer.from(this.mac(purpose, body));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    try {
      const s = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Session;
      if (typeof s.sub !== "string" || typeof s.exp !== "number" || s.exp < now) return null;
      if (s.v !== undefined && !Number.isInteger(s.v)) return null;
      return s;
    } catch {
      return null;
    }
  }
}

/** Constant-time comparison of a typed token with the admin token. */
export function tokenMatches(given: string, expected: string | undefined): boolean {
  if (!expected) return false;
  const a = createHmac("sha256", "cmp").update(given).digest();
  const b = createHmac("sha256", "cmp").update(expected).digest();
  return timingSafeEqual(a, b);
}
