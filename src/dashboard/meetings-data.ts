/** The dashboard's queries for meetings (恳谈会, 分析会) and the 好邻 lists, each limited to the viewer's scope. */
import { type Db, queryRows, sql } from "../db/client.js";
import { jsonValue as json } from "../db/rows.js";
import type { AgendaSnapshot, GoodNeighborEntry, MeetingKind, MeetingStatus } from "../db/schema/index.js";
import { pathUpCte, subtreeCte, withRecursive } from "../db/unit-tree.js";
import { type Scope, scopeCte } from "./data.js";

export type MeetingRow = {
  id: number;
  kind: MeetingKind;
  unitId: string;
  unitName: string;
  startsAt: Date;
  place: string;
  status: MeetingStatus;
  organizer: string | null;
  minutes: string | null;
  agenda: AgendaSnapshot | null;
  decisions: number;
  tickets: number;
};

const meetingColumns = sql`m.id, m.kind, m.unit_id, u.name as unit_name, m.starts_at, m.place, m.status, p.name as organizer, m.minutes, m.agenda,
  (select count(*) from meeting_events e where e.meeting_id = m.id and e.kind = 'decided') as decisions,
  (select count(*) from tickets t where t.meeting_id = m.id) as tickets`;

type Raw = Record<string, unknown>;
const toMeeting = (r: Raw): MeetingRow => ({
  id: Number(r.id),
  kind: r.kind as MeetingKind,
  unitId: String(r.unit_id),
  unitName: String(r.unit_name),
  startsAt: new Date(r.starts_at as string),
  place: String(r.place),
  status: r.status as MeetingStatus,
  organizer: (r.organizer as string | null) ?? null,
  minutes: (r.minutes as string | null) ?? null,
  agenda: json<AgendaSnapshot>(r.agenda),
  decisions: Number(r.decisions),
  tickets: Number(r.tickets),
});

/** Meetings of units in scope, newest first. */
export async function listMeetings(db: Db, scope: Scope, limit: number): Promise<MeetingRow[]> {
  const rows = await queryRows<Raw>(
    db,
    sql`${scopeCte(scope)}
      select ${meetingColumns}
      from meetings m join sub on sub.unit_id = m.unit_id join units u on u.id = m.unit_id left join people p on p.id = m.organizer_id
      order by m.starts_at desc, m.id desc limit ${limit}`,
  );
  return rows.map(toMeeting);
}

export async function meetingInScope(db: Db, scope: Scope, id: number): Promise<MeetingRow | null> {
  if (!Number.isInteger(id) || id <= 0 || id > 2 ** 31 - 1) return null;
  const [row] = await queryRows<Raw>(
    db,
    sql`${scopeCte(scope)}
      select ${meetingColumns}
      from meetings m join sub on sub.unit_id = m.unit_id join units u on u.id = m.unit_id left join people p on p.id = m.organizer_id
      where m.id = ${id}`,
  );
  return row ? toMeeting(row) : null;
}

export type MeetingEventRow = { at: Date; kind: string; actor: string | null; text: string | null; ticketId: number | null; ticketStatus: string | null };

export async function meetingEvents(db: Db, meetingId: number): Promise<MeetingEventRow[]> {
  const rows = await queryRows<Raw>(
    db,
    sql`select e.at, e.kind, p.name as actor, e.text, (e.data ->> 'ticketId')::int as ticket_id, t.status as ticket_status
      from meeting_events e left join people p on p.id = e.actor_id left join tickets t on t.id = (e.data ->> 'ticketId')::int
      where e.meeting_id = ${meetingId} order by e.at, e.id`,
  );
  return rows.map((r) => ({
    at: new Date(r.at as string),
    kind: String(r.kind),
    actor: (r.actor as string | null) ?? null,
    text: (r.text as string | null) ?? null,
    ticketId: r.ticket_id === null || r.ticket_id === undefined ? null : Number(r.ticket_id),
    ticketStatus: (r.ticket_status as string | null) ?? null,
  }));
}

export type GoodNeighborList = { month: string; villageId: string; villageName: string; entries: GoodNeighborEntry[] };

/**
 * 好邻 lists a viewer may see: their villages' (in scope) and, for a leader below a village, their own village's —
 * recognition is public within the village.
 */
export async function goodNeighborHistory(db: Db, scope: Scope): Promise<GoodNeighborList[]> {
  const villages = scope.rootId
    ? sql`${withRecursive(subtreeCte("down", scope.rootId), pathUpCte("up", scope.rootId))}, v(id) as (select unit_id from down union select id from up)`
    : sql`with v(id) as (select id from units)`;
  const rows = await queryRows<Raw>(
    db,
    sql`${villages}
      select g.month, g.village_id, u.name, g.entries from good_neighbor_lists g join v on v.id = g.village_id join units u on u.id = g.village_id
      order by g.month desc, g.village_id`,
  );
  return rows.map((r) => ({
    month: String(r.month),
    villageId: String(r.village_id),
    villageName: String(r.name),
    entries: json<GoodNeighborEntry[]>(r.entries) ?? [],
  }));
}
