/**
 * The directory workbook uploaded on the dashboard: read and validated exactly as `npm run import` does (the same
 * reader, validator and writer), previewed, and written only on 确认导入.
 *
 * The preview is the writer run and rolled back, so it shows what the import will do, not an estimate. It is bound
 * to the rows it was computed against: the upload keeps a fingerprint of every directory row the workbook touches.
 * The confirmation locks the directory (its version row, which every directory write updates) and writes only if
 * that fingerprint still holds; if someone changed one of those rows in between (a handover, another import), it
 * previews again and asks once more. Changes elsewhere in the directory do not disturb it.
 */
import { randomUUID } from "node:crypto";
import { and, eq, lt } from "drizzle-orm";
import { type Db, queryRows, sql } from "../../db/client.js";
import {
  type Directory,
  DirectoryError,
  type ImportSummary,
  parseDirectoryWorkbook,
  type WriteResult,
  dryRunDirectory,
  writeDirectoryChanges,
} from "../../db/directory-import.js";
import { directoryUploads } from "../../db/schema/index.js";
import { errInfo } from "../../lib/errors.js";
import type { DirectoryActor } from "./access.js";
import { recordChange } from "./history.js";

/** The largest upload taken (the HTTP body limit says the same): a town's workbook is a few hundred kilobytes. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** A preview not confirmed within this time must be uploaded again. */
export const UPLOAD_TTL_MS = 24 * 3_600_000;
/** Records listed by name per kind of change and entity; the rest are counted. */
const SHOWN = 30;

export type Entity = keyof ImportSummary;
export type ChangeList = { inserted: { id: string; name: string }[]; updated: { id: string; name: string }[] };
export type UploadPreview = { counts: ImportSummary; changes: Record<Entity, ChangeList> };

export type PreviewResult =
  | { ok: true; id: string; fileName: string; preview: UploadPreview; again?: true }
  | { ok: false; errors: string[] };

export type ConfirmResult =
  | { status: "imported"; summary: ImportSummary; changeId: number; fileName: string }
  /** The rows it touches changed since the preview: here is the new one, confirm again. */
  | { status: "changed"; preview: PreviewResult }
  | { status: "gone" }
  | { status: "done" };

/** Reads, validates and previews an uploaded workbook; keeps it for 确认导入 when it is valid. */
export async function previewUpload(db: Db, by: DirectoryActor, now: Date, fileName: string, data: Buffer): Promise<PreviewResult> {
  const name = cleanName(fileName);
  if (data.length > MAX_UPLOAD_BYTES) return { ok: false, errors: [`文件超过 ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`] };
  const dir = await parse(name, data);
  if (!("units" in dir)) return dir;
  return db.transaction(async (tx) => {
    await tx.delete(directoryUploads).where(lt(directoryUploads.createdAt, new Date(now.getTime() - UPLOAD_TTL_MS)));
    const fingerprint = await fingerprintOf(tx, dir);
    const dry = await tryWrite(() => dryRunDirectory(tx, dir));
    if (!dry.ok) return dry;
    const preview = describe(dir, dry.changes);
    const id = randomUUID();
    await tx.insert(directoryUploads).values({
      id,
      actorId: by.personId,
      actorName: by.name,
      fileName: name,
      data,
      fingerprint,
      preview,
      createdAt: now,
    });
    return { ok: true, id, fileName: name, preview };
  });
}

/** 确认导入: writes the previewed workbook if the rows it touches are as previewed, else previews it again. */
export async function confirmUpload(db: Db, by: DirectoryActor, now: Date, id: string): Promise<ConfirmResult> {
  return db.transaction(async (tx) => {
    // Every directory write updates this row (statement triggers): holding it, nothing changes under the check below.
    await tx.execute(sql`select version from directory_version where id = 1 for update`);
    const [upload] = await tx.select().from(directoryUploads).where(eq(directoryUploads.id, id)).for("update");
    if (!upload || upload.createdAt.getTime() < now.getTime() - UPLOAD_TTL_MS) return { status: "gone" };
    if (upload.status === "imported") return { status: "done" };
    const dir = await parse(upload.fileName, upload.data);
    if (!("units" in dir)) return { status: "changed", preview: dir }; // a reader that changed since (a new version)
    const fingerprint = await fingerprintOf(tx, dir);
    if (fingerprint !== upload.fingerprint) {
      const dry = await tryWrite(() => dryRunDirectory(tx, dir));
      if (!dry.ok) return { status: "changed", preview: dry };
      const preview = describe(dir, dry.changes);
      await tx.update(directoryUploads).set({ fingerprint, preview }).where(eq(directoryUploads.id, id));
      return { status: "changed", preview: { ok: true, id, fileName: upload.fileName, preview, again: true } };
    }
    const written = await tryWrite(() => writeDirectoryChanges(tx, dir));
    if (!written.ok) return { status: "changed", preview: written };
    const shown = describe(dir, written.changes);
    const counts = written.changes.summary;
    await tx
      .update(directoryUploads)
      .set({ status: "imported", data: Buffer.alloc(0) })
      .where(and(eq(directoryUploads.id, id), eq(directoryUploads.status, "previewed")));
    const changeId = await recordChange(tx, by, now, {
      kind: "import",
      unitId: null,
      summary: `导入名册 ${upload.fileName}：${countsLine(counts)}`,
      data: { fileName: upload.fileName, ...shown },
    });
    return { status: "imported", summary: counts, changeId, fileName: upload.fileName };
  });
}

