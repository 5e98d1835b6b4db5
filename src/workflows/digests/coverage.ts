/**
 * The digests' one door to visit coverage (走访覆盖). The figures come from the visits workflow (`visitCoverageOfRoots`
 * in src/workflows/visits/coverage.ts, which applies each household's care plan); this adapter only reshapes them
 * per unit subtree, so digests and the dashboard never read visit tables themselves. Counts only: no names.
 */
import type { Db } from "../../db/client.js";
import { visitCoverageOfRoots, visitsBetweenOfRoots } from "../visits/coverage.js";
import { visitRulesFor, type VisitRules } from "../visits/rules.js";
import { townsOf } from "../visits/scope.js";
import type { Window } from "./period.js";

export type CoverageCount = { visited: number; due: number };
/** Per unit (its whole subtree): special households (monthly visit / weekly contact) and all households. */
/** `logged`: visits and contacts logged in the digest's own window, the same days its ticket figures cover. */
export type UnitCoverage = { special: CoverageCount; all: CoverageCount; logged?: { visits: number; contacts: number } };

/**
 * Coverage of each unit's subtree as of `asOf` (households whose care plan is satisfied, of all households), and the
 * visits and contacts logged within `window` when given (the digests). A few queries for all the units together
 * (a town's scorecards are hundreds of 邻; the weekly digests thousands of groups), each unit under its town's rules.
 */
export async function coverageByUnit(db: Db, unitIds: string[], asOf: Date, window?: Window): Promise<Map<string, UnitCoverage>> {
  const ids = [...new Set(unitIds)];
  const towns = await townsOf(db, ids);
  const rulesByTown = new Map<string, VisitRules>();
  const rulesOf = (id: string) => {
    const town = towns.get(id);
    const key = town?.id ?? "";
    const known = rulesByTown.get(key);
    if (known) return known;
    const rules = visitRulesFor(town?.settings);
    rulesByTown.set(key, rules);
    return rules;
  };
  const [coverage, logged] = await Promise.all([
    visitCoverageOfRoots(db, ids, asOf, rulesOf),
    window ? visitsBetweenOfRoots(db, ids, window.from, window.to) : null,
  ]);
  const out = new Map<string, UnitCoverage>();
  for (const id of ids) {
    const c = coverage.get(id);
    const cov: UnitCoverage = {
      special: { visited: c?.special.covered ?? 0, due: c?.special.due ?? 0 },
      all: { visited: c?.all.covered ?? 0, due: c?.all.due ?? 0 },
    };
    if (logged) cov.logged = logged.get(id) ?? { visits: 0, contacts: 0 };
    out.set(id, cov);
  }
  return out;
}
