/**
 * The directory pages' queries, each limited to the viewer's scope (a unit's subtree; everything for the admin):
 * the 邻 with their 邻长 and household counts, people and households searched by name, one unit or person.
 */
import { type SQL, sql } from "drizzle-orm";
import { type Db, queryRows } from "../../db/client.js";
import { jsonValue as json } from "../../db/rows.js";
import type { Platform, Role, UnitKind } from "../../db/schema/index.js";
import { pathUpCte, withRecursive } from "../../db/unit-tree.js";
import { leaderRoleSql } from "../../workflows/directory.js";
import { NEIGHBORHOOD_HOUSEHOLDS } from "../../workflows/roles.js";
import { type Scope, scopeCte } from "../data.js";

type Named = { id: string; name: string };
/** A household as leaders know it, "户主（门牌）", from the alias `h`. */
const HOUSEHOLD_LABEL = "case when h.id is null then null when h.house_no is null then h.head_name else h.head_name || '（' || h.house_no || '）' end as household";
/** json_agg comes back as text from PGlite and as a value from postgres.js. */
/** A LIKE pattern matching `q` anywhere, its own % and _ taken literally. */
const like = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export type NeighborhoodRow = {
  id: string;
  name: string;
  groupName: string | null;
  villageName: string | null;
  households: number;
  leaders: Named[];
  /** Outside the 5–15 rule, or without a 邻长. */
  flag: "no_leader" | "few" | "many" | null;
};

export type NeighborhoodFilter = { q?: string; flagged?: boolean; limit: number; offset: number };

