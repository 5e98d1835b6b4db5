/**
 * Handing over a 邻 (or a 组, a 片): a resident is appointed its leader, and in the same transaction the outgoing
 * leader's unfinished tickets move to them (a 台账 event each), their waiting visit reminders follow, the outgoing
 * leader becomes a resident again or is deactivated, the unit's group is told (outbox, one dedupe key per handover),
 * and the change enters the history. Visit duties themselves follow the role: the caretakers of a 邻's households
 * are whoever leads it now (visits/scope.ts), so nothing else needs moving.
 */
import { and, asc, eq, inArray, ne, sql } from "drizzle-orm";
import { chats, households, outbox, people, type Role, tickets, type UnitKind, units } from "../../db/schema/index.js";
import { dropQuestions } from "../questions.js";
import { forGroup, GROUP_CUTS } from "../../lib/privacy.js";
import type { Ctx } from "../context.js";
import { isActive, type Person } from "../directory.js";
import { queueMessage } from "../outbox.js";
import { deliverAfterQuietHours } from "../policy.js";
import { LEADER_ROLE, ROLE_ZH } from "../roles.js";
import { getTicketToChange, loadLadder, recordEvent, type Ticket, updateTicket } from "../tickets.js";
import { type DirectoryActor, inScope } from "./access.js";
import { recordChange } from "./history.js";
import { handOverCirculars } from "../circulars/handover.js";

/** The units whose leaders rotate among residents (三长); village and town officials are staff, kept by import. */
export const HANDOVER_KINDS: readonly UnitKind[] = ["neighborhood", "group", "area"];

export type HandoverInput = {
  unitId: string;
  /** The resident appointed. */
  incomingId: string;
  /** The leader handing over; may be left out when the unit has exactly one (or none: a vacant unit is filled). */
  outgoingId?: string | null;
  /** What the outgoing leader becomes: a resident of the same unit, or deactivated (moved away, passed on). */
  outgoingBecomes: "resident" | "inactive";
};

export type HandoverRefusal =
  | "not_found"
  | "forbidden"
  | "not_rotating"
  | "choose_outgoing"
  | "incoming_not_found"
  | "incoming_not_resident"
  | "incoming_forbidden";

export type HandoverResult =
  | { ok: true; changeId: number; moved: number[]; outgoing: Person | null; incoming: Person; notified: string[] }
  | { ok: false; reason: HandoverRefusal };

/** Tickets listed by number in the group notice; the rest are counted. */
const LISTED = 5;
/** A ticket changed by someone else while it was being moved is read again this many times. */
const RETRIES = 5;

