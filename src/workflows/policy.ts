/**
 * Town policy: the answer and resolution clocks, the escalation ladder and quiet hours. Set per town in the
 * directory file (units.settings of the town), with defaults; ANSWER_DEADLINE / RESOLVE_DEADLINE override the
 * clocks for a whole deployment (demos and checks use seconds).
 */
import { z } from "zod";
import type { UnitKind } from "../db/schema/index.js";
import { parseDuration } from "../lib/duration.js";
import { type CategoryRow, DEFAULT_CATEGORIES } from "./category.js";
import { localMidnight, localMinutes } from "../lib/time.js";

export type Policy = {
  answerMs: number;
  resolveMs: number;
  /** Resolution clock per category or urgency ("urgent"), overriding resolveMs. */
  resolveByCategory: Record<string, number>;
  /** Levels a ticket climbs, lowest first. */
  ladder: UnitKind[];
  /** At the top of the ladder an unanswered ticket re-pings this often. */
  repingMs: number;
  /** Local minutes since midnight; pings inside [start, end) wait for the end (unless urgent). */
  quietHours: { start: number; end: number } | null;
  /** Categories whose tickets are urgent whatever the text says. */
  urgentCategories: string[];
  /** Weekly digest: ISO weekday (1 = Monday … 7 = Sunday) and local minutes; monthly report: day of month. */
  digest: { weekday: number; minutes: number; monthDay: number };
  /**
   * The town's own sensitive words, masked in group messages on top of the default list (src/lib/privacy.ts):
   * `sensitiveTags` and the visit rules' `specialTags` (a tag that makes a household special is sensitive too).
   */
  sensitiveTags: readonly string[];
  /** The town's category table (settings.categories), else the default (src/workflows/category.ts). */
  categories: readonly CategoryRow[];
};

/** The category of a ticket a 恳谈会 / 分析会 decided (议定事项), and its default resolution clock (30 days). */
export const DECISION_CATEGORY = "议定事项";
export const DECISION_RESOLVE_MS = 30 * 86_400_000;

export type PolicyOverrides = { answerMs?: number; resolveMs?: number };

export const DEFAULT_LADDER: UnitKind[] = ["neighborhood", "group", "village", "town"];

const durationText = z.string().refine((v) => parseDuration(v) !== null, "not a duration such as 4h");
const clock = z.string().regex(/^([01]?\d|2[0-3]):[0-5]\d$/);

/**
 * A town's visit rules (常态化联系机制), under `settings.visits`; defaults in src/workflows/visits/rules.ts.
 * specialTags: household tags that make a household "special" when its careLevel is not given in the file.
 */
export const visitSettingsSchema = z
  .object({
    specialTags: z.array(z.string()).optional(),
    specialVisitEvery: z.enum(["month", "quarter"]).optional(),
    /** A contact this often (days) also keeps a special household covered; 0 turns the contact path off. */
    specialContactDays: z.number().int().min(0).max(31).optional(),
    normalVisitEvery: z.enum(["month", "quarter", "year"]).optional(),
    /** 集中走访日: the day of the month (clamped to the month's last day). */
    visitDay: z.number().int().min(1).max(31).optional(),
    /** Each 邻长 gets their due list this many days before the visit day. */
    visitReminderLeadDays: z.number().int().min(0).max(27).optional(),
    /** A special household without a contact for this many days triggers a private reminder. */
    contactReminderDays: z.number().int().min(1).max(31).optional(),
  })
  .strict();

/** The shape of a town's `settings` in the directory file. */
export const townSettingsSchema = z
  .object({
    answerDeadline: durationText.optional(),
    resolveDeadline: durationText.optional(),
    resolveDeadlineByCategory: z.record(z.string(), durationText).optional(),
    ladder: z.array(z.enum(["neighborhood", "group", "area", "village", "town"])).min(1).optional(),
    repingInterval: durationText.optional(),
    quietHours: z.union([z.literal(false), z.string().regex(/^\d{1,2}:\d{2}-\d{1,2}:\d{2}$/)]).optional(),
    urgentCategories: z.array(z.string()).optional(),
    visits: visitSettingsSchema.optional(),
    /** Weekly digest day (1 = Monday … 7 = Sunday; default 5, the 周五群众工作日) and time ("08:00"). */
    digestWeekday: z.number().int().min(1).max(7).optional(),
    digestTime: clock.optional(),
    /** Monthly 民情分析 report day (default 28, the 集中走访日; 1–28 so every month has it). */
    monthlyReportDay: z.number().int().min(1).max(28).optional(),
    /** Words this town also hides in group messages (e.g. 退役军人, 重点户), besides the default sensitive tags. */
    sensitiveTags: z.array(z.string().min(1)).optional(),
    /**
     * The town's category table, in order (the first row whose words appear wins); replaces the default. A word may
     * hold … for a short gap (电线…低). `urgentWords` make a report urgent by themselves.
     */
    categories: z
      .array(
        z
          .object({
            name: z.string().min(1),
            words: z.array(z.string().min(1)),
            urgentWords: z.array(z.string().min(1)).optional(),
          })
          .strict(),
      )
      .min(1)
      .optional(),
  })
  .loose();

