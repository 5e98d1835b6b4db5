/**
 * Photos sent with a 通知 (in the same message, or alone within 10 minutes after it). They go through the photo job
 * like any photo (fetched, checked, re-encoded without EXIF or GPS); once kept, each is posted to every group the
 * notice went to as a message of its own, after the text. What a group channel carries: a WeCom 消息推送 takes an
 * `image` of at most 2 MB, JPG or PNG (99110); DingTalk's group API takes a picture by media id (uploaded first,
 * sampleImageMsg); the simulator shows it. So the posted copy is a JPEG within those limits, made from the kept photo.
 * A photo that cannot be kept is named to the sender privately; the groups have the text.
 */
import { and, desc, eq, gte, sql } from "drizzle-orm";
import { circularEvents, circulars, media, type ticketMedia } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import { type Attachment, recordAttachments, REPORT_WINDOW_MS, type Sent } from "../media/attach.js";
import { loadSharp, sha256Hex } from "../media/image.js";
import { queueMessage } from "../outbox.js";
import { deliverAfterQuietHours } from "../policy.js";
import { loadLadder } from "../tickets.js";
import type { Circular } from "./send.js";

/** The posted copy: within a WeCom webhook's 2 MB (99110), JPEG. */
const POST_MAX_BYTES = 2 * 1024 * 1024;
const POST_MAX_PX = 1920;

type Row = typeof ticketMedia.$inferSelect;

/** Record photos for a notice (the photo job fetches and keeps them after this transaction). */
export async function attachToCircular(ctx: Ctx, atts: Attachment[], sent: Sent, circularId: number): Promise<void> {
  if (atts.length === 0) return;
  await recordAttachments(ctx, atts, sent, { circularId });
  await ctx.db
    .update(circulars)
    .set({ photos: sql`${circulars.photos} + ${atts.length}` })
    .where(eq(circulars.id, circularId));
}

/** The notice this person sent within the last 10 minutes, if any: a photo sent alone right after it belongs to it. */
export async function recentCircular(ctx: Ctx, personId: string): Promise<Circular | null> {
  const [c] = await ctx.db
    .select()
    .from(circulars)
    .where(and(eq(circulars.senderId, personId), gte(circulars.createdAt, new Date(ctx.now.getTime() - REPORT_WINDOW_MS))))
    .orderBy(desc(circulars.createdAt), desc(circulars.id))
    .limit(1);
  return c ?? null;
}

/** A JPEG of at most 2 MB from the kept image (smaller and plainer until it fits). */
export async function postableCopy(data: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const sharp = await loadSharp();
  for (const [px, quality] of [
    [POST_MAX_PX, 82],
    [1600, 72],
    [1280, 65],
    [1024, 60],
  ] as const) {
    const { data: out, info } = await sharp(data)
      .resize(px, px, { fit: "inside", withoutEnlargement: true })
      .flatten({ background: "#ffffff" })
      .jpeg({ quality, mozjpeg: true })
      .toBuffer({ resolveWithObject: true });
    if (out.length <= POST_MAX_BYTES) return { data: out, width: info.width, height: info.height };
  }
  throw new Error("photo does not fit a group message");
}

/** The photo job kept a notice's photo: post it to each of the notice's groups (once each) and note it in the 台账. */
export async function circularPhotoKept(
  ctx: Ctx,
  row: Row,
  copy: { data: Buffer; width: number; height: number; thumb: Buffer },
): Promise<void> {
  const [c] = row.circularId ? await ctx.db.select().from(circulars).where(eq(circulars.id, row.circularId)) : [];
  if (!c) return;
  const sha256 = sha256Hex(copy.data);
  await ctx.db
    .insert(media)
    .values({ sha256, mime: "image/jpeg", width: copy.width, height: copy.height, size: copy.data.length, data: copy.data, thumb: copy.thumb, createdAt: ctx.now })
    .onConflictDoNothing();
  const [sent] = await ctx.db
    .select({ data: circularEvents.data })
    .from(circularEvents)
    .where(and(eq(circularEvents.circularId, c.id), eq(circularEvents.kind, "sent")))
    .limit(1);
  const groups = Array.isArray(sent?.data?.groups) ? (sent.data.groups as string[]) : [];
  const policy = (await loadLadder(ctx, c.unitId)).policy;
  const notBefore = deliverAfterQuietHours(policy, ctx.now);
  for (const chatId of groups) {
    await queueMessage(ctx, {
      dedupeKey: `circular-${c.id}-${chatId}-photo-${row.id}`,
      to: { chatId },
      kind: "notice",
      payload: { text: `📢 通知 #${c.id} 的附图`, mentions: [], image: { sha256 } },
      notBefore,
    });
  }
  await ctx.db.insert(circularEvents).values({ circularId: c.id, at: ctx.now, actorId: null, kind: "photo", data: { mediaId: row.id, groups: groups.length } });
}

/** A notice's photo could not be kept: its 台账 says why, and the sender hears it privately. */
export async function circularPhotoFailed(ctx: Ctx, row: Row, why: string): Promise<void> {
  const [c] = row.circularId ? await ctx.db.select().from(circulars).where(eq(circulars.id, row.circularId)) : [];
  if (!c) return;
  await ctx.db.insert(circularEvents).values({ circularId: c.id, at: ctx.now, actorId: null, kind: "photo_failed", data: { mediaId: row.id, reason: row.error } });
  await queueMessage(ctx, {
    dedupeKey: `circular-${c.id}-photo-failed-${row.id}`,
    to: { personId: c.senderId },
    kind: "notice",
    payload: { text: `通知 #${c.id} 的一张图片没能发出（${why}），各群已收到文字。需要的话请重新发这张图片。`, mentions: [] },
  });
}
