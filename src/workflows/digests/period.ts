/**
 * Calendar arithmetic for digests in Asia/Shanghai (UTC+8, no daylight saving): ISO weeks, the weekly digest's
 * slot and reporting window, and months. Pure functions of an instant, so tests pin them with fixed clocks.
 */
import { DAY_MS, isoWeekKey, localDayStart, localParts } from "../../lib/time.js";

/** Local calendar fields of an instant in Asia/Shanghai. */
function local(at: Date) {
  const p = localParts(at);
  return { y: p.year, m: p.month, d: p.day, isoDay: p.weekday };
}

/** The instant of local midnight of a local calendar date (month 1–12; overflowing days roll over). */
export const localDate = localDayStart;

/** ISO week of an instant as seen in Asia/Shanghai: "2026-W09" and its Monday 00:00 local. */
export function isoWeek(at: Date): { key: string; year: number; week: number; start: Date } {
  const l = local(at);
  const key = isoWeekKey(at);
  return { key, year: Number(key.slice(0, 4)), week: Number(key.slice(6)), start: localDate(l.y, l.m, l.d - (l.isoDay - 1)) };
}

export type Window = { from: Date; to: Date };

/**
 * The weekly digest of the ISO week containing `at`: its slot (the configured weekday and time, e.g. Friday
 * 08:00) and its reporting window, the 7 full days before the slot's day (Friday 00:00 a week earlier up to
 * Friday 00:00). Figures are therefore the same whenever that week's digest is made or re-made.
 */
export function weeklySlot(at: Date, weekday: number, minutes: number): { week: string; slot: Date; window: Window } {
  const w = isoWeek(at);
  const day = new Date(w.start.getTime() + (weekday - 1) * DAY_MS);
  return {
    week: w.key,
    slot: new Date(day.getTime() + minutes * 60_000),
    window: { from: new Date(day.getTime() - 7 * DAY_MS), to: day },
  };
}

/**
 * 周报 on demand, "近 7 天": the 7 local days ending with today, today included (up to its end, so a report made a
 * moment ago counts). Tickets and visits are both counted over this one window, and the digest names its dates.
 */
export function trailingWeek(at: Date): Window {
  const l = local(at);
  const to = localDate(l.y, l.m, l.d + 1);
  return { from: new Date(to.getTime() - 7 * DAY_MS), to };
}

/** The local calendar month containing `at` ("2026-03") and the month before it. */
export function monthOf(at: Date): { key: string; window: Window; previous: Window } {
  const l = local(at);
  const from = localDate(l.y, l.m, 1);
  const to = localDate(l.y, l.m + 1, 1);
  return {
    key: `${l.y}-${String(l.m).padStart(2, "0")}`,
    window: { from, to },
    previous: { from: localDate(l.y, l.m - 1, 1), to: from },
  };
}

/**
 * The monthly report of the month containing `at`: sent on `day` at `minutes` (the 28th, 集中走访日). It covers
 * the month between two report days (the 28th of last month up to this 28th, midnight to midnight) and compares
 * with the month before that (the trend).
 */
export function monthlySlot(at: Date, day: number, minutes: number): { month: string; slot: Date; window: Window; previous: Window } {
  const l = local(at);
  const reportDay = localDate(l.y, l.m, day);
  const lastReportDay = localDate(l.y, l.m - 1, day);
  return {
    month: `${l.y}-${String(l.m).padStart(2, "0")}`,
    slot: new Date(reportDay.getTime() + minutes * 60_000),
    window: { from: lastReportDay, to: reportDay },
    previous: { from: localDate(l.y, l.m - 2, day), to: lastReportDay },
  };
}

/** "3月6日" for a window's first day and "3月12日" for its last day (inclusive). */
export function windowLabel(w: Window): string {
  const a = local(w.from);
  const b = local(new Date(w.to.getTime() - 1));
  return `${a.m}月${a.d}日—${b.m}月${b.d}日`;
}
