/**
 * The photo job, one ticket_media row at a time: fetch (platform fetchers, injected like the senders), check and
 * clean (image.ts), then store and write the ticket's 台账 in one transaction. A row is pending until that
 * transaction says otherwise, so a crash anywhere leaves it to be tried again (the reconciler re-queues pending rows);
 * nothing is half-written. A link that cannot be fetched before it lapses, or a file that can never be kept, ends as
 * "failed" with the reason on the 台账 and a short notice in the chat.
 */
import { and, count, eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../db/client.js";
import { media, type MediaSource, type Platform, ticketMedia, tickets } from "../../db/schema/index.js";
import { errInfo } from "../../lib/errors.js";
import { backoffMs, Permanent } from "../../scheduler/types.js";
import type { Ctx } from "../context.js";
import { queueMessage } from "../outbox.js";
import { getTicket, recordEvent } from "../tickets.js";
import { MEDIA_PER_TICKET } from "./attach.js";
import { cleanImage, type Rejection } from "./image.js";
import { circularPhotoFailed, circularPhotoKept, postableCopy } from "../circulars/photos.js";

/** A platform's way to get the bytes of a photo. Throw MediaError for what can never work; anything else is retried. */
export interface MediaFetcher {
  platform: Exclude<Platform, "sim">;
  fetch(source: MediaSource): Promise<Buffer>;
}

export type FetchFailure = "expired" | "refused" | "decrypt" | "too_large";
export class MediaError extends Permanent {
  constructor(readonly reason: FetchFailure, detail: string) {
    super(`${reason}: ${detail}`);
  }
}

export type Failure = Rejection | FetchFailure | "unreachable" | "too_many" | "no_fetcher" | "unpostable";

/** Why a photo was not kept, in the words the 台账 and the chat use. */
export const FAILURE_ZH: Record<Failure, string> = {
  too_large: "照片超过 10 MB",
  not_image: "文件不是图片",
  corrupt: "图片损坏或不完整",
  expired: "下载链接已过期",
  refused: "平台拒绝了下载",
  decrypt: "图片无法解密",
  unreachable: "多次下载都没有成功",
  too_many: `每个工单最多保存 ${MEDIA_PER_TICKET} 张照片`,
  no_fetcher: "本部署没有接入该平台",
  unpostable: "图片压缩后仍超过群消息的 2 MB 上限",
};

export type MediaDeps = { db: Db; clock: () => Date; fetchers: MediaFetcher[]; logger: Logger; transact: <T>(work: (ctx: Ctx) => Promise<T>) => Promise<T> };

export type MediaOutcome = "stored" | "failed" | "gone";

type Row = typeof ticketMedia.$inferSelect;

export async function processMedia(deps: MediaDeps, id: number, attempt = 1): Promise<MediaOutcome> {
  const [row] = await deps.db.select().from(ticketMedia).where(eq(ticketMedia.id, id));
  if (row?.status !== "pending") return "gone";
  let bytes: Buffer;
  try {
    bytes = await fetchBytes(deps, row);
  } catch (err) {
    if (err instanceof MediaError) return fail(deps, row, err.reason);
    const now = deps.clock().getTime();
    // Retry while the link still works; the next try would come after it has lapsed: give up now.
    if (now + backoffMs(attempt) * 1.25 >= row.notAfter.getTime()) return fail(deps, row, now >= row.notAfter.getTime() ? "expired" : "unreachable");
    await deps.db.update(ticketMedia).set({ attempts: row.attempts + 1, error: String((err as Error).message).slice(0, 200) }).where(eq(ticketMedia.id, id));
    deps.logger.warn({ mediaId: id, attempt, ...errInfo(err) }, "photo fetch failed; retrying");
    throw err;
  }
  const clean = await cleanImage(bytes);
  if ("rejected" in clean) return fail(deps, row, clean.rejected);
  // A 通知's photo is posted to its groups: the copy a group channel takes is made now, outside the transaction.
  const posted = row.circularId ? await postableCopy(clean.data).catch(() => null) : null;
  if (row.circularId && !posted) return fail(deps, row, "unpostable");
  return deps.transact(async (ctx) => {
    // Locks the row: a second worker on the same job waits here, then finds it no longer pending.
    const [locked] = await ctx.db.select().from(ticketMedia).where(and(eq(ticketMedia.id, id), eq(ticketMedia.status, "pending"))).for("update");
    if (!locked) return "gone";
    if (locked.ticketId) {
      // One ticket's photos are stored one at a time, so the limit holds when several arrive together.
      await ctx.db.select({ id: tickets.id }).from(tickets).where(eq(tickets.id, locked.ticketId)).for("no key update");
      if ((await storedFor(ctx.db, locked.ticketId)) >= MEDIA_PER_TICKET) return failIn(ctx, locked, "too_many");
    }
    const { sha256, mime, width, height, data, thumb } = clean;
    await ctx.db.insert(media).values({ sha256, mime, width, height, size: data.length, data, thumb, createdAt: ctx.now }).onConflictDoNothing();
    await ctx.db.update(ticketMedia).set({ status: "stored", sha256, inline: null, error: null }).where(eq(ticketMedia.id, id));
    if (locked.ticketId) await photoEvent(ctx, { ...locked, status: "stored", sha256 });
    if (locked.circularId && posted) await circularPhotoKept(ctx, { ...locked, status: "stored", sha256 }, { ...posted, thumb });
    return "stored";
  });
}

async function fetchBytes(deps: MediaDeps, row: Row): Promise<Buffer> {
  if (row.source.platform === "sim") {
    if (!row.inline) throw new MediaError("expired", "no inline bytes");
    return row.inline;
  }
  if (deps.clock().getTime() >= row.notAfter.getTime()) throw new MediaError("expired", "link lapsed before it was fetched");
  const fetcher = deps.fetchers.find((f) => f.platform === row.source.platform);
  if (!fetcher) throw new MediaError("refused", "no fetcher");
  return fetcher.fetch(row.source);
}

async function storedFor(db: Db, ticketId: number): Promise<number> {
  const [r] = await db
    .select({ n: count() })
    .from(ticketMedia)
    .where(and(eq(ticketMedia.ticketId, ticketId), eq(ticketMedia.status, "stored")));
  return Number(r?.n ?? 0);
}

async function fail(deps: MediaDeps, row: Row, reason: Failure): Promise<MediaOutcome> {
  deps.logger.info({ mediaId: row.id, reason }, "photo not kept");
  return deps.transact(async (ctx) => {
    const [locked] = await ctx.db.select().from(ticketMedia).where(and(eq(ticketMedia.id, row.id), eq(ticketMedia.status, "pending"))).for("update");
    return locked ? failIn(ctx, locked, reason) : "gone";
  });
}

async function failIn(ctx: Ctx, row: Row, reason: Failure): Promise<MediaOutcome> {
  await ctx.db.update(ticketMedia).set({ status: "failed", inline: null, error: reason }).where(eq(ticketMedia.id, row.id));
  if (row.ticketId) await photoEvent(ctx, { ...row, status: "failed", error: reason });
  if (row.circularId) await circularPhotoFailed(ctx, { ...row, status: "failed", error: reason }, FAILURE_ZH[reason]);
  return "failed";
}

/**
 * The 台账 line of a photo of a ticket, kept or not, and (not kept) a short notice in the chat it came from. Also used
 * when a held photo is tied to a ticket after it was fetched.
 */
export async function photoEvent(ctx: Ctx, row: Row): Promise<void> {
  const t = row.ticketId ? await getTicket(ctx.db, row.ticketId) : null;
  if (!t) return;
  if (row.status === "stored") {
    await recordEvent(ctx, t, { kind: "photo", actorId: null, data: { mediaId: row.id, role: row.role } });
    return;
  }
  if (row.status !== "failed") return;
  const why = FAILURE_ZH[(row.error ?? "unreachable") as Failure] ?? FAILURE_ZH.unreachable;
  await recordEvent(ctx, t, { kind: "photo_failed", actorId: null, text: why, data: { mediaId: row.id, role: row.role, reason: row.error } });
  if (row.chatId)
    await queueMessage(ctx, {
      dedupeKey: `photo-failed-${row.id}`,
      to: { chatId: row.chatId },
      kind: "notice",
      payload: { text: `工单 #${t.id} 的照片没能保存（${why}），工单照常办理。需要的话请重新发一张。`, mentions: [], ticketId: t.id },
    });
}

/** Pending photo rows (the reconciler re-queues them: Redis may have lost their jobs). */
export async function pendingMedia(db: Db, limit = 500) {
  return db.select({ id: ticketMedia.id }).from(ticketMedia).where(eq(ticketMedia.status, "pending")).orderBy(ticketMedia.id).limit(limit);
}

