/** Where a matter is: a shared location on a ticket's 台账, and the voice mark of a report made by voice. */
import { and, eq, sql } from "drizzle-orm";
import { ticketEvents } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import { getTicket, recordEvent } from "../tickets.js";

/** Coordinates (WGS-84 or the platform's own) and the platform's name for the place. */
export type Place = { latitude: number; longitude: number; name: string };

export const validPlace = (p: Place) =>
  Number.isFinite(p.latitude) && Number.isFinite(p.longitude) && Math.abs(p.latitude) <= 90 && Math.abs(p.longitude) <= 180;

/** Record the place of a ticket. The name is an address: it goes to the 台账 and the dashboard, never to a group. */
export async function locateTicket(ctx: Ctx, ticketId: number, place: Place, actorId: string | null): Promise<boolean> {
  const t = await getTicket(ctx.db, ticketId);
  if (!t || !validPlace(place)) return false;
  await recordEvent(ctx, t, { kind: "located", actorId, data: { latitude: place.latitude, longitude: place.longitude, name: place.name.slice(0, 200) } });
  return true;
}

/** Mark a ticket as reported by voice (its "opened" event says so; the dashboard shows 语音). */
export async function markVoice(ctx: Ctx, ticketId: number): Promise<void> {
  await ctx.db
    .update(ticketEvents)
    .set({ data: sql`coalesce(${ticketEvents.data}, '{}'::jsonb) || '{"voice": true}'::jsonb` })
    .where(and(eq(ticketEvents.ticketId, ticketId), eq(ticketEvents.kind, "opened")));
}
