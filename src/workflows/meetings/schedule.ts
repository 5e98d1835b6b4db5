/**
 * Scheduling a 民情恳谈会 (in a 组's chat) or 民情分析会 (in a village's chat), changing its time (改期) or calling it off
 * (取消). Each is one transaction: the meeting row, its 台账 event, and the day-before reminder as an outbox row with
 * its own dedupe key — PostgreSQL holds it, so a Redis flush loses nothing (the reconciler re-arms pending rows). A
 * change cancels the pending reminder row and queues one for the new time.
 */
import { and, desc, eq, gt, lte, ne, sql } from "drizzle-orm";
import { type MeetingEventKind, type MeetingKind, meetingEvents, meetings, outbox } from "../../db/schema/index.js";
import { localMidnight } from "../../lib/time.js";
import { parseWhenZh, type WhenProblem } from "../../lib/when-zh.js";
import type { Ctx } from "../context.js";
import { canLead, type Chat, type Leader, type Person } from "../directory.js";
import { queueMessage } from "../outbox.js";
import { deliverAfterQuietHours } from "../policy.js";
import { type Ladder, loadLadder } from "../tickets.js";
import { type Agenda, meetingAgenda } from "./agenda.js";
import { meetingCancelled, meetingMoved, meetingNotice, meetingReminder } from "./texts.js";

export type Meeting = typeof meetings.$inferSelect;

/** Which unit kind holds which meeting. */
const UNIT_OF: Record<MeetingKind, "group" | "village"> = { talk: "group", analysis: "village" };
/** A reminder that would go out this soon after the notice is not sent: the notice has just said it. */
const REMINDER_MIN_LEAD_MS = 2 * 3_600_000;
const DAY_MS = 86_400_000;

export type MeetingRefusal =
  | { ok: false; reason: "wrong_chat"; kind: MeetingKind }
  | { ok: false; reason: "forbidden"; kind: MeetingKind }
  | { ok: false; reason: "exists"; meeting: Meeting }
  | { ok: false; reason: "none"; kind: MeetingKind }
  | { ok: false; reason: "when"; kind: MeetingKind; problem: WhenProblem; change: boolean }
  | { ok: false; reason: "no_place"; kind: MeetingKind };

export type MeetingDone = { ok: true; meeting: Meeting; text: string };
export type MeetingResult = MeetingDone | MeetingRefusal;

export type MeetingPlace = { kind: MeetingKind; chat: Chat; ladder: Ladder; unitName: string };

/** The meeting unit of a chat for this kind, and whether the person may organise there (its leaders or above). */
export async function meetingPlace(ctx: Ctx, kind: MeetingKind, chat: Chat | null, person: Person | null): Promise<MeetingPlace | MeetingRefusal> {
  if (!chat) return { ok: false, reason: "wrong_chat", kind };
  const ladder = await loadLadder(ctx, chat.unitId);
  const unit = ladder.path[0];
  if (!unit || unit.kind !== UNIT_OF[kind]) return { ok: false, reason: "wrong_chat", kind };
  if (!canLead(person, ladder.path)) return { ok: false, reason: "forbidden", kind };
  return { kind, chat, ladder, unitName: unit.name };
}

const isRefusal = (x: MeetingPlace | MeetingRefusal): x is MeetingRefusal => "ok" in x;

/** The unit's next meeting of this kind that has not started (locked for the change), if any. */
async function upcoming(ctx: Ctx, kind: MeetingKind, unitId: string): Promise<Meeting | null> {
  const [m] = await ctx.db
    .select()
    .from(meetings)
    .where(and(eq(meetings.kind, kind), eq(meetings.unitId, unitId), eq(meetings.status, "scheduled"), gt(meetings.startsAt, ctx.now)))
    .orderBy(meetings.startsAt)
    .limit(1)
    .for("update");
  return m ?? null;
}

/**
 * The meeting a 纪要 / 议定 is about: the unit's latest meeting of this kind that is not cancelled and has begun, or is
 * today; one more than 31 days old is over (a new meeting is needed). With none, the next scheduled one (a recorder
 * may write up what was agreed beforehand; the reply names the meeting's date).
 */
export async function currentMeeting(ctx: Ctx, kind: MeetingKind, unitId: string): Promise<Meeting | null> {
  return (await latestBegun(ctx, kind, unitId)) ?? (await nextNotCancelled(ctx, kind, unitId));
}

