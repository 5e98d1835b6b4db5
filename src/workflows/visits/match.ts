/**
 * Which household `<who>` means. The leader writes `走访 <who> <情况>`; <who> is a head's name, a member's name,
 * a house number or a nickname. Matching looks first among the households of the leader's own unit, then in
 * the rest of the unit's subtree (a 组长 or 村干部 reaches every 邻 below them).
 *
 * <who> is the first token (up to a space or punctuation) and must equal a key. When it equals none, a key that
 * opens the token followed by at least two more characters is accepted, so glued input such as 走访周奶奶身体好
 * works while 李一鸣 is never taken for 李一.
 */
import { and, eq, inArray, or, sql } from "drizzle-orm";
import { households } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import type { Household, Person } from "../directory.js";
import { subtreeUnitIds } from "./scope.js";

const SEPARATORS = /[\s，,：:；;、。.！!？?]+/u;
const LEADING = /^[\s，,：:；;、。.！!？?]+/u;
/** A choice list longer than this asks for something more specific. */
export const MAX_CHOICES = 9;

export type Match = { query: string; note: string | null; candidates: Household[] };

const keysOf = (h: Household) => [h.headName, h.nickname, h.houseNo, ...h.members].filter((k): k is string => Boolean(k));

export function splitWho(body: string): { token: string; rest: string } {
  const text = body.trim();
  const m = SEPARATORS.exec(text);
  return m ? { token: text.slice(0, m.index), rest: text.slice(m.index) } : { token: text, rest: "" };
}

const cleanNote = (s: string) => {
  const note = s.replace(LEADING, "").trim();
  return note === "" ? null : note;
};

export async function matchHousehold(ctx: Ctx, leader: Person, body: string): Promise<Match> {
  const { token, rest } = splitWho(body);
  if (token === "") return { query: body.trim(), note: null, candidates: [] };
  const unitIds = await subtreeUnitIds(ctx.db, leader.unitId);
  const prefixOf = (col: typeof households.headName | typeof households.nickname | typeof households.houseNo) =>
    sql`(${col} <> '' and starts_with(${token}, ${col}))`;
  const rows = await ctx.db
    .select()
    .from(households)
    .where(
      and(
        inArray(households.unitId, unitIds),
        or(
          eq(households.headName, token),
          eq(households.nickname, token),
          eq(households.houseNo, token),
          sql`${households.members} @> ${JSON.stringify([token])}::jsonb`,
          prefixOf(households.headName),
          prefixOf(households.nickname),
          prefixOf(households.houseNo),
          sql`exists (select 1 from jsonb_array_elements_text(${households.members}) m where m <> '' and starts_with(${token}, m))`,
        ),
      ),
    )
    .orderBy(households.id)
    .limit(200);

  const exact = rows.filter((h) => keysOf(h).includes(token));
  let query = token;
  let note = cleanNote(rest);
  let found = exact;
  if (found.length === 0) {
    // Glued: the longest key opening the token, with at least two characters left for the note.
    const best = (h: Household) =>
      Math.max(0, ...keysOf(h).filter((k) => token.startsWith(k) && [...token].length - [...k].length >= 2).map((k) => k.length));
    const len = Math.max(0, ...rows.map(best));
    if (len > 0) {
      found = rows.filter((h) => best(h) === len);
      query = token.slice(0, len);
      note = cleanNote(token.slice(len) + rest);
    }
  }
  // The leader's own unit first, then the rest of the subtree.
  const own = found.filter((h) => h.unitId === leader.unitId);
  return { query, note, candidates: own.length > 0 ? own : found };
}

/** The person the leader named, when the key was a head's or member's name; else the head (a house number or a nickname names nobody). */
export function requesterIn(h: Household, query: string): string {
  return query === h.headName || h.members.includes(query) ? query : h.headName;
}