/** Every 邻 in scope with its 邻长 and household count, flagged against the 5–15 rule; paged, by village and 组. */
export async function neighborhoods(db: Db, scope: Scope, f: NeighborhoodFilter): Promise<{ rows: NeighborhoodRow[]; total: number; flagged: number }> {
  const { min, max } = NEIGHBORHOOD_HOUSEHOLDS;
  const match: SQL = f.q
    ? sql`and (x.name ilike ${like(f.q)} or x.group_name ilike ${like(f.q)} or x.village_name ilike ${like(f.q)} or x.id ilike ${like(f.q)}
        or exists (select 1 from people p where p.unit_id = x.id and p.role = 'neighbor_leader' and p.active and p.name ilike ${like(f.q)}))`
    : sql``;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${scopeCte(scope)},
      vt(village, unit_id) as (
        select id, id from units where kind = 'village'
        union all select w.village, u.id from units u join vt w on u.parent_id = w.unit_id
      ),
      x as (
        select n.id, n.name, g.name as group_name, vu.name as village_name, vu.id as village_id, g.id as group_id,
          (select count(*) from households h where h.unit_id = n.id)::int as households,
          (select coalesce(json_agg(json_build_object('id', p.id, 'name', p.name) order by p.id), '[]'::json)
             from people p where p.unit_id = n.id and p.role = 'neighbor_leader' and p.active) as leaders,
          (select count(*) from people p where p.unit_id = n.id and p.role = 'neighbor_leader' and p.active)::int as leader_count
        from units n join sub on sub.unit_id = n.id
          left join units g on g.id = n.parent_id
          left join vt on vt.unit_id = n.id left join units vu on vu.id = vt.village
        where n.kind = 'neighborhood'
      ),
      y as (
        select x.*, case when x.leader_count = 0 then 'no_leader' when x.households < ${min} then 'few' when x.households > ${max} then 'many' end as flag
        from x where true ${match}
      )
      select y.*, count(*) over () as total, count(*) filter (where y.flag is not null) over () as flagged_total
      from y ${f.flagged ? sql`where y.flag is not null` : sql``}
      order by y.village_id nulls last, y.group_id nulls last, y.id
      limit ${f.limit} offset ${f.offset}`,
  );
  return {
    total: Number(rows[0]?.total ?? 0),
    flagged: Number(rows[0]?.flagged_total ?? 0),
    rows: rows.map((r) => ({
      id: String(r.id),
      name: String(r.name),
      groupName: (r.group_name as string) ?? null,
      villageName: (r.village_name as string) ?? null,
      households: Number(r.households),
      leaders: json<Named[]>(r.leaders) ?? [],
      flag: (r.flag as NeighborhoodRow["flag"]) ?? null,
    })),
  };
}

/** How many 邻 in scope there are and how many are flagged (the page's headline, whatever the filter). */
export async function directoryCounts(db: Db, scope: Scope): Promise<{ units: number; people: number; inactive: number; households: number }> {
  const [r] = await queryRows<Record<string, unknown>>(
    db,
    sql`${scopeCte(scope)}
      select (select count(*) from sub join units u on u.id = sub.unit_id)::int as units,
        (select count(*) from people p join sub on sub.unit_id = p.unit_id where p.active)::int as people,
        (select count(*) from people p join sub on sub.unit_id = p.unit_id where not p.active)::int as inactive,
        (select count(*) from households h join sub on sub.unit_id = h.unit_id)::int as households`,
  );
  return { units: Number(r?.units ?? 0), people: Number(r?.people ?? 0), inactive: Number(r?.inactive ?? 0), households: Number(r?.households ?? 0) };
}

export type PersonRow = {
  id: string;
  name: string;
  role: Role;
  active: boolean;
  phone: string | null;
  unitId: string;
  unitName: string;
  household: string | null;
};

/** A person's row as the people pages show it: `p` joined to their unit `u` and household `h` (PERSON_JOINS). */
const PERSON_COLUMNS = sql.raw(`p.id, p.name, p.role, p.active, p.phone, p.unit_id, u.name as unit_name, ${HOUSEHOLD_LABEL}`);
const PERSON_JOINS = sql`join units u on u.id = p.unit_id left join households h on h.id = p.household_id`;

function toPersonRow(r: Record<string, unknown>): PersonRow {
  return {
    id: String(r.id),
    name: String(r.name),
    role: r.role as Role,
    active: Boolean(r.active),
    phone: (r.phone as string) ?? null,
    unitId: String(r.unit_id),
    unitName: String(r.unit_name),
    household: (r.household as string) ?? null,
  };
}

export type PeopleFilter = { q?: string; role?: Role; inactive?: boolean; limit: number; offset: number };

export async function searchPeople(db: Db, scope: Scope, f: PeopleFilter): Promise<{ rows: PersonRow[]; total: number }> {
  const where: SQL[] = [sql`p.active = ${!f.inactive}`];
  if (f.role) where.push(sql`p.role = ${f.role}`);
  if (f.q) where.push(sql`(p.name ilike ${like(f.q)} or p.id ilike ${like(f.q)} or p.phone like ${like(f.q)})`);
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${scopeCte(scope)}
      select ${PERSON_COLUMNS}, count(*) over () as total
      from people p join sub on sub.unit_id = p.unit_id ${PERSON_JOINS}
      where ${sql.join(where, sql` and `)}
      order by p.unit_id, p.id limit ${f.limit} offset ${f.offset}`,
  );
  return {
    total: Number(rows[0]?.total ?? 0),
    rows: rows.map(toPersonRow),
  };
}

export type HouseholdRow = {
  id: string;
  headName: string;
  houseNo: string | null;
  nickname: string | null;
  members: string[];
  tags: string[];
  careLevel: string;
  address: string | null;
  phone: string | null;
  unitId: string;
  unitName: string;
  leaders: Named[];
};