/** The unit's next meeting of this kind, whether something was recorded of it already or not. */
async function nextNotCancelled(ctx: Ctx, kind: MeetingKind, unitId: string): Promise<Meeting | null> {
  const [m] = await ctx.db
    .select()
    .from(meetings)
    .where(and(eq(meetings.kind, kind), eq(meetings.unitId, unitId), ne(meetings.status, "cancelled"), gt(meetings.startsAt, ctx.now)))
    .orderBy(meetings.startsAt)
    .limit(1)
    .for("update");
  return m ?? null;
}

async function latestBegun(ctx: Ctx, kind: MeetingKind, unitId: string): Promise<Meeting | null> {
  const endOfToday = new Date(localMidnight(ctx.now).getTime() + DAY_MS);
  const [m] = await ctx.db
    .select()
    .from(meetings)
    .where(
      and(
        eq(meetings.kind, kind),
        eq(meetings.unitId, unitId),
        ne(meetings.status, "cancelled"),
        lte(meetings.startsAt, endOfToday),
        gt(meetings.startsAt, new Date(ctx.now.getTime() - 31 * DAY_MS)),
      ),
    )
    .orderBy(desc(meetings.startsAt))
    .limit(1)
    .for("update");
  return m ?? null;
}

/** One organiser at a time per unit: two 恳谈会 sent at once must not both be scheduled. */
async function lockUnit(ctx: Ctx, unitId: string): Promise<void> {
  await ctx.db.execute(sql`select pg_advisory_xact_lock(hashtext(${`meeting-${unitId}`}))`);
}

export async function recordMeetingEvent(
  ctx: Ctx,
  m: Meeting,
  e: { kind: MeetingEventKind; actorId: string | null; text?: string | null; data?: Record<string, unknown> },
): Promise<void> {
  await ctx.db.insert(meetingEvents).values({ meetingId: m.id, at: ctx.now, actorId: e.actorId, kind: e.kind, text: e.text ?? null, data: e.data ?? null });
}

/** Queue the day-before reminder (unless it would come right after the notice); returns its dedupe key. */
async function queueReminder(ctx: Ctx, m: Meeting, place: MeetingPlace): Promise<string | null> {
  if (!m.chatId) return null;
  const at = deliverAfterQuietHours(place.ladder.policy, new Date(m.startsAt.getTime() - DAY_MS));
  if (at.getTime() < ctx.now.getTime() + REMINDER_MIN_LEAD_MS || at.getTime() >= m.startsAt.getTime()) return null;
  const key = `meeting-remind-${m.id}-${m.startsAt.getTime()}`;
  await queueMessage(ctx, {
    dedupeKey: key,
    to: { chatId: m.chatId },
    kind: "reminder",
    payload: {
      text: meetingReminder({ kind: m.kind, unitName: place.unitName, startsAt: m.startsAt, place: m.place, tags: place.ladder.policy.sensitiveTags }),
      mentions: [],
    },
    notBefore: at,
  });
  return key;
}

/** The reminder of the old time will not go: its pending row is cancelled (one already sending cannot be). */
async function cancelReminder(ctx: Ctx, m: Meeting): Promise<void> {
  if (!m.reminderKey) return;
  await ctx.db
    .update(outbox)
    .set({ status: "cancelled", lastError: "meeting changed" })
    .where(and(eq(outbox.dedupeKey, m.reminderKey), eq(outbox.status, "pending")));
}

