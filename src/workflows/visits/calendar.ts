/**
 * Calendar periods in Asia/Shanghai (UTC+8, no daylight saving): months, quarters, years, local days and ISO
 * weeks. Every boundary is the instant of local midnight, so 2025-03-31T23:59+08:00 is still March / Q1.
 */
const OFFSET_MS = 8 * 3_600_000;
export const DAY_MS = 86_400_000;

export type Period = "month" | "quarter" | "year";

/** Local calendar date parts (month 1–12, weekday 1 = Monday … 7 = Sunday). */
export function localDate(at: Date): { year: number; month: number; day: number; weekday: number } {
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

const MONTHS: Record<Period, number> = { month: 1, quarter: 3, year: 12 };

/** Start of the period containing `at`. */
export function periodStart(at: Date, period: Period): Date {
  const { year, month } = localDate(at);
  const size = MONTHS[period];
  const first = Math.floor((month - 1) / size) * size + 1;
  return localDayStart(year, first, 1);
}

/** Start of the period `n` periods after the one containing `at` (n may be negative). */
export function periodStartShift(at: Date, period: Period, n: number): Date {
  const start = localDate(periodStart(at, period));
  return localDayStart(start.year, start.month + n * MONTHS[period], 1);
}

/** Days in the local month containing `at`. */
export function daysInMonth(at: Date): number {
  const { year, month } = localDate(at);
  return localDate(new Date(localDayStart(year, month + 1, 1).getTime() - 1)).day;
}

/** "2025-W01": the ISO-8601 week (Monday first; week 1 holds the year's first Thursday) of the local date. */
export function isoWeekKey(at: Date): string {
  const { year, month, day, weekday } = localDate(at);
  const thursday = new Date(Date.UTC(year, month - 1, day + 4 - weekday));
  const weekYear = thursday.getUTCFullYear();
  const week = Math.ceil(((thursday.getTime() - Date.UTC(weekYear, 0, 1)) / DAY_MS + 1) / 7);
  return `${weekYear}-W${String(week).padStart(2, "0")}`;
}

/** "2025-03". */
export function monthKey(at: Date): string {
  const { year, month } = localDate(at);
  return `${year}-${String(month).padStart(2, "0")}`;
}

/** "3月5日" in local time. */
export function shortDateZh(at: Date): string {
  const { month, day } = localDate(at);
  return `${month}月${day}日`;
}
