/**
 * Coverage counts kept between requests (the dashboard's overview and per-unit table ask for a county's 80,000
 * households on every view; ~150–300 ms on a loaded two-core machine, against ~10 ms for this check). Like the unit
 * tree (src/dashboard/tree.ts), each use first reads what the counts depend on, in one scan of a narrow table:
 * - the directory version (bumped by statement triggers on households and units: a household added, moved or given
 *   another care level, a unit moved);
 * - the count and the sum of the row transaction ids (`xmin`) of household_visit_marks: any visit logged, matched by
 *   hand, moved or deleted rewrites a mark (an update gives its row a newer xmin, so the sum only grows);
 * - the latest mark: when no mark is later than `asOf`, the counts depend on the marks and the plans' bounds alone and
 *   are reused for any such instant (the key holds the rules and the bounds, so the next local day or period is a new
 *   entry); when some are (a past digest week, last month's scorecards), they also depend on the visits up to `asOf`,
 *   which the marks' version covers too (every change to a matched visit rewrites its household's mark), so they are
 *   kept for that very instant.
 * Per database handle: a transaction's handle starts empty, so its own uncommitted writes are never cached for others.
 */
import { type Db, queryRows, sql } from "../../db/client.js";

export type MarksVersion = { version: string; latestMark: number };

type PerDb = { version: string; entries: Map<string, unknown> };
const caches = new WeakMap<Db, PerDb>();
/** Entries per handle: the periods and row levels a few dashboards look at. */
const MAX_ENTRIES = 64;

export async function marksVersion(db: Db): Promise<MarksVersion> {
  const [v] = await queryRows<{ d: string | number | null; n: string | number; x: string | number | null; t: string | Date | null }>(
    db,
    sql`select (select version from directory_version where id = 1) as d, count(*) as n, sum(xmin::text::bigint) as x, max(last_touch_at) as t
      from household_visit_marks`,
  );
  return { version: `${v?.d}:${v?.n}:${v?.x}`, latestMark: v?.t ? new Date(v.t).getTime() : Number.NEGATIVE_INFINITY };
}

/** `compute()`'s value for `key` under `v`, from the cache when it may be (see the module comment). */
export async function cachedCounts<T>(db: Db, v: MarksVersion, bounds: string, asOf: Date, compute: () => Promise<T>): Promise<T> {
  const key = v.latestMark > asOf.getTime() ? `${bounds}@${asOf.toISOString()}` : bounds;
  let c = caches.get(db);
  if (c?.version !== v.version) {
    c = { version: v.version, entries: new Map() };
    caches.set(db, c);
  }
  if (c.entries.has(key)) return c.entries.get(key) as T;
  const value = await compute();
  if (c.entries.size >= MAX_ENTRIES) c.entries.delete(c.entries.keys().next().value as string);
  c.entries.set(key, value);
  return value;
}