const minutesOf = (hhmm: string) => {
  const [h, m] = clock.parse(hhmm).split(":").map(Number) as [number, number];
  return h * 60 + m;
};

const NO_OVERRIDES: PolicyOverrides = {};
/**
 * Policies by settings object and overrides. A town's settings come from the directory cache, so the same objects
 * recur on every message; the policy is read-only, so one copy serves them all (parsing it was a zod run per message).
 */
const policies = new WeakMap<object, WeakMap<PolicyOverrides, Policy>>();

export function policyFor(settings: unknown, overrides: PolicyOverrides = NO_OVERRIDES): Policy {
  if (typeof settings !== "object" || settings === null) return computePolicy(settings, overrides);
  const byOverrides = policies.get(settings) ?? new WeakMap<PolicyOverrides, Policy>();
  policies.set(settings, byOverrides);
  const policy = byOverrides.get(overrides) ?? computePolicy(settings, overrides);
  byOverrides.set(overrides, policy);
  return policy;
}

function computePolicy(settings: unknown, overrides: PolicyOverrides): Policy {
  const parsed = townSettingsSchema.safeParse(settings ?? {});
  const s = parsed.success ? parsed.data : {};
  const dur = (v: string | undefined, fallback: number) => (v ? (parseDuration(v) ?? fallback) : fallback);
  let quietHours: Policy["quietHours"] = { start: 22 * 60, end: 7 * 60 };
  if (s.quietHours === false) quietHours = null;
  else if (typeof s.quietHours === "string") {
    const [a, b] = s.quietHours.split("-") as [string, string];
    quietHours = { start: minutesOf(a), end: minutesOf(b) };
  }
  const ladder = s.ladder ?? DEFAULT_LADDER;
  return {
    answerMs: overrides.answerMs ?? dur(s.answerDeadline, 4 * 3_600_000),
    resolveMs: overrides.resolveMs ?? dur(s.resolveDeadline, 72 * 3_600_000),
    resolveByCategory: overrides.resolveMs
      ? {}
      : {
          // A meeting's decision without a date of its own has until about the next month's meeting.
          [DECISION_CATEGORY]: DECISION_RESOLVE_MS,
          ...Object.fromEntries(Object.entries(s.resolveDeadlineByCategory ?? {}).map(([k, v]) => [k, dur(v, 0)])),
        },
    ladder,
    repingMs: overrides.answerMs ?? dur(s.repingInterval, 4 * 3_600_000),
    quietHours,
    urgentCategories: s.urgentCategories ?? ["安全隐患"],
    digest: {
      weekday: s.digestWeekday ?? 5,
      minutes: s.digestTime ? minutesOf(s.digestTime) : 8 * 60,
      monthDay: s.monthlyReportDay ?? 28,
    },
    sensitiveTags: [...new Set([...(s.sensitiveTags ?? []), ...(s.visits?.specialTags ?? [])])],
    categories: s.categories ?? DEFAULT_CATEGORIES,
  };
}

export function resolveMsFor(policy: Policy, category: string, urgent: boolean): number {
  return (urgent ? policy.resolveByCategory.urgent : undefined) ?? policy.resolveByCategory[category] ?? policy.resolveMs;
}

/** When a non-urgent ping created at `at` may be delivered: `at` itself, or the end of quiet hours. */
export function deliverAfterQuietHours(policy: Policy, at: Date): Date {
  const q = policy.quietHours;
  if (!q) return at;
  const now = localMinutes(at);
  const inQuiet = q.start <= q.end ? now >= q.start && now < q.end : now >= q.start || now < q.end;
  if (!inQuiet) return at;
  const midnight = localMidnight(at).getTime();
  let end = midnight + q.end * 60_000;
  if (end <= at.getTime()) end += 86_400_000;
  return new Date(end);
}
