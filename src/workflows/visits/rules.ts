/**
 * Care plans (常态化联系机制) and who is due. Pure functions of a household's visit history and the clock, so the
 * period boundaries can be tested exhaustively.
 *
 * - special household (households.careLevel = "special"): covered while it had a home visit in the current
 *   calendar month, or any visit or contact within the last 7 days (see `contactDueAt`);
 * - normal household: covered while it had a home visit in the current calendar quarter;
 * - not covered → "due"; "overdue" when the previous period also ended without the required visit (a household
 *   never visited counts as having missed it).
 * Periods are Asia/Shanghai calendar months / quarters. Which tags make a household special, the periods, the
 * contact interval, the 集中走访日 and the reminder lead times are per town (`settings.visits`).
 */
import { type visitSettingsSchema, townSettingsSchema } from "../policy.js";
import type { z } from "zod";
import { DAY_MS, localDayNumber, localDayStart, localDate, type Period, periodStart, periodStartShift } from "./calendar.js";

export type CarePlan = "special" | "normal";

export type VisitRules = {
  specialTags: string[];
  specialVisitEvery: Period;
  /** 0: no contact path. */
  specialContactDays: number;
  normalVisitEvery: Period;
  visitDay: number;
  visitReminderLeadDays: number;
  contactReminderDays: number;
};

/** The tags that make a household special by default (the import uses the town's list when it has one). */
export const DEFAULT_SPECIAL_TAGS = ["留守儿童", "孤寡老人", "独居老人", "残疾", "低保"];

export const DEFAULT_VISIT_RULES: VisitRules = {
  specialTags: DEFAULT_SPECIAL_TAGS,
  specialVisitEvery: "month",
  specialContactDays: 7,
  normalVisitEvery: "quarter",
  visitDay: 28,
  visitReminderLeadDays: 3,
  contactReminderDays: 6,
};

type VisitSettings = z.output<typeof visitSettingsSchema>;

/** A town's visit rules from its settings (invalid or missing keys fall back to the defaults). */
export function visitRulesFor(settings: unknown): VisitRules {
  const parsed = townSettingsSchema.safeParse(settings ?? {});
  const v: VisitSettings = (parsed.success ? parsed.data.visits : undefined) ?? {};
  const d = DEFAULT_VISIT_RULES;
  return {
    specialTags: v.specialTags ?? d.specialTags,
    specialVisitEvery: v.specialVisitEvery ?? d.specialVisitEvery,
    specialContactDays: v.specialContactDays ?? d.specialContactDays,
    normalVisitEvery: v.normalVisitEvery ?? d.normalVisitEvery,
    visitDay: v.visitDay ?? d.visitDay,
    visitReminderLeadDays: v.visitReminderLeadDays ?? d.visitReminderLeadDays,
    contactReminderDays: v.contactReminderDays ?? d.contactReminderDays,
  };
}

/** The plan a household's tags imply when the directory does not say (careLevel). */
export function planFromTags(tags: readonly string[], specialTags: readonly string[] = DEFAULT_SPECIAL_TAGS): CarePlan {
  return tags.some((t) => specialTags.includes(t)) ? "special" : "normal";
}

export const visitPeriodOf = (plan: CarePlan, rules: VisitRules): Period =>
  plan === "special" ? rules.specialVisitEvery : rules.normalVisitEvery;

/** A household's history as of `now`: latest home visit, latest contact, latest home visit before the current period. */
export type History = {
  lastVisitAt: Date | null;
  lastContactAt: Date | null;
  /** The latest home visit before the start of the household's current visit period. */
  lastVisitBeforePeriodAt: Date | null;
};

export type CareStatus = {
  plan: CarePlan;
  status: "covered" | "due" | "overdue";
  /** Latest visit or contact. */
  lastTouchAt: Date | null;
  /** End (exclusive) of the current visit period: the visit is due before this. */
  visitDueBy: Date;
  /** Special only, with the contact path on: the next contact is due before this (null: never contacted). */
  contactDueBy: Date | null;
  visitedThisPeriod: boolean;
};

const latest = (a: Date | null, b: Date | null) => (a && b ? (a > b ? a : b) : (a ?? b));