export async function handOver(ctx: Ctx, by: DirectoryActor, input: HandoverInput): Promise<HandoverResult> {
  const [unit] = await ctx.db.select().from(units).where(eq(units.id, input.unitId));
  if (!unit) return { ok: false, reason: "not_found" };
  if (!(await inScope(ctx.db, by, unit.id))) return { ok: false, reason: "forbidden" };
  if (!HANDOVER_KINDS.includes(unit.kind)) return { ok: false, reason: "not_rotating" };
  const role: Role = LEADER_ROLE[unit.kind];

  // The people concerned, locked: a second handover of the same unit waits for this one and then sees its result.
  const leaders = await ctx.db
    .select()
    .from(people)
    .where(and(eq(people.unitId, unit.id), eq(people.role, role), isActive))
    .orderBy(asc(people.id))
    .for("update");
  let outgoing: Person | null = null;
  if (input.outgoingId) {
    outgoing = leaders.find((p) => p.id === input.outgoingId) ?? null;
    if (!outgoing) return { ok: false, reason: "choose_outgoing" };
  } else if (leaders.length > 1) {
    return { ok: false, reason: "choose_outgoing" };
  } else outgoing = leaders[0] ?? null;

  const [incoming] = await ctx.db.select().from(people).where(eq(people.id, input.incomingId)).for("update");
  if (!incoming?.active) return { ok: false, reason: "incoming_not_found" };
  if (incoming.role !== "resident") return { ok: false, reason: "incoming_not_resident" };
  if (!(await inScope(ctx.db, by, incoming.unitId))) return { ok: false, reason: "incoming_forbidden" };

  const [appointed] = await ctx.db
    .update(people)
    .set({ role, unitId: unit.id, updatedAt: ctx.now })
    .where(eq(people.id, incoming.id))
    .returning();
  let stepped: Person | null = null;
  if (outgoing) {
    // A resident lives where their household is (the import's rule), so that is where the outgoing leader goes.
    const [home] = outgoing.householdId
      ? await ctx.db.select({ unitId: households.unitId }).from(households).where(eq(households.id, outgoing.householdId))
      : [];
    // Either way their links and sessions end: a resident has no dashboard, a deactivated person no access at all.
    const [row] = await ctx.db
      .update(people)
      .set({
        role: "resident",
        unitId: home?.unitId ?? outgoing.unitId,
        ...(input.outgoingBecomes === "inactive" ? { active: false } : {}),
        linkVersion: sql`${people.linkVersion} + 1`,
        updatedAt: ctx.now,
      })
      .where(eq(people.id, outgoing.id))
      .returning();
    stepped = row ?? null;
  }

  const ladder = await loadLadder(ctx, unit.id);
  const moved = outgoing ? await moveTickets(ctx, by, outgoing, appointed as Person, unit.name, role) : [];
  // The notices the outgoing leader had still to pass on are the new one's (the 传达率 keeps counting them).
  const notices = outgoing ? await handOverCirculars(ctx, outgoing, appointed as Person, by.personId) : [];
  if (outgoing) {
    // The reminders waiting to go to the outgoing leader (visit due lists, weekly contact nudges) are the new one's now;
    // a household pick they left half-way is dropped.
    await ctx.db
      .update(outbox)
      .set({ personId: incoming.id })
      .where(and(eq(outbox.personId, outgoing.id), eq(outbox.kind, "reminder"), eq(outbox.status, "pending")));
    await dropQuestions(ctx, outgoing.id, ["pick"]);
  }

  const who = ROLE_ZH[role];
  const summary = [
    `${unit.name} ${who}${outgoing ? `交接：${outgoing.name} → ${incoming.name}` : `任命：${incoming.name}`}`,
    moved.length ? `（${moved.length} 件工单转交）` : "",
    outgoing && input.outgoingBecomes === "inactive" ? `，${outgoing.name} 已停用` : "",
  ].join("");
  const changeId = await recordChange(ctx.db, by, ctx.now, {
    kind: "handover",
    unitId: unit.id,
    summary,
    data: { from: outgoing?.id ?? null, to: incoming.id, tickets: moved, circulars: notices, outgoingBecomes: outgoing ? input.outgoingBecomes : null },
  });

  // The unit's own group, else the nearest group above it (a 邻 usually shares its 组's group).
  const groupChats = await chatsNearest(ctx, ladder.path.map((u) => u.id));
  const movedTickets = moved.length
    ? await ctx.db.select().from(tickets).where(inArray(tickets.id, moved.slice(0, LISTED))).orderBy(asc(tickets.id))
    : [];
  const notBefore = deliverAfterQuietHours(ladder.policy, ctx.now);
  const text = handoverNotice({ unitName: unit.name, role, outgoing, incoming, moved, listed: movedTickets, tags: ladder.policy.sensitiveTags });
  for (const chat of groupChats) {
    await queueMessage(ctx, {
      dedupeKey: `handover-${changeId}-${chat.id}`,
      to: { chatId: chat.id },
      kind: "notice",
      payload: { text, mentions: [incoming.id] },
      notBefore,
    });
  }
  await queueMessage(ctx, {
    dedupeKey: `handover-${changeId}-to-${incoming.id}`,
    to: { personId: incoming.id },
    kind: "notice",
    payload: { text: appointedNotice(unit.name, role, moved, notices), mentions: [] },
  });
  return { ok: true, changeId, moved, outgoing: stepped, incoming: appointed as Person, notified: groupChats.map((c) => c.id) };
}