export async function searchHouseholds(
  db: Db,
  scope: Scope,
  f: { q?: string; unitId?: string; limit: number; offset: number },
): Promise<{ rows: HouseholdRow[]; total: number }> {
  const where: SQL[] = [sql`true`];
  if (f.unitId) where.push(sql`h.unit_id = ${f.unitId}`);
  if (f.q) {
    const q = like(f.q);
    where.push(sql`(h.head_name ilike ${q} or h.id ilike ${q} or h.house_no ilike ${q} or h.nickname ilike ${q}
      or h.members::text ilike ${q} or h.address ilike ${q} or h.phone like ${q})`);
  }
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${scopeCte(scope)}
      select h.id, h.head_name, h.house_no, h.nickname, h.members, h.tags, h.care_level, h.address, h.phone, h.unit_id, u.name as unit_name,
        (select coalesce(json_agg(json_build_object('id', p.id, 'name', p.name) order by p.id), '[]'::json)
           from people p where p.unit_id = h.unit_id and p.role = 'neighbor_leader' and p.active) as leaders,
        count(*) over () as total
      from households h join sub on sub.unit_id = h.unit_id join units u on u.id = h.unit_id
      where ${sql.join(where, sql` and `)}
      order by h.unit_id, h.head_name, h.id limit ${f.limit} offset ${f.offset}`,
  );
  return {
    total: Number(rows[0]?.total ?? 0),
    rows: rows.map((r) => ({
      id: String(r.id),
      headName: String(r.head_name),
      houseNo: (r.house_no as string) ?? null,
      nickname: (r.nickname as string) ?? null,
      members: json<string[]>(r.members) ?? [],
      tags: Array.isArray(r.tags) ? (r.tags as string[]) : parseTextArray(r.tags),
      careLevel: String(r.care_level),
      address: (r.address as string) ?? null,
      phone: (r.phone as string) ?? null,
      unitId: String(r.unit_id),
      unitName: String(r.unit_name),
      leaders: json<Named[]>(r.leaders) ?? [],
    })),
  };
}

/** A text[] as text (`{a,b}`), as a raw query may return it. */
function parseTextArray(v: unknown): string[] {
  if (typeof v !== "string" || v === "{}") return [];
  return v
    .slice(1, -1)
    .split(",")
    .map((s) => s.replace(/^"|"$/g, ""));
}

export type UnitView = {
  id: string;
  name: string;
  kind: UnitKind;
  /** From the unit up to the town. */
  path: Named[];
  leaders: Named[];
  children: { id: string; name: string; kind: UnitKind; households: number; leaders: Named[] }[];
  chats: { id: string; name: string; platform: Platform; status: string }[];
};

/** One unit in scope (null when it is not, or does not exist): its path, leaders, children and groups. */
export async function unitView(db: Db, scope: Scope, unitId: string): Promise<UnitView | null> {
  const path = await queryRows<{ id: string; name: string; kind: UnitKind }>(
    db,
    sql`${withRecursive(pathUpCte("up", unitId))} select id, name, kind from up order by depth`,
  );
  const unit = path[0];
  if (!unit || (scope.rootId !== null && !path.some((u) => u.id === scope.rootId))) return null;
  const [leaders, children, chats] = await Promise.all([
    queryRows<Named>(
      db,
      sql`select p.id, p.name from people p where p.unit_id = ${unit.id} and p.active and p.role = ${leaderRoleSql(sql`${unit.kind}::text`)} order by p.id`,
    ),
    queryRows<Record<string, unknown>>(
      db,
      sql`${withRecursive(sql`d(root, unit_id) as (select id, id from units where parent_id = ${unit.id}
            union all select w.root, u.id from units u join d w on u.parent_id = w.unit_id)`)}
        select c.id, c.name, c.kind,
          (select count(*) from d join households h on h.unit_id = d.unit_id where d.root = c.id)::int as households,
          (select coalesce(json_agg(json_build_object('id', p.id, 'name', p.name) order by p.id), '[]'::json)
             from people p where p.unit_id = c.id and p.active and p.role = ${leaderRoleSql(sql`c.kind`)}) as leaders
        from units c where c.parent_id = ${unit.id} order by c.id`,
    ),
    queryRows<{ id: string; name: string; platform: Platform; status: string }>(
      db,
      sql`select id, name, platform, status from chats where unit_id = ${unit.id} order by id`,
    ),
  ]);
  return {
    id: unit.id,
    name: unit.name,
    kind: unit.kind,
    path,
    leaders,
    children: children.map((c) => ({
      id: String(c.id),
      name: String(c.name),
      kind: c.kind as UnitKind,
      households: Number(c.households),
      leaders: json<Named[]>(c.leaders) ?? [],
    })),
    chats,
  };
}

export type PersonView = PersonRow & {
  identities: { platform: Platform; externalId: string; kind: string }[];
  openTickets: number[];
};

/** One person in scope (null when not), with their accounts and the unfinished tickets assigned to them. */
export async function personView(db: Db, scope: Scope, id: string): Promise<PersonView | null> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${scopeCte(scope)}
      select ${PERSON_COLUMNS},
        (select coalesce(json_agg(json_build_object('platform', i.platform, 'externalId', i.external_id, 'kind', i.kind) order by i.platform, i.external_id), '[]'::json)
           from identities i where i.person_id = p.id) as identities,
        (select coalesce(json_agg(t.id order by t.id), '[]'::json) from tickets t where t.assignee_id = p.id and t.status <> 'closed') as open_tickets
      from people p join sub on sub.unit_id = p.unit_id ${PERSON_JOINS}
      where p.id = ${id}`,
  );
  const r = rows[0];
  if (!r) return null;
  return {
    ...toPersonRow(r),
    identities: json<PersonView["identities"]>(r.identities) ?? [],
    openTickets: (json<(number | string)[]>(r.open_tickets) ?? []).map(Number),
  };
}

