/**
 * The towns a viewer's scope touches, each with its own policy (answer and resolution clocks, sensitive words):
 * queries that judge tickets by a town's clocks run once per town. A leader's scope lies inside one town; the
 * admin's covers every town.
 */
import type { Db } from "../../db/client.js";
import type { UnitTree } from "../../workflows/digests/index.js";
import type { Policy, PolicyOverrides } from "../../workflows/policy.js";
import type { Scope } from "../data.js";
import { type ScopeTree, scopeTree } from "../tree.js";

/** `root`: the part of the scope inside one town (the leader's unit, or the whole town for the admin); `unitIds` its subtree. */
export type ClockRoot = { root: string; unitIds: string[]; townId: string; policy: Policy };

export async function clockRoots(db: Db, scope: Scope, overrides: PolicyOverrides): Promise<{ tree: UnitTree; below: ScopeTree; roots: ClockRoot[] }> {
  const below = await scopeTree(db);
  const { tree } = below;
  if (scope.rootId) {
    const town = tree.townOf(scope.rootId);
    const root = { root: scope.rootId, unitIds: below.below(scope.rootId), townId: town?.id ?? scope.rootId, policy: tree.policy(scope.rootId, overrides) };
    return { tree, below, roots: [root] };
  }
  return { tree, below, roots: tree.towns().map((t) => ({ root: t.id, unitIds: below.below(t.id), townId: t.id, policy: tree.policy(t.id, overrides) })) };
}