/**
 * The next contact is due by the end of the `days`-th local day after the last one: contacted on a Monday
 * (any hour), covered through the following Monday.
 */
export function contactDueAt(lastTouch: Date, days: number): Date {
  const { year, month, day } = localDate(lastTouch);
  return localDayStart(year, month, day + days + 1);
}

/** Whole local calendar days since the last touch (0 = today). */
export const daysSince = (at: Date, now: Date) => localDayNumber(now) - localDayNumber(at);

/**
 * The instants a plan's history is held against as of `now` — one definition for `careStatus` (one household) and the
 * set-based count of many (coverage.ts), so the two cannot judge a household differently:
 * - `start` / `prevStart` / `visitDueBy`: the current visit period's start, the previous one's, the next one's;
 * - `contactSince`: the earliest last touch (visit or contact) that still covers a special household by contact — the
 *   local midnight `specialContactDays` days before today's (`contactDueAt(lastTouch) > now` exactly when
 *   `lastTouch >= contactSince`); null without the contact path (normal households, or contact days 0).
 */
export type PlanBounds = { start: Date; prevStart: Date; visitDueBy: Date; contactSince: Date | null };

export function planBounds(plan: CarePlan, rules: VisitRules, now: Date): PlanBounds {
  const period = visitPeriodOf(plan, rules);
  const { year, month, day } = localDate(now);
  return {
    start: periodStart(now, period),
    prevStart: periodStartShift(now, period, -1),
    visitDueBy: periodStartShift(now, period, 1),
    contactSince: plan === "special" && rules.specialContactDays > 0 ? localDayStart(year, month, day - rules.specialContactDays) : null,
  };
}

export function careStatus(plan: CarePlan, h: History, rules: VisitRules, now: Date): CareStatus {
  const b = planBounds(plan, rules, now);
  const visitedThisPeriod = Boolean(h.lastVisitAt && h.lastVisitAt >= b.start);
  const visitedLastPeriod = Boolean(h.lastVisitBeforePeriodAt && h.lastVisitBeforePeriodAt >= b.prevStart);
  const lastTouchAt = latest(h.lastVisitAt, h.lastContactAt);
  const contactDueBy = b.contactSince && lastTouchAt ? contactDueAt(lastTouchAt, rules.specialContactDays) : null;
  const contactOk = Boolean(b.contactSince && lastTouchAt && lastTouchAt >= b.contactSince);
  const covered = visitedThisPeriod || contactOk;
  return {
    plan,
    status: covered ? "covered" : visitedLastPeriod ? "due" : "overdue",
    lastTouchAt,
    visitDueBy: b.visitDueBy,
    contactDueBy,
    visitedThisPeriod,
  };
}

/** This month's 集中走访日 (local midnight), clamped to the month's last day. */
export function visitDayOf(now: Date, rules: VisitRules): Date {
  const { year, month } = localDate(now);
  const last = localDate(new Date(localDayStart(year, month + 1, 1).getTime() - DAY_MS)).day;
  return localDayStart(year, month, Math.min(rules.visitDay, last));
}

/** True from `visitReminderLeadDays` days before this month's 集中走访日 through the day itself. */
export function inVisitDayLead(now: Date, rules: VisitRules): boolean {
  const until = localDayNumber(visitDayOf(now, rules)) - localDayNumber(now);
  return until >= 0 && until <= rules.visitReminderLeadDays;
}

/** A History from a list of visits and contacts (the pure twin of the SQL in scope.ts; used by tests and tools). */
export function historyOf(
  entries: readonly { kind: "visit" | "contact"; at: Date }[],
  plan: CarePlan,
  rules: VisitRules,
  now: Date,
): History {
  const start = periodStart(now, visitPeriodOf(plan, rules));
  const past = entries.filter((e) => e.at <= now);
  const max = (list: Date[]) => list.reduce<Date | null>((m, d) => latest(m, d), null);
  const visitsAt = past.filter((e) => e.kind === "visit").map((e) => e.at);
  return {
    lastVisitAt: max(visitsAt),
    lastContactAt: max(past.filter((e) => e.kind === "contact").map((e) => e.at)),
    lastVisitBeforePeriodAt: max(visitsAt.filter((d) => d < start)),
  };
}
