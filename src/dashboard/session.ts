/**
 * Who is signed in: the session cookie, checked against the signer and, for a leader, against their current link
 * version (an admin's 作废 bumps it, which ends every link and session that person was given). Shared by the
 * dashboard and by the simulator when it sits behind the admin sign-in.
 */
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { Db } from "../db/client.js";
import { people, type Role } from "../db/schema/index.js";
import { ROLE_ZH } from "../workflows/roles.js";
import { ADMIN, type Signer } from "./auth.js";
import type { Scope } from "./data.js";

export const COOKIE = "hl_dash";

/** `role`: the person's role ("admin" for the admin token); the directory pages decide by it (rosterActor). */
export type Viewer = { id: string; name: string; admin: boolean; scope: Scope; role: Role };

export async function viewerOf(db: Db, signer: Signer, c: Context, nowMs: number): Promise<Viewer | null> {
  const s = signer.verify("session", getCookie(c, COOKIE), nowMs);
  if (!s) return null;
  if (s.sub === ADMIN) return { id: ADMIN, name: "管理员", admin: true, scope: { rootId: null }, role: "admin" };
  const [p] = await db.select().from(people).where(eq(people.id, s.sub));
  if (!p?.active || p.linkVersion !== (s.v ?? 0)) return null;
  if (p.role === "admin") return { id: p.id, name: p.name, admin: true, scope: { rootId: null }, role: p.role };
  if (p.role === "resident") return null;
  return { id: p.id, name: `${p.name}（${ROLE_ZH[p.role]}）`, admin: false, scope: { rootId: p.unitId }, role: p.role };
}

/**
 * Did the browser reach us over https? Directly, or — with TRUST_PROXY — through a TLS-terminating proxy that says
 * so in X-Forwarded-Proto (its first value: the proxy nearest the client).
 */
export function overHttps(c: Context, trustProxy: boolean): boolean {
  if (new URL(c.req.url).protocol === "https:") return true;
  return trustProxy && c.req.header("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https";
}