/** `恳谈会 12月20日 19:00 村部会议室`: a new meeting, its notice with the agenda, its reminder. */
export async function scheduleMeeting(ctx: Ctx, kind: MeetingKind, chat: Chat | null, person: Person | null, body: string): Promise<MeetingResult> {
  const place = await meetingPlace(ctx, kind, chat, person);
  if (isRefusal(place)) return place;
  const me = person as Person;
  const when = parseWhenZh(body, ctx.now);
  if (!when.ok) return { ok: false, reason: "when", kind, problem: when.problem, change: false };
  if (when.rest === "") return { ok: false, reason: "no_place", kind };
  const unitId = place.chat.unitId;
  await lockUnit(ctx, unitId);
  const existing = await upcoming(ctx, kind, unitId);
  if (existing) return { ok: false, reason: "exists", meeting: existing };
  const agenda: Agenda = await meetingAgenda(ctx, unitId);
  const [created] = await ctx.db
    .insert(meetings)
    .values({
      kind,
      unitId,
      chatId: place.chat.id,
      startsAt: when.at,
      place: when.rest,
      organizerId: me.id,
      agenda: agenda.snapshot,
      createdAt: ctx.now,
      updatedAt: ctx.now,
    })
    .returning();
  let m = created as Meeting;
  const reminderKey = await queueReminder(ctx, m, place);
  if (reminderKey) [m] = (await ctx.db.update(meetings).set({ reminderKey }).where(eq(meetings.id, m.id)).returning()) as [Meeting];
  await recordMeetingEvent(ctx, m, { kind: "scheduled", actorId: me.id, text: m.place, data: { startsAt: m.startsAt.toISOString(), reminder: reminderKey } });
  const organizer: Leader = { id: me.id, name: me.name, role: me.role, unitId: me.unitId, householdId: me.householdId };
  const text = meetingNotice({
    kind,
    unitName: place.unitName,
    startsAt: m.startsAt,
    place: m.place,
    organizer,
    agenda,
    reminder: reminderKey !== null,
    tags: place.ladder.policy.sensitiveTags,
  });
  return { ok: true, meeting: m, text };
}

/** `恳谈会 改期 12月22日 19:00 [新地点]`: the next meeting moves; its reminder follows it. */
export async function rescheduleMeeting(ctx: Ctx, kind: MeetingKind, chat: Chat | null, person: Person | null, body: string): Promise<MeetingResult> {
  const place = await meetingPlace(ctx, kind, chat, person);
  if (isRefusal(place)) return place;
  const me = person as Person;
  const when = parseWhenZh(body, ctx.now);
  if (!when.ok) return { ok: false, reason: "when", kind, problem: when.problem, change: true };
  await lockUnit(ctx, place.chat.unitId);
  const before = await upcoming(ctx, kind, place.chat.unitId);
  if (!before) return { ok: false, reason: "none", kind };
  await cancelReminder(ctx, before);
  const newPlace = when.rest || before.place;
  const [moved] = (await ctx.db
    .update(meetings)
    .set({ startsAt: when.at, place: newPlace, version: before.version + 1, updatedAt: ctx.now, reminderKey: null })
    .where(eq(meetings.id, before.id))
    .returning()) as [Meeting];
  let m = moved;
  const reminderKey = await queueReminder(ctx, m, place);
  if (reminderKey) [m] = (await ctx.db.update(meetings).set({ reminderKey }).where(eq(meetings.id, m.id)).returning()) as [Meeting];
  await recordMeetingEvent(ctx, m, {
    kind: "rescheduled",
    actorId: me.id,
    text: newPlace,
    data: { from: before.startsAt.toISOString(), startsAt: m.startsAt.toISOString(), reminder: reminderKey },
  });
  const text = meetingMoved({
    kind,
    unitName: place.unitName,
    from: before.startsAt,
    startsAt: m.startsAt,
    place: m.place,
    reminder: reminderKey !== null,
    tags: place.ladder.policy.sensitiveTags,
  });
  return { ok: true, meeting: m, text };
}

/** `恳谈会 取消 [原因]`: the next meeting is called off; its reminder is cancelled. */
export async function cancelMeeting(ctx: Ctx, kind: MeetingKind, chat: Chat | null, person: Person | null, reason: string | null): Promise<MeetingResult> {
  const place = await meetingPlace(ctx, kind, chat, person);
  if (isRefusal(place)) return place;
  const me = person as Person;
  await lockUnit(ctx, place.chat.unitId);
  const before = await upcoming(ctx, kind, place.chat.unitId);
  if (!before) return { ok: false, reason: "none", kind };
  await cancelReminder(ctx, before);
  const [m] = (await ctx.db
    .update(meetings)
    .set({ status: "cancelled", version: before.version + 1, updatedAt: ctx.now, reminderKey: null })
    .where(eq(meetings.id, before.id))
    .returning()) as [Meeting];
  await recordMeetingEvent(ctx, m, { kind: "cancelled", actorId: me.id, text: reason });
  const text = meetingCancelled({ kind, unitName: place.unitName, startsAt: m.startsAt, reason, tags: place.ladder.policy.sensitiveTags });
  return { ok: true, meeting: m, text };
}
