/**
 * The two walks of the unit tree (units.parent_id), written once so every query that scopes by subtree or climbs
 * to the town agrees on what "below" and "above" mean. Each builder returns one CTE definition; `withRecursive`
 * opens the `with` clause (a query may walk both ways at once), and the caller appends its own CTEs after a comma.
 */
import type { SQL } from "drizzle-orm";
import { sql, textArray } from "./client.js";

/** `with recursive` followed by the given CTE definitions. */
export function withRecursive(...ctes: SQL[]): SQL {
  return sql`with recursive ${sql.join(ctes, sql`, `)}`;
}

/**
 * `name(...carry, unit_id)`: a unit and every unit below it. `seed` is either the root's id, taken as given (a root
 * missing from units still counts as itself), or a select of `(...carry, unit_id)` rows, e.g. several roots each
 * tagged with the columns named in `carry`, which every unit below inherits from its root.
 */
export function subtreeCte(name: string, seed: string | SQL, carry: readonly string[] = []): SQL {
  const cte = sql.identifier(name);
  const columns = [...carry.map((c) => sql.identifier(c)), sql.identifier("unit_id")];
  const start = typeof seed === "string" ? sql`select ${seed}::text` : seed;
  const inherited = carry.map((c) => sql`w.${sql.identifier(c)}, `);
  return sql`${cte}(${sql.join(columns, sql`, `)}) as (
      ${start}
      union all
      select ${sql.join(inherited)}u.id from units u join ${cte} w on u.parent_id = w.unit_id
    )`;
}

/** `name(unit_id)`: every unit, shaped like a subtree so scoped queries need no separate form for the admin. */
export function everyUnitCte(name: string): SQL {
  return sql`${sql.identifier(name)}(unit_id) as (select id from units)`;
}

/**
 * `name(<every units column>, depth, origin)`: a unit and its ancestors, the unit itself at depth 0 and the town last.
 * The rows carry the unit columns because every caller wants them along the path, and the path is short. Given several
 * units, the paths of all of them, each row's `origin` naming the unit its path starts from.
 */
export function pathUpCte(name: string, unitId: string | readonly string[]): SQL {
  const cte = sql.identifier(name);
  // One parameter however many units: the statement's text stays the same, so it is parsed and planned once per
  // connection (an IN list of n parameters was a new statement for every n).
  const start = typeof unitId === "string" ? sql`id = ${unitId}` : sql`id = any(${textArray(unitId)})`;
  return sql`${cte} as (
      select units.*, 0 as depth, units.id as origin from units where ${start}
      union all
      select u.*, w.depth + 1, w.origin from units u join ${cte} w on u.id = w.parent_id
    )`;
}
