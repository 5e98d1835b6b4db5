/**
 * Who may keep the directory, and where: the admin everywhere; a village (or town) official within their own unit's
 * subtree; nobody else. Every roster workflow checks a unit against the actor's root with `inScope`, so a village
 * official's request about another village is refused the same way whatever page it came from.
 */
import type { Db } from "../../db/client.js";
import type { Role } from "../../db/schema/index.js";
import { unitPath } from "../directory.js";

export type DirectoryActor = {
  /** The person acting; null for the admin token. */
  personId: string | null;
  /** Their name for the history ("管理员" for the token). */
  name: string;
  admin: boolean;
  /** The unit whose subtree they keep; null for everything. */
  rootId: string | null;
};

/** The roles that keep the directory of their own unit's subtree (the admin keeps all of it). */
export const ROSTER_ROLES: readonly Role[] = ["village_official", "town_official"];

/** The actor a signed-in person is for the directory, or null when their role keeps none of it. */
export function rosterActor(p: { id: string; name: string; role: Role; unitId: string } | "admin-token"): DirectoryActor | null {
  if (p === "admin-token") return { personId: null, name: "管理员", admin: true, rootId: null };
  if (p.role === "admin") return { personId: p.id, name: p.name, admin: true, rootId: null };
  if (ROSTER_ROLES.includes(p.role)) return { personId: p.id, name: p.name, admin: false, rootId: p.unitId };
  return null;
}

/** The unit is the actor's root or below it (false for a unit that does not exist). */
export async function inScope(db: Db, actor: DirectoryActor, unitId: string): Promise<boolean> {
  const path = await unitPath(db, unitId);
  if (path.length === 0) return false;
  return actor.rootId === null || path.some((u) => u.id === actor.rootId);
}
