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
import { analyticRows } from "../../db/analytic.js";
import type { SQL } from "drizzle-orm";
import { type Db, queryRows, sql, textArray } from "../../db/client.js";
import { subtreeCte, withRecursive } from "../../db/unit-tree.js";
import type { Household } from "../directory.js";
import { cachedCounts, marksVersion } from "./coverage-cache.js";
import { careStatus, planBounds, type VisitRules, visitRulesFor } from "./rules.js";
import { historiesOf, householdsIn, subtreeUnitIds, townOf } from "./scope.js";

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
 * Coverage of many subtrees at once (a table of units, a county's overview): counted in PostgreSQL, one statement per
 * distinct set of rules (each root lies inside one town; most towns keep the defaults), from each household's marks
 * (household_visit_marks: its latest matched home visit and latest visit or contact, kept by triggers on visits), so
 * neither a household nor a visit crosses into JavaScript and a year of visits is not aggregated on every view. The
 * two marks are all a plan needs (`careStatus`, by the same `planBounds`): covered when the latest home visit is in
 * the current period, or (special, contact path on) the latest touch is since `contactSince`; when not covered, the
 * latest home visit is also the latest before the period, so overdue when it is older than the previous period's
 * start. Only matched visits at or before `asOf` count: a household whose marks are later than `asOf` (a past
 * digest's figures) has its two maxima read from its visits instead. Roots may nest: a household counts under every
 * given root above it. Held against the household-by-household `visitCoverage` by test/coverage-many.test.ts.
 * The counts are kept between calls while nothing they depend on changed (coverage-cache.ts).
 */
export async function visitCoverageOfRoots(
  db: Db,
  roots: string[],
  asOf: Date,
  rulesOf: (root: string) => VisitRules,
): Promise<Map<string, Coverage>> {
  const out = new Map(roots.map((r) => [r, emptyCoverage()]));
  // Roots grouped by their rules' content (a caller's `rulesOf` may build a new object per call).
  const byRules = new Map<string, { rules: VisitRules; roots: string[] }>();
  for (const root of new Set(roots)) {
    const rules = rulesOf(root);
    const key = JSON.stringify(rules);
    const entry = byRules.get(key) ?? { rules, roots: [] };
    entry.roots.push(root);
    byRules.set(key, entry);
  }
  if (byRules.size === 0) return out;
  const version = await marksVersion(db);
  const counted = await Promise.all(
    [...byRules.values()].map(({ rules, roots: group }) => {
      const bounds = (["special", "normal"] as const).map((plan) => planBounds(plan, rules, asOf));
      const key = JSON.stringify([rules, bounds, [...group].sort()]);
      return cachedCounts(db, version, key, asOf, () => countCoverage(db, group, rules, asOf));
    }),
  );
  for (const rows of counted)
    for (const r of rows) {
      const c = out.get(r.root);
      if (!c) continue;
      const b = { due: Number(r.due), covered: Number(r.covered), overdue: Number(r.overdue) };
      if (r.plan === "special") c.special = b;
      for (const k of ["due", "covered", "overdue"] as const) c.all[k] += b[k];
    }
  return out;
}

type CountRow = { root: string; plan: Household["careLevel"]; due: string | number; covered: string | number; overdue: string | number };

/** Per root and plan: households, covered ones, overdue ones (see `visitCoverageOfRoots`). */
async function countCoverage(db: Db, roots: string[], rules: VisitRules, asOf: Date): Promise<CountRow[]> {
  const s = planBounds("special", rules, asOf);
  const n = planBounds("normal", rules, asOf);
  const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;
  const at = ts(asOf);
  const touched = s.contactSince ? sql`x.last_touch >= ${ts(s.contactSince)}` : sql`false`;
  const latest = (kind: SQL) =>
    sql`(select max(v.at) from visits v where v.household_id = h.id and v.kind = ${kind} and v.status = 'matched' and v.at <= ${at})`;
  // Under `analytic`: no JIT (its estimate of the per-household look-ups passed the thresholds: 0.8 s to compile a
  // 0.2 s query), a plan for these roots.
  return analyticRows<CountRow>(
    db,
    sql`${withRecursive(subtreeCte("w", sql`select id, id from units where id = any(${textArray(roots)})`, ["root"]))},
      -- A household whose marks are later than asOf: its latest home visit and latest contact as of asOf, each one
      -- probe of visits' (household, kind, at) index. "offset 0" keeps this apart, so the probes run once per
      -- household rather than once per use of their result below (materializing 80,000 rows cost more).
      y as (
        select h.unit_id, h.care_level, m.last_touch_at > ${at} as late, m.last_touch_at,
          case when m.last_touch_at > ${at} then ${latest(sql`'visit'`)} else m.last_visit_at end as last_visit,
          case when m.last_touch_at > ${at} then ${latest(sql`'contact'`)} end as last_contact
        from households h left join household_visit_marks m on m.household_id = h.id
        where h.unit_id in (select unit_id from w)
        offset 0
      ),
      x as (
        select unit_id, care_level, last_visit, case when late then greatest(last_visit, last_contact) else last_touch_at end as last_touch from y
      ),
      judged as (
        select x.unit_id, x.care_level,
          coalesce(case when x.care_level = 'special' then x.last_visit >= ${ts(s.start)} or ${touched} else x.last_visit >= ${ts(n.start)} end, false) as covered,
          coalesce(case when x.care_level = 'special' then x.last_visit >= ${ts(s.prevStart)} else x.last_visit >= ${ts(n.prevStart)} end, false) as before
        from x
      ),
      -- Each household judged once, counted per unit, then summed up each root's subtree (roots may nest).
      per_unit as (
        select unit_id, care_level, count(*) as due, count(*) filter (where covered) as covered,
          count(*) filter (where not covered and not before) as overdue
        from judged group by unit_id, care_level
      )
      select w.root, p.care_level as plan, sum(p.due) as due, sum(p.covered) as covered, sum(p.overdue) as overdue
      from w join per_unit p on p.unit_id = w.unit_id group by w.root, p.care_level`,
  );
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
