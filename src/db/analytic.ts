/**
 * Aggregate queries (the dashboard's, the digests' figures) run with settings of their own, for their transaction only
 * (SET LOCAL, so a transaction pooler is fine and nothing leaks to the bot's other queries):
 * - no JIT: a query over a county's tickets is estimated above PostgreSQL's JIT thresholds, and compiling it cost
 *   ~2 s on a loaded two-core machine for a query that runs in 0.4 s;
 * - a plan for each call's own values (`force_custom_plan`): the bot prepares its statements, and after five calls
 *   PostgreSQL may keep a generic plan that no longer knows how many units a scope's list holds (ten for a 邻长, ten
 *   thousand for the admin).
 * `extra`: more settings for this caller's transaction (the digests: no parallel workers for a few units, more
 * memory to sort a province's open tickets in).
 */
import type { SQL } from "drizzle-orm";
import { type Db, queryRows, sql } from "./client.js";

export async function analytic<T>(db: Db, run: (tx: Db) => Promise<T>, extra: Record<string, string> = {}): Promise<T> {
  const settings = { jit: "off", plan_cache_mode: "force_custom_plan", ...extra };
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`select ${sql.join(
        Object.entries(settings).map(([k, v]) => sql`set_config(${k}, ${v}, true)`),
        sql`, `,
      )}`,
    );
    return run(tx as unknown as Db);
  });
}

/** One aggregate query's rows, under `analytic`'s settings. */
export const analyticRows = <T>(db: Db, query: SQL): Promise<T[]> => analytic(db, (tx) => queryRows<T>(tx, query));
