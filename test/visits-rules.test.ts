/** Care plans and due dates at calendar boundaries in Asia/Shanghai (pure functions, no database). */
import { describe, expect, it } from "vitest";
import {
  daysInMonth,
  isoWeekKey,
  localDate,
  monthKey,
  periodStart,
  periodStartShift,
} from "../src/workflows/visits/calendar.js";
import {
  type CarePlan,
  careStatus,
  contactDueAt,
  DEFAULT_VISIT_RULES as RULES,
  historyOf,
  inVisitDayLead,
  planFromTags,
  visitDayOf,
  visitRulesFor,
} from "../src/workflows/visits/rules.js";

/** Local Asia/Shanghai time, written as people read it. */
const sh = (local: string) => new Date(`${local}+08:00`);
const iso = (d: Date) => d.toISOString();

type Entry = { kind: "visit" | "contact"; at: Date };
const visit = (local: string): Entry => ({ kind: "visit", at: sh(local) });
const contact = (local: string): Entry => ({ kind: "contact", at: sh(local) });
const status = (plan: CarePlan, entries: Entry[], nowLocal: string, rules = RULES) => {
  const now = sh(nowLocal);
  return careStatus(plan, historyOf(entries, plan, rules, now), rules, now).status;
};

describe("calendar periods in Asia/Shanghai", () => {
  it("month starts at local midnight, not UTC midnight", () => {
    expect(iso(periodStart(sh("2025-03-31T23:59:59"), "month"))).toBe(iso(sh("2025-03-01T00:00:00")));
    expect(iso(periodStart(sh("2025-04-01T00:00:00"), "month"))).toBe(iso(sh("2025-04-01T00:00:00")));
    // 2025-03-31T16:00Z is already April 1st in Shanghai.
    expect(localDate(new Date("2025-03-31T16:00:00Z"))).toMatchObject({ year: 2025, month: 4, day: 1 });
    expect(iso(periodStart(new Date("2025-03-31T15:59:59Z"), "month"))).toBe(iso(sh("2025-03-01T00:00:00")));
  });

  it("quarters and years", () => {
    expect(iso(periodStart(sh("2025-06-30T23:59:59"), "quarter"))).toBe(iso(sh("2025-04-01T00:00:00")));
    expect(iso(periodStart(sh("2025-07-01T00:00:00"), "quarter"))).toBe(iso(sh("2025-07-01T00:00:00")));
    expect(iso(periodStart(sh("2025-12-31T23:59:59"), "quarter"))).toBe(iso(sh("2025-10-01T00:00:00")));
    expect(iso(periodStart(sh("2026-01-01T00:00:00"), "quarter"))).toBe(iso(sh("2026-01-01T00:00:00")));
    expect(iso(periodStart(sh("2025-08-15T12:00:00"), "year"))).toBe(iso(sh("2025-01-01T00:00:00")));
    // Shifts cross year ends both ways.
    expect(iso(periodStartShift(sh("2026-01-15T00:00:00"), "quarter", -1))).toBe(iso(sh("2025-10-01T00:00:00")));
    expect(iso(periodStartShift(sh("2025-11-15T00:00:00"), "quarter", 1))).toBe(iso(sh("2026-01-01T00:00:00")));
    expect(iso(periodStartShift(sh("2025-01-15T00:00:00"), "month", -1))).toBe(iso(sh("2024-12-01T00:00:00")));
    expect(iso(periodStartShift(sh("2025-12-31T23:00:00"), "month", 1))).toBe(iso(sh("2026-01-01T00:00:00")));
  });

  it("ISO weeks and month keys use the local date", () => {
    expect(isoWeekKey(sh("2024-12-30T08:00:00"))).toBe("2025-W01"); // Monday of week 1 of 2025
    expect(isoWeekKey(sh("2021-01-03T23:59:00"))).toBe("2020-W53");
    expect(isoWeekKey(sh("2025-12-28T23:59:00"))).toBe("2025-W52"); // Sunday
    expect(isoWeekKey(new Date("2025-12-28T16:30:00Z"))).toBe("2026-W01"); // Monday 00:30 in Shanghai
    expect(isoWeekKey(sh("2025-06-16T10:00:00"))).toBe("2025-W25");
    expect(monthKey(new Date("2025-12-31T16:00:00Z"))).toBe("2026-01");
    expect(daysInMonth(sh("2024-02-10T00:00:00"))).toBe(29);
    expect(daysInMonth(sh("2025-02-10T00:00:00"))).toBe(28);
  });
});

describe("normal households: a home visit each calendar quarter", () => {
  const visited = [visit("2025-03-31T23:30:00")];
  it("covered to the last minute of the quarter, due from its first", () => {
    expect(status("normal", visited, "2025-03-31T23:59:59")).toBe("covered");
    expect(status("normal", visited, "2025-04-01T00:00:00")).toBe("due");
    expect(status("normal", visited, "2025-06-30T23:59:59")).toBe("due");
    expect(status("normal", visited, "2025-07-01T00:00:00")).toBe("overdue");
  });

  it("across the year end", () => {
    const dec = [visit("2025-12-31T23:59:00")];
    expect(status("normal", dec, "2025-12-31T23:59:30")).toBe("covered");
    expect(status("normal", dec, "2026-01-01T00:00:00")).toBe("due");
    expect(status("normal", dec, "2026-04-01T00:00:00")).toBe("overdue");
    // A visit on Jan 1st 00:30 local (Dec 31st UTC) belongs to the new quarter.
    expect(status("normal", [{ kind: "visit", at: new Date("2025-12-31T16:30:00Z") }], "2026-03-31T12:00:00")).toBe("covered");
  });

  it("contacts do not count as visits; never visited is overdue", () => {
    expect(status("normal", [contact("2025-05-02T10:00:00")], "2025-05-03T10:00:00")).toBe("overdue");
    expect(status("normal", [], "2025-05-03T10:00:00")).toBe("overdue");
  });

  it("ignores visits logged after `now`", () => {
    expect(status("normal", [visit("2025-05-10T10:00:00")], "2025-05-03T10:00:00")).toBe("overdue");
  });
});

