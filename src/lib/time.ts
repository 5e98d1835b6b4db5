/**
 * Calendar and wall-clock helpers in the towns' time zone (Asia/Shanghai, UTC+8 without daylight saving): the one
 * place for local dates, days and ISO weeks (digests and visits build their periods on these).
 */
export const TZ = "Asia/Shanghai";
const OFFSET_MS = 8 * 3_600_000;
export const DAY_MS = 86_400_000;

/** Local calendar date parts of an instant (month 1–12, weekday 1 = Monday … 7 = Sunday). */
export function localParts(at: Date): { year: number; month: number; day: number; weekday: number } {
  const d = new Date(at.getTime() + OFFSET_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() || 7 };
}

/** The instant of local midnight starting year-month-day (month 1-based; overflow rolls over like Date.UTC). */
export function localDayStart(year: number, month: number, day: number): Date {
  return new Date(Date.UTC(year, month - 1, day) - OFFSET_MS);
}

/** Local days since the epoch: whole calendar days between two instants are a plain subtraction. */
export function localDayNumber(at: Date): number {
  return Math.floor((at.getTime() + OFFSET_MS) / DAY_MS);
}

/** "2025-W01": the ISO-8601 week (Monday first; week 1 holds the year's first Thursday) of the local date. */
export function isoWeekKey(at: Date): string {
  const { year, month, day, weekday } = localParts(at);
  const thursday = new Date(Date.UTC(year, month - 1, day + 4 - weekday));
  const weekYear = thursday.getUTCFullYear();
  const week = Math.ceil(((thursday.getTime() - Date.UTC(weekYear, 0, 1)) / DAY_MS + 1) / 7);
  return `${weekYear}-W${String(week).padStart(2, "0")}`;
}

const timeFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false });
const secondsFmt = new Intl.DateTimeFormat("zh-CN", {
  timeZone: TZ,
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});
const dateFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, month: "long", day: "numeric" });

/** Minutes since local midnight in Asia/Shanghai. */
export function localMinutes(at: Date): number {
  const ms = at.getTime() + OFFSET_MS;
  return Math.floor((((ms % 86_400_000) + 86_400_000) % 86_400_000) / 60_000);
}

/** The instant of local midnight (Asia/Shanghai) of the day containing `at`. */
export function localMidnight(at: Date): Date {
  const ms = at.getTime() + OFFSET_MS;
  return new Date(ms - (((ms % 86_400_000) + 86_400_000) % 86_400_000) - OFFSET_MS);
}

/** "今天 14:30", "明天 09:00" or "5月3日 09:00" relative to `now`; with seconds when it is minutes away (short demo clocks). */
export function formatWhenZh(at: Date, now: Date): string {
  const days = Math.round((localMidnight(at).getTime() - localMidnight(now).getTime()) / 86_400_000);
  const hm = (Math.abs(at.getTime() - now.getTime()) < 10 * 60_000 ? secondsFmt : timeFmt).format(at);
  if (days === 0) return `今天 ${hm}`;
  if (days === 1) return `明天 ${hm}`;
  if (days === -1) return `昨天 ${hm}`;
  return `${dateFmt.format(at)} ${hm}`;
}
