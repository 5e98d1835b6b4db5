/** `待走访`: who a leader should see next — overdue first, special households first, with the last visit/contact. */
import type { Ctx } from "../context.js";
import type { Household, Person } from "../directory.js";
import { isLeader } from "../roles.js";
import { type CareStatus, careStatus, type History, type VisitRules, visitRulesFor } from "./rules.js";
import { historiesOf, householdsIn, subtreeUnitIds, townOf } from "./scope.js";

export type DueItem = { household: Household; care: CareStatus; history: History };
export type DueList = {
  items: DueItem[];
  /** Households looked at (the leader's 邻, or the whole subtree for higher leaders). */
  total: number;
  overdue: number;
  due: number;
  /** Special households among overdue + due. */
  special: number;
  rules: VisitRules;
};

const rank = (i: DueItem) => (i.care.plan === "special" ? 0 : 2) + (i.care.status === "overdue" ? 0 : 1);

/** Households not covered now, in the order a leader should visit them. */
export function dueItems(list: Household[], histories: Map<string, History>, rules: VisitRules, now: Date): DueItem[] {
  const empty: History = { lastVisitAt: null, lastContactAt: null, lastVisitBeforePeriodAt: null };
  return list
    .map((household) => {
      const history = histories.get(household.id) ?? empty;
      return { household, history, care: careStatus(household.careLevel, history, rules, now) };
    })
    .filter((i) => i.care.status !== "covered")
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        (a.care.lastTouchAt?.getTime() ?? 0) - (b.care.lastTouchAt?.getTime() ?? 0) ||
        a.household.id.localeCompare(b.household.id),
    );
}

/** A 邻长 sees their own 邻; higher leaders and admins see every household below their unit. */
export async function dueList(ctx: Ctx, person: Person): Promise<DueList | null> {
  if (!isLeader(person.role)) return null;
  const unitIds = person.role === "neighbor_leader" ? [person.unitId] : await subtreeUnitIds(ctx.db, person.unitId);
  const list = await householdsIn(ctx.db, unitIds);
  const rules = visitRulesFor((await townOf(ctx.db, person.unitId))?.settings);
  const items = dueItems(list, await historiesOf(ctx.db, list, rules, ctx.now), rules, ctx.now);
  return {
    items,
    total: list.length,
    overdue: items.filter((i) => i.care.status === "overdue").length,
    due: items.filter((i) => i.care.status === "due").length,
    special: items.filter((i) => i.care.plan === "special").length,
    rules,
  };
}