/** The preview shown again (a reload of the preview page). */
export async function getUpload(db: Db, id: string, now: Date): Promise<PreviewResult | null> {
  const [u] = await db
    .select({ id: directoryUploads.id, fileName: directoryUploads.fileName, preview: directoryUploads.preview, status: directoryUploads.status, createdAt: directoryUploads.createdAt })
    .from(directoryUploads)
    .where(eq(directoryUploads.id, id));
  if (u?.status !== "previewed" || u.createdAt.getTime() < now.getTime() - UPLOAD_TTL_MS) return null;
  return { ok: true, id: u.id, fileName: u.fileName, preview: u.preview as unknown as UploadPreview };
}

const ENTITY_ZH: Record<Entity, string> = { units: "单位", households: "住户", people: "人员", identities: "账号", chats: "群" };
export const ENTITIES = Object.keys(ENTITY_ZH) as Entity[];
export const entityZh = (e: Entity) => ENTITY_ZH[e];

/** `单位 新增 2、更新 1，住户 未变 …`: only what changes, or 全部未变. */
export function countsLine(s: ImportSummary): string {
  const parts = ENTITIES.flatMap((e) => {
    const { inserted, updated } = s[e];
    const bits = [inserted ? `新增 ${inserted}` : "", updated ? `更新 ${updated}` : ""].filter(Boolean);
    return bits.length ? [`${ENTITY_ZH[e]} ${bits.join("、")}`] : [];
  });
  return parts.length ? parts.join("，") : "全部未变";
}

async function parse(name: string, data: Buffer): Promise<Directory | { ok: false; errors: string[] }> {
  try {
    return await parseDirectoryWorkbook(name, data);
  } catch (err) {
    // The same lines the command line prints: sheet, row and column in Chinese, at most 20 listed.
    if (err instanceof DirectoryError) return { ok: false, errors: err.message.split("\n") };
    throw err;
  }
}

/**
 * The writer's refusals that no check of the file alone can foresee: a chat id already registered under another
 * code (chats are unique per platform and chat id). Anything else is a fault, not the clerk's.
 */
async function tryWrite(write: () => Promise<WriteResult>): Promise<{ ok: true; changes: WriteResult } | { ok: false; errors: string[] }> {
  try {
    return { ok: true, changes: await write() };
  } catch (err) {
    if (errInfo(err).code !== "23505") throw err;
    return { ok: false, errors: ["群!：表里有一个群的平台群 ID 已经登记为另一个群编号。请先导出名册，用导出的群编号修改后再上传。"] };
  }
}

/** Every directory row the workbook would write, as it is now, hashed in one statement. */
async function fingerprintOf(db: Db, dir: Directory): Promise<string> {
  const ids = (list: { id: string }[]) => JSON.stringify(list.map((r) => r.id));
  const pairs = (list: { platform: string; externalId: string }[]) => JSON.stringify(list.map((r) => [r.platform, r.externalId]));
  const [row] = await queryRows<{ fp: string }>(
    db,
    sql`select md5(coalesce(string_agg(x, '|' order by x), '')) as fp from (
      select 'u' || md5(t::text) as x from units t where t.id in (select jsonb_array_elements_text(${ids(dir.units)}::jsonb))
      union all select 'h' || md5(t::text) from households t where t.id in (select jsonb_array_elements_text(${ids(dir.households)}::jsonb))
      union all select 'p' || md5(t::text) from people t where t.id in (select jsonb_array_elements_text(${ids(dir.people)}::jsonb))
      union all select 'i' || md5(t::text) from identities t
        where (t.platform, t.external_id) in (select r ->> 0, r ->> 1 from jsonb_array_elements(${pairs(dir.identities)}::jsonb) r)
      union all select 'c' || md5(t::text) from chats t
        where t.id in (select jsonb_array_elements_text(${ids(dir.chats)}::jsonb))
          or (t.platform, t.external_id) in (select r ->> 0, r ->> 1 from jsonb_array_elements(${pairs(dir.chats)}::jsonb) r)
    ) s`,
  );
  return row?.fp ?? "";
}

/** The counts, and the records that change by name (the first few of each kind). */
function describe(dir: Directory, r: WriteResult): UploadPreview {
  const personName = new Map(dir.people.map((p) => [p.id, p.name]));
  const names: Record<Entity, Map<string, string>> = {
    units: new Map(dir.units.map((u) => [u.id, u.name])),
    households: new Map(dir.households.map((h) => [h.id, h.houseNo ? `${h.headName}（${h.houseNo}）` : h.headName])),
    people: personName,
    identities: new Map(dir.identities.map((i) => [`${i.platform}:${i.externalId}`, personName.get(i.personId) ?? i.personId])),
    chats: new Map(dir.chats.map((c) => [c.id, c.name])),
  };
  const label = (e: Entity) => (id: string) => ({ id, name: names[e].get(id) ?? "" });
  const changes = Object.fromEntries(
    ENTITIES.map((e) => [
      e,
      { inserted: r.changed[e].inserted.slice(0, SHOWN).map(label(e)), updated: r.changed[e].updated.slice(0, SHOWN).map(label(e)) },
    ]),
  ) as Record<Entity, ChangeList>;
  return { counts: r.summary, changes };
}

/** The name the clerk gave the file, as a label only (never a path): no directories, no control characters. */
function cleanName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is removed
  const base = (name.split(/[\\/]/).pop() ?? "").replace(/[\u0000-\u001f\u007f]/g, "").trim();
  return (base || "名册.xlsx").slice(0, 100);
}
