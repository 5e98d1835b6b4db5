/**
 * Visit coverage for digests and the dashboard: counts only, never names.
 *
 * visitCoverage(db, scope, asOf) looks at every household in the scope (the listed units, or every unit under
 * `root`) and applies its care plan (src/workflows/visits/rules.ts) as of the instant `asOf`:
 * - due      — households in the scope (each is always under a plan: special or normal);
 * - covered  — households whose plan is satisfied at `asOf`: a home visit in the current calendar month
 *              (special) / quarter (normal), or — special only — a visit or contact within the last 7 days;
 * - overdue  — households not covered whose previous period also ended without a visit (never visited counts);
 *              the rest of the uncovered ones are "due this period".
 * `special` counts special households only; `all` counts every household (special included).
 * Only matched visits logged at or before `asOf` count, so a past week's digest is reproducible: pass the end of
 * the week (e.g. Friday 08:00 Asia/Shanghai) as `asOf`. Rules are the town's (settings.visits).
 */
import { type Db, queryRows, sql, textArray } from "../../db/client.js";
import { subtreeCte, withRecursive } from "../../db/unit-tree.js";
import type { Household } from "../directory.js";
import { careStatus, type VisitRules, visitRulesFor } from "./rules.js";
import { historiesInUnits, historiesOf, householdsIn, subtreeUnitIds, townOf } from "./scope.js";

export type CoverageCounts = { due: number; covered: number; overdue: number };
export type Coverage = { special: CoverageCounts; all: CoverageCounts };
export type CoverageScope = { unitIds: string[] } | { root: string };

const emptyCoverage = (): Coverage => ({ special: { due: 0, covered: 0, overdue: 0 }, all: { due: 0, covered: 0, overdue: 0 } });

/** What coverage needs of a household. */
type Judged = Pick<Household, "id" | "unitId" | "careLevel">;

function count(out: Coverage, h: Judged, history: Parameters<typeof careStatus>[1], rules: VisitRules, asOf: Date) {
  const { status } = careStatus(h.careLevel, history, rules, asOf);
  for (const b of h.careLevel === "special" ? [out.special, out.all] : [out.all]) {
    b.due += 1;
    if (status === "covered") b.covered += 1;
    if (status === "overdue") b.overdue += 1;
  }
}

/**
 * Coverage of many subtrees at once (a table of units): one query for all their households, one history read per
 * 1,000 households, each household judged by its town's rules (`rulesOf` its root, which lies inside one town).
 * Roots may nest: a household counts under every given root above it (each root's whole subtree).
 */
export async function visitCoverageOfRoots(
  db: Db,
  roots: string[],
  asOf: Date,
  rulesOf: (root: string) => VisitRules,
): Promise<Map<string, Coverage>> {
  const out = new Map(roots.map((r) => [r, emptyCoverage()]));
  if (roots.length === 0) return out;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${withRecursive(subtreeCte("w", sql`select id, id from units where id = any(${textArray(roots)})`, ["root"]))}
      select w.root, h.id, h.unit_id, h.care_level from w join households h on h.unit_id = w.unit_id order by h.id`,
  );
  // Households grouped by their rules' content, each root asked once: a caller's `rulesOf` may build a new object per
  // call, and grouping by object made one history query per household (the overview: 63,000 queries for a county).
  const rulesOfRoot = new Map<string, VisitRules>();
  const byRules = new Map<string, { rules: VisitRules; group: { root: string; h: Judged }[] }>();
  for (const r of rows) {
    const root = String(r.root);
    let rules = rulesOfRoot.get(root);
    if (!rules) {
      rules = rulesOf(root);
      rulesOfRoot.set(root, rules);
    }
    const key = JSON.stringify(rules);
    const entry = byRules.get(key) ?? { rules, group: [] };
    entry.group.push({ root, h: { id: String(r.id), unitId: String(r.unit_id), careLevel: r.care_level as Household["careLevel"] } });
    byRules.set(key, entry);
  }
  for (const { rules, group } of byRules.values()) {
    const list = group.map((g) => g.h);
    // Many households: one pass over their units' households' visits rather than a query per thousand ids.
    const histories =
      list.length > 1000
        ? await historiesInUnits(db, [...new Set(list.map((h) => h.unitId))], list, rules, asOf)
        : await historiesOf(db, list, rules, asOf);
    for (const { root, h } of group) {
      const history = histories.get(h.id);
      if (history) count(out.get(root) as Coverage, h, history, rules, asOf);
    }
  }
  return out;
}

export async function visitCoverage(db: Db, scope: CoverageScope, asOf: Date): Promise<Coverage> {
  const unitIds = "root" in scope ? await subtreeUnitIds(db, scope.root) : scope.unitIds;
  const out = emptyCoverage();
  const list = await householdsIn(db, unitIds);
  if (list.length === 0) return out;
  // Households of several towns: each under its own town's rules.
  const townByUnit = new Map<string, Awaited<ReturnType<typeof townOf>>>();
  for (const unitId of new Set(list.map((h) => h.unitId))) townByUnit.set(unitId, await townOf(db, unitId));
  const byTown = new Map<string, typeof list>();
  for (const h of list) {
    const key = townByUnit.get(h.unitId)?.id ?? "";
    const group = byTown.get(key);
    if (group) group.push(h);
    else byTown.set(key, [h]);
  }
  for (const [, group] of byTown) {
    const rules = visitRulesFor(townByUnit.get(group[0]?.unitId ?? "")?.settings);
    const histories = await historiesOf(db, group, rules, asOf);
    for (const h of group) {
      const history = histories.get(h.id);
      if (history) count(out, h, history, rules, asOf);
    }
  }
  return out;
}

/** Visits and contacts logged within [from, to) in each root's subtree (one query for all): a digest window's activity. */
export async function visitsBetweenOfRoots(db: Db, roots: string[], from: Date, to: Date): Promise<Map<string, { visits: number; contacts: number }>> {
  const out = new Map(roots.map((r) => [r, { visits: 0, contacts: 0 }]));
  if (roots.length === 0) return out;
  const rows = await queryRows<{ root: string; visits: string | number; contacts: string | number }>(
    db,
    sql`${withRecursive(subtreeCte("s", sql`select id, id from units where id = any(${textArray(roots)})`, ["root"]))}
      select s.root, count(*) filter (where v.kind = 'visit') as visits, count(*) filter (where v.kind = 'contact') as contacts
      from visits v join s on s.unit_id = v.unit_id
      where v.at >= ${from.toISOString()}::timestamptz and v.at < ${to.toISOString()}::timestamptz
      group by s.root`,
  );
  for (const r of rows) out.set(String(r.root), { visits: Number(r.visits), contacts: Number(r.contacts) });
  return out;
}
