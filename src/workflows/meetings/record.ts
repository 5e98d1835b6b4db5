/**
 * After the meeting: `纪要 …` adds to its minutes, `议定 …` records a decision. A decision is a 议定事项 ticket (kind
 * decision, linked to the meeting, the usual clocks and ladder) unless it is only noted (`议定 备案 …`). Who may
 * record: the meeting unit's leaders and those above (the same rule as organising it). One transaction each, with
 * the meeting's 台账 event.
 */
import { and, eq, ne, sql } from "drizzle-orm";
import { queryRows } from "../../db/client.js";
import { meetings, type MeetingKind } from "../../db/schema/index.js";
import { subtreeCte, withRecursive } from "../../db/unit-tree.js";
import { localDayStart, localMidnight, localParts } from "../../lib/time.js";
import { parseWhenZh } from "../../lib/when-zh.js";
import type { Ctx } from "../context.js";
import type { Chat, Person } from "../directory.js";
import { type Done, openTicket } from "../ticket-commands.js";
import { currentMeeting, type Meeting, type MeetingRefusal, meetingPlace, recordMeetingEvent } from "./schedule.js";

export type RecordRefusal = MeetingRefusal | { ok: false; reason: "no_meeting"; kind: MeetingKind };
export type MinutesDone = { ok: true; meeting: Meeting; count: number };
export type DecisionDone = { ok: true; meeting: Meeting; count: number; ticket: Done | null; resolveBy: Date | null };

/** The kind of meeting a chat holds: a 组's 恳谈会, a village's 分析会. */
async function kindOfChat(ctx: Ctx, chat: Chat | null): Promise<MeetingKind> {
  if (!chat) return "talk";
  const [row] = await queryRows<{ kind: string }>(ctx.db, sql`select kind from units where id = ${chat.unitId}`);
  return row?.kind === "village" ? "analysis" : "talk";
}

async function meetingToRecord(ctx: Ctx, chat: Chat | null, person: Person | null): Promise<{ m: Meeting } | RecordRefusal> {
  const kind = await kindOfChat(ctx, chat);
  const place = await meetingPlace(ctx, kind, chat, person);
  if ("ok" in place) return place;
  const m = await currentMeeting(ctx, kind, place.chat.unitId);
  return m ? { m } : { ok: false, reason: "no_meeting", kind };
}

const countOf = async (ctx: Ctx, m: Meeting, kind: "minutes" | "decided") => {
  const [row] = await queryRows<{ n: string | number }>(
    ctx.db,
    sql`select count(*) as n from meeting_events where meeting_id = ${m.id} and kind = ${kind}`,
  );
  return Number(row?.n ?? 0);
};

/** Held once something is recorded of it on or after its day (before, it stays scheduled: still to be moved or called off). */
async function markHeld(ctx: Ctx, m: Meeting, minutes?: string): Promise<Meeting> {
  const begun = m.startsAt.getTime() < localMidnight(ctx.now).getTime() + 86_400_000;
  const [row] = (await ctx.db
    .update(meetings)
    .set({
      status: begun ? "held" : m.status,
      version: m.version + 1,
      updatedAt: ctx.now,
      ...(minutes === undefined ? {} : { minutes: sql`coalesce(${meetings.minutes} || E'\\n\\n', '') || ${minutes}` }),
    })
    .where(and(eq(meetings.id, m.id), ne(meetings.status, "cancelled")))
    .returning()) as [Meeting];
  return row;
}

/** `纪要 …`: one more paragraph of the minutes. */
export async function recordMinutes(ctx: Ctx, chat: Chat | null, person: Person | null, text: string): Promise<MinutesDone | RecordRefusal> {
  const found = await meetingToRecord(ctx, chat, person);
  if ("ok" in found) return found;
  const m = await markHeld(ctx, found.m, text);
  await recordMeetingEvent(ctx, m, { kind: "minutes", actorId: (person as Person).id, text });
  return { ok: true, meeting: m, count: await countOf(ctx, m, "minutes") };
}

/** A decision that is only noted, not a task: 议定 备案 … / 议定 仅记录 … / 议定 无需办理 …. */
const NOTE_ONLY = /^(?:备案|備案|仅记录|僅記錄|只记录|只記錄|无需办理|無需辦理)[\s：:，,、]*/u;

/** `议定 …`: a decision; a 议定事项 ticket unless only noted. */
export async function recordDecision(ctx: Ctx, chat: Chat | null, person: Person | null, text: string): Promise<DecisionDone | RecordRefusal> {
  const found = await meetingToRecord(ctx, chat, person);
  if ("ok" in found) return found;
  const me = person as Person;
  const noteOnly = NOTE_ONLY.exec(text);
  const words = noteOnly ? text.slice(noteOnly[0].length) || text : text;
  const m = await markHeld(ctx, found.m);
  let ticket: Done | null = null;
  const resolveBy = noteOnly ? null : deadlineIn(words, ctx.now);
  if (!noteOnly) {
    const named = await namedLeader(ctx, m.unitId, words);
    ticket = await openTicket(ctx, { person: me, externalId: me.id, chat }, words, {
      decision: { meetingId: m.id, unitId: named?.unitId ?? m.unitId, resolveBy, assigneeId: named?.id },
    });
  }
  await recordMeetingEvent(ctx, m, {
    kind: "decided",
    actorId: me.id,
    text: words,
    data: { ticketId: ticket?.ticket.id ?? null, resolveBy: resolveBy?.toISOString() ?? null },
  });
  return { ok: true, meeting: m, count: await countOf(ctx, m, "decided"), ticket, resolveBy };
}

/** The leader of the meeting's unit (or below) a decision names (由王秀英负责): the longest name found wins. */
async function namedLeader(ctx: Ctx, unitId: string, text: string): Promise<{ id: string; unitId: string } | null> {
  const rows = await queryRows<{ id: string; name: string; unit_id: string }>(
    ctx.db,
    sql`${withRecursive(subtreeCte("sub", unitId))}
      select p.id, p.name, p.unit_id from people p join sub on sub.unit_id = p.unit_id
      where p.role not in ('resident', 'admin') and p.active`,
  );
  const hit = rows.filter((r) => r.name.length >= 2 && text.includes(r.name)).sort((a, b) => b.name.length - a.name.length)[0];
  return hit ? { id: hit.id, unitId: hit.unit_id } : null;
}

/**
 * The deadline a decision gives itself: a date followed by 前 / 之前 / 以前 (12月31日前, 20号之前, 下周五前), or 月底前 /
 * 年底前. That day at 23:59; null when it names none (the policy's clock for 议定事项 applies).
 */
export function deadlineIn(text: string, now: Date): Date | null {
  const m =
    /((?:[0-9０-９一二三四五六七八九十]{1,2}\s*月\s*)?[0-9０-９一二三四五六七八九十]{1,3}\s*[日号號]|(?:下|本|这)?(?:周|週|星期|礼拜)[一二三四五六日天]|月底|年底)\s*(?:之前|以前|前)/u.exec(
      text,
    );
  if (!m) return null;
  const word = m[1] as string;
  const today = localParts(now);
  const endOf = (start: Date) => new Date(start.getTime() - 60_000);
  if (word === "月底") return endOf(localDayStart(today.year, today.month + 1, 1));
  if (word === "年底") return endOf(localDayStart(today.year + 1, 1, 1));
  const when = parseWhenZh(`${word} 23:59`, now);
  if (!when.ok) return null;
  const p = localParts(when.at);
  return endOf(localDayStart(p.year, p.month, p.day + 1));
}