describe("special households: a home visit each calendar month, or a contact within 7 days", () => {
  it("a visit covers the rest of the calendar month", () => {
    const jan = [visit("2025-01-31T22:00:00")];
    expect(status("special", jan, "2025-01-31T23:59:59")).toBe("covered");
    // Feb 1st: the January visit still counts as the last contact (7 days).
    expect(status("special", jan, "2025-02-07T23:59:59")).toBe("covered");
    expect(status("special", jan, "2025-02-08T00:00:00")).toBe("due");
    expect(status("special", jan, "2025-02-28T23:59:59")).toBe("due");
    expect(status("special", jan, "2025-03-01T00:00:00")).toBe("overdue");
  });

  it("a monthly visit alone is enough, even weeks later", () => {
    expect(status("special", [visit("2025-05-02T09:00:00")], "2025-05-30T18:00:00")).toBe("covered");
  });

  it("weekly contact window: contacted on a Monday, covered through the next Monday (local days)", () => {
    const mon = [contact("2025-06-02T10:00:00")];
    expect(iso(contactDueAt(sh("2025-06-02T10:00:00"), 7))).toBe(iso(sh("2025-06-10T00:00:00")));
    expect(iso(contactDueAt(sh("2025-06-02T23:59:00"), 7))).toBe(iso(sh("2025-06-10T00:00:00")));
    expect(status("special", mon, "2025-06-09T23:59:59")).toBe("covered");
    // No visit in May either: the weekly rule is broken.
    expect(status("special", mon, "2025-06-10T00:00:00")).toBe("overdue");
    // With a May visit, June's visit is merely due.
    expect(status("special", [visit("2025-05-20T10:00:00"), ...mon], "2025-06-10T00:00:00")).toBe("due");
  });

  it("the contact window crosses month and year ends", () => {
    const nye = [contact("2025-12-29T20:00:00")];
    expect(status("special", nye, "2026-01-05T23:00:00")).toBe("covered");
    expect(status("special", nye, "2026-01-06T00:00:00")).toBe("overdue");
    // 2025-12-29T16:30Z is Dec 30th locally: one more day of cover.
    expect(status("special", [{ kind: "contact", at: new Date("2025-12-29T16:30:00Z") }], "2026-01-06T12:00:00")).toBe(
      "covered",
    );
  });

  it("contacts every 7 days keep it covered all month without a visit", () => {
    const weekly = ["2025-07-01", "2025-07-08", "2025-07-15", "2025-07-22", "2025-07-29"].map((d) => contact(`${d}T19:00:00`));
    for (const day of ["2025-07-01", "2025-07-07", "2025-07-14", "2025-07-21", "2025-07-28", "2025-08-05"]) {
      expect(status("special", weekly, `${day}T21:00:00`)).toBe("covered");
    }
    expect(status("special", weekly, "2025-08-06T00:00:00")).toBe("overdue");
  });

  it("a town can turn the contact path off or change the periods", () => {
    const rules = visitRulesFor({ visits: { specialContactDays: 0, normalVisitEvery: "year" } });
    expect(status("special", [contact("2025-06-02T10:00:00")], "2025-06-03T10:00:00", rules)).toBe("overdue");
    expect(status("normal", [visit("2025-01-02T10:00:00")], "2025-12-31T10:00:00", rules)).toBe("covered");
    expect(status("normal", [visit("2025-01-02T10:00:00")], "2026-01-01T00:00:00", rules)).toBe("due");
  });
});

describe("rules, tags and the 集中走访日", () => {
  it("tags decide the plan", () => {
    expect(planFromTags(["孤寡老人"])).toBe("special");
    expect(planFromTags(["党员户", "低保"])).toBe("special");
    expect(planFromTags(["党员户"])).toBe("normal");
    expect(planFromTags(["低保"], ["留守儿童"])).toBe("normal");
  });

  it("defaults and per-town settings; invalid settings fall back to defaults", () => {
    expect(visitRulesFor({})).toEqual(RULES);
    expect(visitRulesFor({ visits: { visitDay: 20, visitReminderLeadDays: 2 } })).toMatchObject({ visitDay: 20, visitReminderLeadDays: 2 });
    expect(visitRulesFor({ visits: { visitDay: 40 } }).visitDay).toBe(28);
  });

  it("the lead window before the 28th, clamped in short months", () => {
    expect(inVisitDayLead(sh("2025-06-24T23:59:00"), RULES)).toBe(false);
    expect(inVisitDayLead(sh("2025-06-25T00:00:00"), RULES)).toBe(true);
    expect(inVisitDayLead(sh("2025-06-28T20:00:00"), RULES)).toBe(true);
    expect(inVisitDayLead(sh("2025-06-29T00:00:00"), RULES)).toBe(false);
    const r30 = visitRulesFor({ visits: { visitDay: 30 } });
    expect(iso(visitDayOf(sh("2025-02-10T00:00:00"), r30))).toBe(iso(sh("2025-02-28T00:00:00")));
    expect(inVisitDayLead(sh("2025-02-25T09:00:00"), r30)).toBe(true);
  });
});