/** Residents who could be appointed to lead this unit: active residents of the unit's parent's subtree (its 组 for a 邻). */
export async function candidates(db: Db, unitId: string, limit = 300): Promise<(Named & { unitName: string; household: string | null })[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`${withRecursive(sql`d(unit_id) as (select coalesce((select parent_id from units where id = ${unitId}), ${unitId})
          union all select u.id from units u join d on u.parent_id = d.unit_id)`)}
      select p.id, p.name, u.name as unit_name, ${sql.raw(HOUSEHOLD_LABEL)}
      from people p join d on d.unit_id = p.unit_id ${PERSON_JOINS}
      where p.role = 'resident' and p.active
      order by (p.unit_id = ${unitId}) desc, p.unit_id, p.name, p.id limit ${limit}`,
  );
  return rows.map((r) => ({ id: String(r.id), name: String(r.name), unitName: String(r.unit_name), household: (r.household as string) ?? null }));
}

export type PendingChatRow = {
  platform: Platform;
  externalId: string;
  title: string | null;
  firstSender: string;
  /** The first sender's name when the directory knows them. */
  firstSenderName: string | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
  messages: number;
};

/** 待绑定 groups, the most recently heard first, with their first sender's name where the directory has it. */
export async function pendingChatRows(db: Db, limit = 200): Promise<PendingChatRow[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`select c.platform, c.external_id, c.title, c.first_sender_external_id, c.first_seen_at, c.last_seen_at, c.messages,
        coalesce(
          (select p.name from identities i join people p on p.id = i.person_id
            where i.platform = c.platform and i.external_id = case when c.platform = 'wecom' then lower(c.first_sender_external_id) else c.first_sender_external_id end limit 1),
          (select p.name from people p where c.platform = 'sim' and p.id = c.first_sender_external_id)
        ) as sender_name
      from pending_chats c order by c.last_seen_at desc limit ${limit}`,
  );
  return rows.map((r) => ({
    platform: r.platform as Platform,
    externalId: String(r.external_id),
    title: (r.title as string) ?? null,
    firstSender: String(r.first_sender_external_id),
    firstSenderName: (r.sender_name as string) ?? null,
    firstSeenAt: new Date(r.first_seen_at as string),
    lastSeenAt: new Date(r.last_seen_at as string),
    messages: Number(r.messages),
  }));
}

export type BoundChatRow = { id: string; platform: Platform; externalId: string; name: string; unitId: string; unitName: string; status: string; webhookUrl: string | null };

export async function boundChatRows(db: Db): Promise<BoundChatRow[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`select c.id, c.platform, c.external_id, c.name, c.unit_id, u.name as unit_name, c.status, c.webhook_url
      from chats c join units u on u.id = c.unit_id order by c.status desc, c.unit_id, c.id`,
  );
  return rows.map((r) => ({
    id: String(r.id),
    platform: r.platform as Platform,
    externalId: String(r.external_id),
    name: String(r.name),
    unitId: String(r.unit_id),
    unitName: String(r.unit_name),
    status: String(r.status),
    webhookUrl: (r.webhook_url as string) ?? null,
  }));
}
