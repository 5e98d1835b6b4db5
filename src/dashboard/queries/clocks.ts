/**
 * The towns a viewer's scope touches, each with its own policy (answer and resolution clocks, sensitive words):
 * queries that judge tickets by a town's clocks run once per town. A leader's scope lies inside one town; the
 * admin's covers every town.
 */
import type { Db } from "../../db/client.js";
import { UnitTree } from "../../workflows/digests/index.js";
import type { Policy, PolicyOverrides } from "../../workflows/policy.js";
import type { Scope } from "../data.js";

/** `root`: the part of the scope inside one town (the leader's unit, or the whole town for the admin). */
export type ClockRoot = { root: string; townId: string; policy: Policy };

export async function clockRoots(db: Db, scope: Scope, overrides: PolicyOverrides): Promise<{ tree: UnitTree; roots: ClockRoot[] }> {
  const tree = await UnitTree.load(db);
  if (scope.rootId) {
    const town = tree.townOf(scope.rootId);
    return { tree, roots: [{ root: scope.rootId, townId: town?.id ?? scope.rootId, policy: tree.policy(scope.rootId, overrides) }] };
  }
  return { tree, roots: tree.towns().map((t) => ({ root: t.id, townId: t.id, policy: tree.policy(t.id, overrides) })) };
}
