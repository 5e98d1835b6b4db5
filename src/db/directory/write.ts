/**
 * The one writer: upserts a validated Directory in one transaction, idempotent by id, never deleting. Used by
 * every import path (YAML, CSV, XLSX).
 */
import { getTableColumns, type SQL, sql, TransactionRollbackError } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import type { PgTable } from "drizzle-orm/pg-core";
import type { Db } from "../client.js";
import { chats, households, identities, people, units } from "../schema/index.js";
import type { Directory, ImportCounts, ImportSummary } from "./model.js";

/** Rows per INSERT: well under PostgreSQL's 65,535 bind parameters for the widest table. */
const BATCH_SIZE = 1000;

/** `xmax = 0` only for rows this statement inserted (an updated row carries the updating transaction's id). */
const insertedFlag = { inserted: sql<boolean>`(xmax = 0)` };
const written = (key: SQL) => ({ ...insertedFlag, key: sql<string>`${key}` });

/** The keys of the records an import inserted and updated (unchanged ones are only counted). */
export type ChangedKeys = { inserted: string[]; updated: string[] };
export type WriteResult = { summary: ImportSummary; changed: Record<keyof ImportSummary, ChangedKeys> };

/**
 * ON CONFLICT clause that overwrites `keys` with the incoming values, but only when one of them differs, so
 * unchanged rows keep their updated_at and are counted as unchanged.
 */
function overwrite<T extends PgTable>(table: T, keys: readonly (keyof T["_"]["columns"] & string)[]) {
  const columns = getTableColumns(table);
  const incoming = (key: string) => sql`excluded.${sql.identifier(toSnakeCase(key))}`;
  const set: Record<string, SQL> = Object.fromEntries(keys.map((key) => [key, incoming(key)]));
  if ("updatedAt" in columns) set.updatedAt = sql`now()`;
  const current = sql.join(
    keys.map((key) => columns[key]),
    sql`, `,
  );
  const next = sql.join(keys.map(incoming), sql`, `);
  return { set, setWhere: sql`(${current}) is distinct from (${next})` };
}

async function upsertInBatches<R>(
  rows: readonly R[],
  write: (batch: R[]) => Promise<{ inserted: boolean; key: string }[]>,
): Promise<{ counts: ImportCounts; changed: ChangedKeys }> {
  const counts: ImportCounts = { inserted: 0, updated: 0, unchanged: 0 };
  const changed: ChangedKeys = { inserted: [], updated: [] };
  for (let start = 0; start < rows.length; start += BATCH_SIZE) {
    const batch = rows.slice(start, start + BATCH_SIZE);
    const done = await write(batch);
    for (const r of done) (r.inserted ? changed.inserted : changed.updated).push(r.key);
    const inserted = done.filter((r) => r.inserted).length;
    counts.inserted += inserted;
    counts.updated += done.length - inserted;
    counts.unchanged += batch.length - done.length;
  }
  return { counts, changed };
}

/** Upserts a validated directory in one transaction, in dependency order. Rows not in the file are kept. */
export async function writeDirectory(db: Db, dir: Directory): Promise<ImportSummary> {
  return (await writeDirectoryChanges(db, dir)).summary;
}

/**
 * What writing the directory would change, written and rolled back: the same statements as the import itself, so
 * the preview can never disagree with it. Nothing of it is committed (a savepoint when `db` is a transaction).
 */
export async function dryRunDirectory(db: Db, dir: Directory): Promise<WriteResult> {
  let result: WriteResult | undefined;
  try {
    await db.transaction(async (tx) => {
      result = await writeDirectoryChanges(tx, dir);
      tx.rollback();
    });
  } catch (err) {
    if (!(err instanceof TransactionRollbackError)) throw err;
  }
  return result as WriteResult;
}

/** The writer, with the keys of the records it inserted and updated (the dashboard's preview and history list them). */
export async function writeDirectoryChanges(db: Db, dir: Directory): Promise<WriteResult> {
  return db.transaction(async (tx) => {
    const unitCounts = await upsertInBatches(dir.units, (batch) =>
      tx
        .insert(units)
        .values(batch)
        .onConflictDoUpdate({
          target: units.id,
          ...overwrite(units, ["parentId", "kind", "name", "settings"]),
        })
        .returning(written(sql`${units.id}`)),
    );
    const householdCounts = await upsertInBatches(dir.households, (batch) =>
      tx
        .insert(households)
        .values(batch)
        .onConflictDoUpdate({
          target: households.id,
          ...overwrite(households, [
            "unitId",
            "headName",
            "members",
            "tags",
            "careLevel",
            "houseNo",
            "nickname",
            "address",
            "phone",
          ]),
        })
        .returning(written(sql`${households.id}`)),
    );
    const peopleCounts = await upsertInBatches(dir.people, (batch) =>
      tx
        .insert(people)
        .values(batch)
        .onConflictDoUpdate({
          target: people.id,
          ...overwrite(people, ["name", "role", "unitId", "householdId", "phone"]),
        })
        .returning(written(sql`${people.id}`)),
    );
    const identityCounts = await upsertInBatches(dir.identities, (batch) =>
      tx
        .insert(identities)
        .values(batch)
        .onConflictDoUpdate({
          target: [identities.platform, identities.externalId],
          ...overwrite(identities, ["personId", "kind"]),
        })
        .returning(written(sql`${identities.platform} || ':' || ${identities.externalId}`)),
    );
    // Chat status (active/dead) is the bot's own observation, so re-import leaves it alone. A webhook bound with
    // `npm run wecom:bind` is kept when the file names none (the file need not carry that secret).
    const chatFields = overwrite(chats, ["platform", "externalId", "unitId", "name", "meta"]);
    const chatCounts = await upsertInBatches(dir.chats, (batch) =>
      tx
        .insert(chats)
        .values(batch)
        .onConflictDoUpdate({
          target: chats.id,
          set: {
            ...chatFields.set,
            webhookUrl: sql`coalesce(excluded.webhook_url, ${chats.webhookUrl})`,
          },
          setWhere: sql`${chatFields.setWhere} or (excluded.webhook_url is not null and excluded.webhook_url is distinct from ${chats.webhookUrl})`,
        })
        .returning(written(sql`${chats.id}`)),
    );
    const all = { units: unitCounts, households: householdCounts, people: peopleCounts, identities: identityCounts, chats: chatCounts };
    const keys = Object.keys(all) as (keyof ImportSummary)[];
    return {
      summary: Object.fromEntries(keys.map((k) => [k, all[k].counts])) as ImportSummary,
      changed: Object.fromEntries(keys.map((k) => [k, all[k].changed])) as WriteResult["changed"],
    };
  });
}

const ENTITY_LABEL: Record<keyof ImportSummary, string> = {
  units: "单位",
  households: "住户",
  people: "人员",
  identities: "账号",
  chats: "群",
};

/** `单位 12（新增 12，更新 0，未变 0），住户 …` for the CLI and logs. */
export function describeSummary(summary: ImportSummary): string {
  return (Object.keys(ENTITY_LABEL) as (keyof ImportSummary)[])
    .map((key) => {
      const { inserted, updated, unchanged } = summary[key];
      const total = inserted + updated + unchanged;
      return `${ENTITY_LABEL[key]} ${total}（新增 ${inserted}，更新 ${updated}，未变 ${unchanged}）`;
    })
    .join("，");
}
