/**
 * Visit reminders, run by a periodic task (daily; any number of runs is safe). Every reminder is an outbox row
 * with a dedupe key, so it is sent once per cause:
 * - `remind-contact-<household>-<isoWeek>-<leader>`: a special household with no visit this month and no visit or
 *   contact for `contactReminderDays` (6) local days → its 邻长 (or the leader of a vacant 邻's unit), privately;
 *   at most once a week per household while it stays uncontacted;
 * - `remind-due-<leader>-<yyyy-mm>`: from `visitReminderLeadDays` (3) days before the 集中走访日 (28th) through the
 *   day itself, each 邻长 with households due gets the due list privately, once a month.
 */
import { eq } from "drizzle-orm";
import { units } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import type { Household, Person } from "../directory.js";
import { queueMessage } from "../outbox.js";
import { deliverAfterQuietHours, policyFor } from "../policy.js";
import { isoWeekKey, monthKey } from "./calendar.js";
import { dueItems } from "./due.js";
import { contactReminder, visitDayReminder } from "./notices.js";
import { careStatus, daysSince, type History, inVisitDayLead, visitDayOf, visitRulesFor } from "./rules.js";
import { caretakers, historiesOf, householdsIn } from "./scope.js";

const NO_HISTORY: History = { lastVisitAt: null, lastContactAt: null, lastVisitBeforePeriodAt: null };

export type ReminderReport = { contact: number; dueLists: number };

export async function runVisitReminders(ctx: Ctx): Promise<ReminderReport> {
  const report: ReminderReport = { contact: 0, dueLists: 0 };
  const towns = await ctx.db.select().from(units).where(eq(units.kind, "town"));
  for (const town of towns) {
    const rules = visitRulesFor(town.settings);
    const notBefore = deliverAfterQuietHours(policyFor(town.settings, ctx.overrides), ctx.now);
    const carers = await caretakers(ctx.db, town.id);
    const list = await householdsIn(ctx.db, [...carers.keys()]);
    const histories = await historiesOf(ctx.db, list, rules, ctx.now);
    const items = dueItems(list, histories, rules, ctx.now);

    // Weekly contact: special households drifting towards the 7-day limit (still covered on day 6).
    const week = isoWeekKey(ctx.now);
    for (const h of list) {
      if (h.careLevel !== "special") continue;
      const care = careStatus(h.careLevel, histories.get(h.id) ?? NO_HISTORY, rules, ctx.now);
      if (care.visitedThisPeriod) continue;
      const days = care.lastTouchAt ? daysSince(care.lastTouchAt, ctx.now) : null;
      if (days !== null && days < rules.contactReminderDays) continue;
      for (const leader of carers.get(h.unitId) ?? []) {
        const queued = await queueMessage(ctx, {
          dedupeKey: `remind-contact-${h.id}-${week}-${leader.id}`,
          to: { personId: leader.id },
          kind: "reminder",
          payload: { text: contactReminder(h, days), mentions: [] },
          notBefore,
        });
        if (queued) report.contact += 1;
      }
    }

    // Before the 集中走访日: each leader's due list.
    if (!inVisitDayLead(ctx.now, rules)) continue;
    const month = monthKey(ctx.now);
    const byLeader = new Map<string, { leader: Person; households: Set<Household> }>();
    for (const i of items) {
      for (const leader of carers.get(i.household.unitId) ?? []) {
        const entry = byLeader.get(leader.id) ?? { leader, households: new Set() };
        entry.households.add(i.household);
        byLeader.set(leader.id, entry);
      }
    }
    for (const { leader, households } of byLeader.values()) {
      const mine = items.filter((i) => households.has(i.household));
      const queued = await queueMessage(ctx, {
        dedupeKey: `remind-due-${leader.id}-${month}`,
        to: { personId: leader.id },
        kind: "reminder",
        payload: { text: visitDayReminder(mine, visitDayOf(ctx.now, rules)), mentions: [] },
        notBefore,
      });
      if (queued) report.dueLists += 1;
    }
  }
  return report;
}
