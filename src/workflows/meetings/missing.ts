/**
 * The monthly 恳谈会 rule: a 组 with no 民情恳谈会 in a calendar month (held or scheduled; a cancelled one does not count)
 * is named to its 组长 privately on the 25th, and the monthly report counts and lists those groups. One query serves
 * both, so the reminder and the report never disagree.
 */
import { type Db, queryRows, sql } from "../../db/client.js";
import { subtreeCte, withRecursive } from "../../db/unit-tree.js";
import { localDayStart, localParts } from "../../lib/time.js";
import type { Ctx } from "../context.js";
import { monthOf, type Window } from "../digests/period.js";
import { queueMessage } from "../outbox.js";

/** The day of the month (local) from which the 组长 of a group without a 恳谈会 is reminded, and the hour. */
export const MISSING_TALK_DAY = 25;
const MISSING_TALK_HOUR = 9;

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export type MeetingCounts = {
  /** 组 in the subtree, and those with a 恳谈会 (held or scheduled) in the month. */
  groups: number;
  talks: number;
  /** 民情分析会 of the subtree's villages in the month. */
  analyses: number;
  missing: { unitId: string; name: string }[];
};

/** The meeting figures of `root`'s subtree for a month window (the calendar month). */
export async function meetingCounts(db: Db, root: string, month: Window): Promise<MeetingCounts> {
  const inMonth = sql`m.status <> 'cancelled' and m.starts_at >= ${ts(month.from)} and m.starts_at < ${ts(month.to)}`;
  const rows = await queryRows<{ id: string; name: string; talks: string | number }>(
    db,
    sql`${withRecursive(subtreeCte("sub", root))}
      select u.id, u.name, (select count(*) from meetings m where m.unit_id = u.id and m.kind = 'talk' and ${inMonth}) as talks
      from units u join sub on sub.unit_id = u.id
      where u.kind = 'group'
      order by u.id`,
  );
  const [analysis] = await queryRows<{ n: string | number }>(
    db,
    sql`${withRecursive(subtreeCte("sub", root))}
      select count(*) as n from meetings m join sub on sub.unit_id = m.unit_id where m.kind = 'analysis' and ${inMonth}`,
  );
  return {
    groups: rows.length,
    talks: rows.reduce((a, r) => a + Number(r.talks), 0),
    analyses: Number(analysis?.n ?? 0),
    missing: rows.filter((r) => Number(r.talks) === 0).map((r) => ({ unitId: r.id, name: r.name })),
  };
}

export const missingTalkKey = (personId: string, month: string) => `talk-missing-${personId}-${month}`;

/**
 * From the 25th 09:00 to the month's end: each 组长 of a group with no 恳谈会 this month gets one private reminder
 * (dedupe key per person and month: idempotent on every tick, every replica).
 */
export async function remindMissingTalks(ctx: Ctx): Promise<{ groups: number; queued: number }> {
  const p = localParts(ctx.now);
  const from = new Date(localDayStart(p.year, p.month, MISSING_TALK_DAY).getTime() + MISSING_TALK_HOUR * 3_600_000);
  if (ctx.now.getTime() < from.getTime()) return { groups: 0, queued: 0 };
  const month = monthOf(ctx.now);
  const towns = await queryRows<{ id: string }>(ctx.db, sql`select id from units where kind = 'town' order by id`);
  let groups = 0;
  let queued = 0;
  for (const town of towns) {
    const { missing } = await meetingCounts(ctx.db, town.id, month.window);
    if (missing.length === 0) continue;
    const leaders = await queryRows<{ id: string; unit_id: string }>(
      ctx.db,
      sql`select id, unit_id from people where role = 'group_leader' and active and unit_id in (${sql.join(
        missing.map((g) => sql`${g.unitId}`),
        sql`, `,
      )}) order by id`,
    );
    groups += missing.length;
    for (const l of leaders) {
      const group = missing.find((g) => g.unitId === l.unit_id);
      if (!group) continue;
      const ok = await queueMessage(ctx, {
        dedupeKey: missingTalkKey(l.id, month.key),
        to: { personId: l.id },
        kind: "reminder",
        payload: {
          text: `📅 本月（${p.month}月）${group.name}还没有开民情恳谈会。请在组群里发「恳谈会 日期 时间 地点」安排，例如：恳谈会 明天 19:00 村部会议室。`,
          mentions: [],
        },
      });
      if (ok) queued += 1;
    }
  }
  return { groups, queued };
}
