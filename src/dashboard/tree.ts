/**
 * The unit tree for the dashboard, kept between requests: ten thousand units cost ~100 ms to read and build on every
 * page, and a page asks for them several times. Each use checks first that the units are unchanged — their count and
 * the sum of their rows' transaction ids (`xmin`: any insert, update or delete of a unit changes one or the other),
 * one scan of a small table — so an import, a handover or a new town's settings show at once on every replica.
 *
 * It also answers "which units are below this one" in memory: the dashboard's queries take a scope as a list of unit
 * ids (one array parameter the planner can count) instead of a recursive walk whose size it can only guess (it
 * guessed ~500 rows for a town of 1,000 units and a village of 100 alike, and scanned every ticket).
 */
import { type Db, queryRows, sql, textArray } from "../db/client.js";
import { units } from "../db/schema/index.js";
import { UnitTree } from "../workflows/digests/index.js";

export class ScopeTree {
  private readonly kids = new Map<string, string[]>();
  constructor(readonly tree: UnitTree, ids: { id: string; parentId: string | null }[]) {
    for (const u of ids) {
      if (!u.parentId) continue;
      const list = this.kids.get(u.parentId);
      if (list) list.push(u.id);
      else this.kids.set(u.parentId, [u.id]);
    }
  }

  /** The units right below this one. */
  children(id: string): string[] {
    return this.kids.get(id) ?? [];
  }

  /** The unit and every unit below it (the unit itself even when it is not in the tree, as the SQL walk did). */
  below(id: string): string[] {
    const out = [id];
    for (let i = 0; i < out.length; i++) for (const k of this.kids.get(out[i] as string) ?? []) out.push(k);
    return out;
  }
}

type Cached = { key: string; tree: ScopeTree };
const cache = new WeakMap<Db, Cached>();

/** The tree as it is now in `db` (the pool's handle: a transaction's own changes are not cached). */
export async function scopeTree(db: Db): Promise<ScopeTree> {
  const [v] = await queryRows<{ n: string | number; x: string | number | null }>(
    db,
    sql`select count(*) as n, sum(xmin::text::bigint) as x from units`,
  );
  const key = `${v?.n}:${v?.x}`;
  const hit = cache.get(db);
  if (hit?.key === key) return hit.tree;
  const rows = await db.select({ id: units.id, parentId: units.parentId, kind: units.kind, name: units.name, settings: units.settings }).from(units);
  const built = new ScopeTree(new UnitTree(rows), rows);
  cache.set(db, { key, tree: built });
  return built;
}

/** `name(unit_id)` over these units: a scoped query's CTE with a size the planner knows. */
export const unitsCte = (name: string, ids: readonly string[]) => sql`${sql.identifier(name)}(unit_id) as (select unnest(${textArray(ids)}))`;
