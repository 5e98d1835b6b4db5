/** The history of directory changes made on the dashboard: written in the transaction of the change itself. */
import { desc } from "drizzle-orm";
import { type Db, queryRows, sql } from "../../db/client.js";
import { fromRow } from "../../db/rows.js";
import { type DirectoryChangeKind, directoryChanges } from "../../db/schema/index.js";
import { subtreeCte, withRecursive } from "../../db/unit-tree.js";
import type { DirectoryActor } from "./access.js";

export type DirectoryChange = typeof directoryChanges.$inferSelect;

export async function recordChange(
  db: Db,
  by: DirectoryActor,
  at: Date,
  change: { kind: DirectoryChangeKind; unitId: string | null; summary: string; data?: Record<string, unknown> },
): Promise<number> {
  const [row] = await db
    .insert(directoryChanges)
    .values({ at, actorId: by.personId, actorName: by.name, kind: change.kind, unitId: change.unitId, summary: change.summary, data: change.data ?? {} })
    .returning({ id: directoryChanges.id });
  return (row as { id: number }).id;
}

/**
 * The newest changes the actor may see: everything for the admin; for an official, the changes about a unit in
 * their subtree (whole-directory imports are the admin's).
 */
export async function listChanges(db: Db, by: DirectoryActor, limit: number, offset = 0): Promise<{ rows: DirectoryChange[]; total: number }> {
  if (by.rootId === null) {
    const [rows, [count]] = await Promise.all([
      db.select().from(directoryChanges).orderBy(desc(directoryChanges.at), desc(directoryChanges.id)).limit(limit).offset(offset),
      db.select({ n: sql<number>`count(*)::int` }).from(directoryChanges),
    ]);
    return { rows, total: count?.n ?? 0 };
  }
  const scoped = withRecursive(subtreeCte("sub", by.rootId));
  const [raw, [count]] = await Promise.all([
    queryRows<Record<string, unknown>>(
      db,
      sql`${scoped} select c.* from directory_changes c join sub on sub.unit_id = c.unit_id
        order by c.at desc, c.id desc limit ${limit} offset ${offset}`,
    ),
    queryRows<{ n: number }>(db, sql`${scoped} select count(*)::int as n from directory_changes c join sub on sub.unit_id = c.unit_id`),
  ]);
  const rows = raw.map((r) => fromRow(directoryChanges, r));
  return { rows, total: Number(count?.n ?? 0) };
}
