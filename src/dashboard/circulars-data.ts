/**
 * The dashboard's notice queries. A viewer sees the notices sent in their subtree and the ones sent from above that
 * reached it; the 传达率 they see is their own subtree's part (the admin sees every notice whole).
 */
import { and, eq, type SQL } from "drizzle-orm";
import { type Db, queryRows, sql } from "../db/client.js";
import { media, ticketMedia } from "../db/schema/index.js";
import { everyUnitCte, pathUpCte, subtreeCte, withRecursive } from "../db/unit-tree.js";
import type { Scope } from "./data.js";

/** `sub(unit_id)` (the viewer's subtree) and `up(id, …)` (the viewer's unit and its ancestors; empty for the admin). */
function reachCte(scope: Scope): SQL {
  return scope.rootId
    ? withRecursive(subtreeCte("sub", scope.rootId), pathUpCte("up", scope.rootId))
    : withRecursive(everyUnitCte("sub"), sql`up(id) as (select null::text where false)`);
}

export type CircularRow = {
  id: number;
  created_at: Date;
  title: string;
  body: string;
  sender: string;
  unit_id: string;
  unit_name: string;
  groups: number;
  photos: number;
  remind_at: Date;
  /** Of the viewer's subtree: how many are asked to pass it on, and how many have confirmed. */
  total: number;
  confirmed: number;
};

const toRow = (r: Record<string, unknown>): CircularRow => ({
  id: Number(r.id),
  created_at: new Date(r.created_at as string),
  title: String(r.title),
  body: String(r.body ?? ""),
  sender: String(r.sender),
  unit_id: String(r.unit_id),
  unit_name: String(r.unit_name),
  groups: Number(r.groups),
  photos: Number(r.photos),
  remind_at: new Date(r.remind_at as string),
  total: Number(r.total ?? 0),
  confirmed: Number(r.confirmed ?? 0),
});

function circularsSql(scope: Scope, where: SQL, limit: number): SQL {
  return sql`${reachCte(scope)}
    select c.id, c.created_at, c.title, c.body, p.name as sender, c.unit_id, u.name as unit_name, c.groups, c.photos, c.remind_at,
      (select count(*) from circular_recipients r where r.circular_id = c.id and r.unit_id in (select unit_id from sub)) as total,
      (select count(*) from circular_recipients r where r.circular_id = c.id and r.unit_id in (select unit_id from sub)
        and r.confirmed_at is not null) as confirmed
    from circulars c join people p on p.id = c.sender_id join units u on u.id = c.unit_id
    where (c.unit_id in (select unit_id from sub) or c.unit_id in (select id from up)) and ${where}
    order by c.id desc
    limit ${limit}`;
}

/** The notices a viewer may see, newest first. */
export async function circularsInScope(db: Db, scope: Scope, limit: number): Promise<CircularRow[]> {
  return (await queryRows<Record<string, unknown>>(db, circularsSql(scope, sql`true`, limit))).map(toRow);
}

/** One notice, if the viewer may see it. */
export async function circularInScope(db: Db, scope: Scope, id: number): Promise<CircularRow | null> {
  if (!Number.isSafeInteger(id) || id <= 0 || id > 2 ** 31 - 1) return null;
  const [row] = await queryRows<Record<string, unknown>>(db, circularsSql(scope, sql`c.id = ${id}`, 1));
  return row ? toRow(row) : null;
}

/** The units of the viewer's subtree (every unit for the admin). */
export async function unitsInScope(db: Db, scope: Scope): Promise<Set<string>> {
  const rows = await queryRows<{ unit_id: string }>(db, sql`${reachCte(scope)} select unit_id from sub`);
  return new Set(rows.map((r) => r.unit_id));
}

export type CircularEventRow = { at: Date; kind: string; actor: string | null; person: string | null };

/** A notice's 台账: sent, confirmations, reminders (with whom each reminder went to). */
export async function circularTimeline(db: Db, id: number): Promise<CircularEventRow[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`select e.at, e.kind, a.name as actor, p.name as person
      from circular_events e left join people a on a.id = e.actor_id left join people p on p.id = e.data ->> 'personId'
      where e.circular_id = ${id}
      order by e.at, e.id`,
  );
  return rows.map((r) => ({
    at: new Date(r.at as string),
    kind: String(r.kind),
    actor: r.actor === null || r.actor === undefined ? null : String(r.actor),
    person: r.person === null || r.person === undefined ? null : String(r.person),
  }));
}

/** A notice's photos as kept (stored ones only): their ticket_media ids, for the thumbnails. */
export async function circularPhotoIds(db: Db, id: number): Promise<number[]> {
  const rows = await queryRows<{ id: string | number }>(
    db,
    sql`select id from ticket_media where circular_id = ${id} and status = 'stored' order by id`,
  );
  return rows.map((r) => Number(r.id));
}

/** One photo of a notice (the kept image, or its thumbnail). */
export async function circularPhoto(db: Db, circularId: number, id: number, thumb: boolean): Promise<{ mime: string; data: Buffer } | null> {
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  const [r] = await db
    .select({ mime: media.mime, data: media.data, thumb: media.thumb })
    .from(ticketMedia)
    .innerJoin(media, eq(media.sha256, ticketMedia.sha256))
    .where(and(eq(ticketMedia.id, id), eq(ticketMedia.circularId, circularId), eq(ticketMedia.status, "stored")));
  if (!r) return null;
  return thumb ? { mime: "image/jpeg", data: r.thumb } : { mime: r.mime, data: r.data };
}
