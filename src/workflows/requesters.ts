/**
 * Whose request a ticket is, and who hears of it. An own report is the reporter's. A 代报 ticket is its household's:
 * the household's people in the directory see it in 待办, are @-mentioned on its progress and rate it; the relaying
 * leader (the reporter, 经办人) stands in only when nobody of the household is in the directory to be reached.
 */
import { and, eq, ne } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { people } from "../db/schema/index.js";
import type { Actor } from "./ticket-commands.js";
import { isActive, type Person } from "./directory.js";
import type { Ticket } from "./tickets.js";

/** The household's people in the directory, other than the relaying leader. */
async function householdPeople(db: Db, t: Ticket): Promise<Person[]> {
  if (!t.householdId) return [];
  const others = t.reporterId ? ne(people.id, t.reporterId) : undefined;
  return db
    .select()
    .from(people)
    .where(and(eq(people.householdId, t.householdId), others, isActive))
    .orderBy(people.id)
    .limit(20);
}

/** Who a ticket's progress is told to, and who is asked to rate it. `reporter`: already read, when it was. */
export async function requestersOf(db: Db, t: Ticket, reporter: Person | null): Promise<Person[]> {
  if (t.onBehalf) {
    const household = await householdPeople(db, t);
    if (household.length > 0) return household;
  }
  return reporter ? [reporter] : [];
}

/** The actor is one of those the ticket's request is for (or, not in the directory, the one who sent it). */
export async function isRequester(db: Db, actor: Actor, t: Ticket): Promise<boolean> {
  if (!actor.person) return !t.onBehalf && t.reporterExternalId === actor.externalId;
  const me = actor.person;
  if (t.onBehalf) {
    if (t.householdId && me.householdId === t.householdId && me.id !== t.reporterId) return true;
    // The relaying leader stands in only while nobody of the household can be reached.
    return me.id === t.reporterId && (await householdPeople(db, t)).length === 0;
  }
  return t.reporterId === me.id;
}
