/**
 * The digests' one door to visit coverage (走访覆盖). The figures come from the visits workflow (`visitCoverage`
 * in src/workflows/visits/coverage.ts, which applies each household's care plan); this adapter only reshapes them
 * per unit subtree, so digests and the dashboard never read visit tables themselves. Counts only: no names.
 */
import type { Db } from "../../db/client.js";
import { visitCoverage, visitsBetween } from "../visits/coverage.js";
import type { Window } from "./period.js";

export type CoverageCount = { visited: number; due: number };
/** Per unit (its whole subtree): special households (monthly visit / weekly contact) and all households. */
/** `logged`: visits and contacts logged in the digest's own window, the same days its ticket figures cover. */
export type UnitCoverage = { special: CoverageCount; all: CoverageCount; logged?: { visits: number; contacts: number } };

/**
 * Coverage of each unit's subtree as of `asOf` (households whose care plan is satisfied, of all households), and the
 * visits and contacts logged within `window` when given (the digests).
 */
export async function coverageByUnit(db: Db, unitIds: string[], asOf: Date, window?: Window): Promise<Map<string, UnitCoverage>> {
  const out = new Map<string, UnitCoverage>();
  for (const id of new Set(unitIds)) {
    const c = await visitCoverage(db, { root: id }, asOf);
    const cov: UnitCoverage = { special: { visited: c.special.covered, due: c.special.due }, all: { visited: c.all.covered, due: c.all.due } };
    if (window) cov.logged = await visitsBetween(db, id, window.from, window.to);
    out.set(id, cov);
  }
  return out;
}
