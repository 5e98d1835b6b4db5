/**
 * Deactivating (停用) and reactivating a person. The row stays, so every ticket, 台账 event and visit that names them
 * keeps doing so; from then on they are nobody's sender, leader, caretaker or recipient (`isActive` in
 * src/workflows/directory.ts), and their dashboard links and sessions end. A leader still holding unfinished tickets
 * is handed over first (handover.ts), so no ticket is left with nobody to answer it.
 */
import { and, eq, ne, sql } from "drizzle-orm";
import { people, tickets } from "../../db/schema/index.js";
import { dropQuestions } from "../questions.js";
import type { Ctx } from "../context.js";
import type { Person } from "../directory.js";
import { ROLE_ZH } from "../roles.js";
import { type DirectoryActor, inScope } from "./access.js";
import { recordChange } from "./history.js";

export type StatusRefusal = "not_found" | "forbidden" | "self" | "unchanged" | "open_tickets";
export type StatusResult = { ok: true; person: Person; changeId: number } | { ok: false; reason: StatusRefusal; openTickets?: number };

export async function setPersonActive(ctx: Ctx, by: DirectoryActor, personId: string, active: boolean): Promise<StatusResult> {
  const [p] = await ctx.db.select().from(people).where(eq(people.id, personId)).for("update");
  if (!p) return { ok: false, reason: "not_found" };
  // An official keeps the people of their subtree; an admin's account is the admin's to keep.
  if (!(await inScope(ctx.db, by, p.unitId)) || (p.role === "admin" && !by.admin)) return { ok: false, reason: "forbidden" };
  if (by.personId === p.id) return { ok: false, reason: "self" };
  if (p.active === active) return { ok: false, reason: "unchanged" };
  if (!active) {
    const [open] = await ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(tickets)
      .where(and(eq(tickets.assigneeId, p.id), ne(tickets.status, "closed")));
    const n = Number(open?.n ?? 0);
    if (n > 0) return { ok: false, reason: "open_tickets", openTickets: n };
  }
  const [row] = await ctx.db
    .update(people)
    .set({ active, updatedAt: ctx.now, ...(active ? {} : { linkVersion: sql`${people.linkVersion} + 1` }) })
    .where(eq(people.id, p.id))
    .returning();
  // Whatever the bot asked them (a household pick, a photo or a problem to report) is no longer waiting.
  if (!active) await dropQuestions(ctx, p.id);
  const changeId = await recordChange(ctx.db, by, ctx.now, {
    kind: active ? "reactivate" : "deactivate",
    unitId: p.unitId,
    summary: `${active ? "恢复" : "停用"}${ROLE_ZH[p.role]} ${p.name}（${p.id}）`,
    data: { personId: p.id },
  });
  return { ok: true, person: row as Person, changeId };
}
