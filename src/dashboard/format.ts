/** How the dashboard reads its query strings and writes times (Asia/Shanghai), shared by its pages and exports. */
import { type TicketStatus, ticketStatuses, type UnitKind, unitKinds } from "../db/schema/index.js";
import { localDate } from "../workflows/digests/period.js";
import type { TicketFilter } from "./data.js";

const dateTime = new Intl.DateTimeFormat("sv-SE", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
});
/** "2026-03-05 14:30" in Asia/Shanghai; "" for none. */
export const fmt = (d: Date | null) => (d ? dateTime.format(d) : "");

/** "2026-03-05" → local midnight; anything else → undefined. */
export function parseDay(v: string | undefined): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v ?? "");
  return m ? localDate(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
}

/** "2026-03" → its first day; absent → undefined; anything else (9999-99, 2026-13) → null, answered with 400. */
export function parseMonth(v: string | undefined): Date | undefined | null {
  if (!v) return undefined;
  const m = /^(\d{4})-(\d{2})$/.exec(v);
  const [y, mo] = [Number(m?.[1]), Number(m?.[2])];
  return m && y >= 2000 && y <= 2100 && mo >= 1 && mo <= 12 ? localDate(y, mo, 1) : null;
}

/** The ticket filter of the 台账 page and its exports. */
export function parseFilter(q: Record<string, string>): TicketFilter {
  const to = parseDay(q.to);
  return {
    status: (ticketStatuses as readonly string[]).includes(q.status ?? "") ? (q.status as TicketStatus) : undefined,
    level: (unitKinds as readonly string[]).includes(q.level ?? "") ? (q.level as UnitKind) : undefined,
    unitId: q.unit && q.unit.length <= 100 ? q.unit : undefined,
    category: q.category && q.category.length <= 50 ? q.category : undefined,
    from: parseDay(q.from),
    to: to ? new Date(to.getTime() + 86_400_000) : undefined, // the "to" day is included
  };
}

/** The 台账's event names (the timeline and the export's 事件记录 sheet). */
export const EVENT_ZH: Record<string, string> = {
  opened: "报事",
  claimed: "认领",
  replied: "回复",
  resolved: "办结",
  rated: "评价满意",
  reopened: "不满意，重新打开",
  escalated: "上报",
  repinged: "再次提醒",
  photo: "照片",
  photo_failed: "照片未能保存",
  located: "位置",
  handed_over: "交接",
};
