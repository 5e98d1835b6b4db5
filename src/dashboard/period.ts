/**
 * The periods the per-unit table (and its sheet in the export) can be read over, each with the instant its figures
 * are taken at. 近 7 天 is the window of 周报 on demand and 上期周报 that of the last weekly digest sent (its figures
 * taken at the digest's slot), so a leader can lay the table beside the digest in their group.
 */
import { DAY_MS } from "../lib/time.js";
import { monthlySlot, trailingWeek, type Window, weeklySlot, windowLabel } from "../workflows/digests/period.js";
import type { Policy } from "../workflows/policy.js";
import { parseDay } from "./format.js";

export const PERIODS = { "7d": "近 7 天", week: "上期周报", "30d": "近 30 天", month: "月报期", custom: "自选日期" } as const;
export type PeriodKey = keyof typeof PERIODS;

export type Period = { key: PeriodKey; window: Window; asOf: Date; label: string };

/**
 * `q.period` (7d, week, 30d, month), or `q.from`/`q.to` days (custom, both included), else `fallback`. Figures are
 * taken now, or at the period's end when it is over (for 上期周报: at the digest's slot, as the digest was).
 */
export function parsePeriod(q: Record<string, string | undefined>, now: Date, policy: Policy, fallback: PeriodKey = "7d"): Period {
  const asked = (q.period ?? "") in PERIODS ? (q.period as PeriodKey) : undefined;
  const from = parseDay(q.from);
  const toDay = parseDay(q.to);
  const key: PeriodKey = asked && asked !== "custom" ? asked : from || toDay ? "custom" : fallback;
  const until = (w: Window) => (w.to.getTime() < now.getTime() ? w.to : now);
  const make = (window: Window, asOf: Date) => ({ key, window, asOf, label: `${PERIODS[key]}（${windowLabel(window)}）` });
  switch (key) {
    case "week": {
      const { weekday, minutes } = policy.digest;
      let s = weeklySlot(now, weekday, minutes);
      if (s.slot.getTime() > now.getTime()) s = weeklySlot(new Date(now.getTime() - 7 * DAY_MS), weekday, minutes);
      return make(s.window, s.slot);
    }
    case "30d": {
      const to = trailingWeek(now).to;
      return make({ from: new Date(to.getTime() - 30 * DAY_MS), to }, now);
    }
    case "month": {
      const { window } = monthlySlot(now, policy.digest.monthDay, policy.digest.minutes);
      return make(window, until(window));
    }
    case "custom": {
      const start = from ?? new Date(Date.UTC(2000, 0, 1) - 8 * 3_600_000);
      const end = toDay ? new Date(toDay.getTime() + DAY_MS) : trailingWeek(now).to;
      const window = end.getTime() > start.getTime() ? { from: start, to: end } : { from: start, to: new Date(start.getTime() + DAY_MS) };
      return make(window, until(window));
    }
    default:
      return make(trailingWeek(now), now);
  }
}