/** Every unfinished ticket assigned to the outgoing leader goes to the incoming one, with a 台账 event each. */
async function moveTickets(ctx: Ctx, by: DirectoryActor, from: Person, to: Person, unitName: string, role: Role): Promise<number[]> {
  const open = await ctx.db
    .select({ id: tickets.id })
    .from(tickets)
    .where(and(eq(tickets.assigneeId, from.id), ne(tickets.status, "closed")))
    .orderBy(asc(tickets.id));
  const moved: number[] = [];
  for (const { id } of open) {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const t: Ticket | null = await getTicketToChange(ctx, id);
      if (!t || t.assigneeId !== from.id || t.status === "closed") break;
      const after = await updateTicket(ctx, t, { assigneeId: to.id });
      if (!after) continue; // changed meanwhile (a reply on the message path): read it again
      await recordEvent(ctx, after, {
        kind: "handed_over",
        actorId: by.personId,
        fromStatus: t.status,
        text: `${unitName}${ROLE_ZH[role]}交接：${from.name} → ${to.name}`,
        data: { from: from.id, to: to.id },
      });
      moved.push(id);
      break;
    }
  }
  return moved;
}

async function chatsNearest(ctx: Ctx, pathIds: string[]): Promise<{ id: string; unitId: string }[]> {
  if (pathIds.length === 0) return [];
  const list = await ctx.db
    .select({ id: chats.id, unitId: chats.unitId })
    .from(chats)
    .where(and(inArray(chats.unitId, pathIds), eq(chats.status, "active")))
    .orderBy(asc(chats.id));
  for (const unitId of pathIds) {
    const here = list.filter((c) => c.unitId === unitId);
    if (here.length > 0) return here;
  }
  return [];
}

/** The group's notice: who leads now, and which unfinished matters they carry on (items masked and cut for the group). */
export function handoverNotice(a: {
  unitName: string;
  role: Role;
  outgoing: Person | null;
  incoming: Person;
  moved: number[];
  listed: Ticket[];
  tags: readonly string[];
}): string {
  const who = ROLE_ZH[a.role];
  const lines = [
    a.outgoing
      ? `📢 ${a.unitName}${who}交接：${a.outgoing.name} → @${a.incoming.name}。`
      : `📢 ${a.unitName}新任${who}：@${a.incoming.name}。`,
    `今后${a.unitName}的报事、走访请找 ${a.incoming.name}。`,
  ];
  if (a.moved.length) {
    lines.push(`转交的未办结工单 ${a.moved.length} 件：`);
    for (const t of a.listed) lines.push(`#${t.id} ${forGroup(t.text, GROUP_CUTS.line, a.tags)}`);
    if (a.moved.length > a.listed.length) lines.push(`……另有 ${a.moved.length - a.listed.length} 件`);
  }
  if (a.outgoing) lines.push(`感谢 ${a.outgoing.name} 的付出！`);
  return lines.join("\n");
}

function appointedNotice(unitName: string, role: Role, moved: number[], notices: number[]): string {
  const tickets = moved.length ? `转交给你的未办结工单：${moved.map((id) => `#${id}`).join("、")}。发「待办」可以查看。` : "";
  const relay = notices.length
    ? `还没传达的通知 ${notices.map((id) => `#${id}`).join("、")} 也由你转告联系户，转告后发「已传达 #通知号」。`
    : "";
  return `你已担任${unitName}${ROLE_ZH[role]}。${tickets}${relay}本${role === "neighbor_leader" ? "邻" : "单位"}住户的走访提醒今后发给你。`;
}
