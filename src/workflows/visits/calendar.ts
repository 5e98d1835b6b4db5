/**
 * Calendar periods in Asia/Shanghai (UTC+8, no daylight saving): months, quarters, years, local days and ISO
 * weeks. Every boundary is the instant of local midnight, so 2025-03-31T23:59+08:00 is still March / Q1.
 */
import { DAY_MS, isoWeekKey, localDayNumber, localDayStart, localParts } from "../../lib/time.js";

export { DAY_MS, isoWeekKey, localDayNumber, localDayStart };
/** Local calendar date parts (month 1–12, weekday 1 = Monday … 7 = Sunday). */
export const localDate = localParts;

export type Period = "month" | "quarter" | "year";

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
