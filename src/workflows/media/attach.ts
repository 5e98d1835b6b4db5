/**
 * Photos arriving with messages: recorded in the message's own transaction as ticket_media rows (the durable job:
 * fetching and cleaning happens after commit, off the reply path), tied to a ticket, or held while the sender is
 * asked whether to report with them (a pending question naming the held rows, src/workflows/questions.ts). Which
 * ticket a photo belongs to is decided in src/bot/media-dispatch.ts.
 */
import { and, desc, eq, gte, inArray, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client.js";
import { media, type MediaRole, type MediaSource, ticketMedia, tickets } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import { ask } from "../questions.js";
import type { Actor } from "../ticket-commands.js";
import type { Ticket } from "../tickets.js";

/** A photo in an incoming message, as the adapter found it. `data`: bytes sent inline (the simulator). */
export type Attachment = { kind: "image"; source: MediaSource; data?: Buffer; validMs: number };

/** A photo sent alone this soon after the same person's report in the same chat belongs to that report. */
export const REPORT_WINDOW_MS = 10 * 60_000;
/** Photos kept per ticket (reports and results together). */
export const MEDIA_PER_TICKET = 9;

export type Sent = { chatId: string | null; senderExternalId: string };

/** Record the photos of a message: for a ticket, or (ticketId null) held for the question. Returns the row ids. */
export async function recordAttachments(
  ctx: Ctx,
  atts: Attachment[],
  sent: Sent,
  target: { ticketId: number; role: MediaRole } | { ticketId: null } | { circularId: number },
): Promise<number[]> {
  if (atts.length === 0) return [];
  const ticketId = "ticketId" in target ? target.ticketId : null;
  const rows = await ctx.db
    .insert(ticketMedia)
    .values(
      atts.map((a) => ({
        ticketId,
        circularId: "circularId" in target ? target.circularId : null,
        role: "role" in target ? target.role : ("report" as const),
        status: "pending" as const,
        source: a.source,
        inline: a.data ?? null,
        chatId: sent.chatId,
        senderExternalId: sent.senderExternalId,
        notAfter: new Date(ctx.now.getTime() + a.validMs),
        createdAt: ctx.now,
      })),
    )
    .returning({ id: ticketMedia.id });
  // Fetched whatever happens next: a WeCom link lives five minutes, longer than a person takes to answer.
  ctx.effects.media.push(...rows.map((r) => ({ id: r.id })));
  return rows.map((r) => r.id);
}

/**
 * Hold a message's photos and ask their sender whether to report with them: one question per person and chat, so
 * photos sent one after another wait together (the words of the first that had any become the report's text).
 */
export async function holdPhotos(ctx: Ctx, actor: Actor, atts: Attachment[], caption: string): Promise<void> {
  if (!actor.chat) throw new Error("holdPhotos: photos are held only in a group");
  const ids = await recordAttachments(ctx, atts, { chatId: actor.chat.id, senderExternalId: actor.externalId }, { ticketId: null });
  await ask(ctx, actor, "photo", { mediaIds: ids, caption }, REPORT_WINDOW_MS, (old, fresh) =>
    sql`jsonb_build_object('mediaIds', (${old} -> 'mediaIds') || (${fresh} -> 'mediaIds'),
      'caption', case when coalesce(${old} ->> 'caption', '') <> '' then ${old} -> 'caption' else ${fresh} -> 'caption' end)`,
  );
}

/** Tie held photos to a ticket; the ones already fetched are written into its 台账 by the caller. */
export async function claimHeld(ctx: Ctx, ids: number[], ticketId: number) {
  if (ids.length === 0) return [];
  return ctx.db
    .update(ticketMedia)
    .set({ ticketId })
    .where(and(inArray(ticketMedia.id, ids), held(ctx.now)))
    .returning();
}

/** Photos still held: no ticket or notice yet, not dropped, sent within the window. */
const held = (now: Date) =>
  and(
    isNull(ticketMedia.ticketId),
    isNull(ticketMedia.circularId),
    inArray(ticketMedia.status, ["pending", "stored", "failed"]),
    gte(ticketMedia.createdAt, new Date(now.getTime() - REPORT_WINDOW_MS)),
  );

/** Held photos the sender did not want: they are not kept. */
export async function dropHeld(ctx: Ctx, ids: number[]) {
  if (ids.length === 0) return;
  await drop(ctx.db, and(inArray(ticketMedia.id, ids), isNull(ticketMedia.ticketId)));
}

/** Drop held rows, then delete the images only they used. */
async function drop(db: Db, where: SQL | undefined): Promise<number> {
  const old = db.$with("old").as(db.select({ id: ticketMedia.id, sha256: ticketMedia.sha256 }).from(ticketMedia).where(where));
  const rows = await db
    .with(old)
    .update(ticketMedia)
    .set({ status: "dropped", inline: null, sha256: null })
    .from(old)
    .where(eq(ticketMedia.id, old.id))
    .returning({ sha256: old.sha256 });
  const shas = [...new Set(rows.flatMap((r) => (r.sha256 ? [r.sha256] : [])))];
  if (shas.length)
    await db.delete(media).where(and(inArray(media.sha256, shas), sql`not exists (select 1 from ticket_media l where l.sha256 = ${media.sha256})`));
  return rows.length;
}

/**
 * Held photos left unanswered past the window are dropped, and images no kept photo uses any more are deleted: a
 * photo nobody reported with is not ours to keep. Run by the reconciler.
 */
export async function sweepHeldPhotos(db: Db, now: Date): Promise<number> {
  return drop(
    db,
    and(
      isNull(ticketMedia.ticketId),
      isNull(ticketMedia.circularId),
      inArray(ticketMedia.status, ["pending", "stored", "failed"]),
      lt(ticketMedia.createdAt, new Date(now.getTime() - REPORT_WINDOW_MS)),
    ),
  );
}

/** The same person's latest report in this chat (null: in any chat) within the window, if any. */
export async function recentReport(ctx: Ctx, chatId: string | null, reporter: { personId: string | null; externalId: string }): Promise<Ticket | null> {
  const [t] = await ctx.db
    .select()
    .from(tickets)
    .where(
      and(
        chatId === null ? undefined : eq(tickets.chatId, chatId),
        gte(tickets.createdAt, new Date(ctx.now.getTime() - REPORT_WINDOW_MS)),
        reporter.personId
          ? eq(tickets.reporterId, reporter.personId)
          : eq(tickets.reporterExternalId, reporter.externalId),
      ),
    )
    .orderBy(desc(tickets.createdAt), desc(tickets.id))
    .limit(1);
  return t ?? null;
}

/** Kept photos per ticket (stored ones only), for pings, digests and exports. */
export async function photoCounts(ctx: Pick<Ctx, "db">, ticketIds: number[]): Promise<Map<number, number>> {
  if (ticketIds.length === 0) return new Map();
  const rows = await ctx.db
    .select({ ticketId: ticketMedia.ticketId, n: sql<number>`count(*)::int` })
    .from(ticketMedia)
    .where(and(inArray(ticketMedia.ticketId, ticketIds), eq(ticketMedia.status, "stored")))
    .groupBy(ticketMedia.ticketId);
  return new Map(rows.map((r) => [Number(r.ticketId), Number(r.n)]));
}
