/**
 * A problem told to the bot with no command word (@好邻 村口路灯坏了好几天了) is not opened: the bot asks, and the
 * same person's 「是」 in the same chat within a few minutes opens it. The question is a row in PostgreSQL, so the
 * yes works across replicas and restarts; nothing is ever opened without a command or that explicit yes.
 */
import { and, eq, gt } from "drizzle-orm";
import { pendingReports } from "../db/schema/index.js";
import type { Ctx } from "./context.js";
import { type Actor, type Done, openTicket } from "./ticket-commands.js";

/** How long the question waits for the yes. */
export const CONFIRM_TTL_MS = 5 * 60_000;

const keyOf = (actor: Actor) => (actor.person ? actor.person.id : `ext:${actor.externalId}`);

/** Ask: remember `text` for this person in this chat (a newer question replaces an older one). */
export async function offerReport(ctx: Ctx, actor: Actor, text: string): Promise<void> {
  if (!actor.chat) return;
  const row = {
    personKey: keyOf(actor),
    chatId: actor.chat.id,
    text,
    expiresAt: new Date(ctx.now.getTime() + CONFIRM_TTL_MS),
    createdAt: ctx.now,
  };
  await ctx.db
    .insert(pendingReports)
    .values(row)
    .onConflictDoUpdate({ target: [pendingReports.personKey, pendingReports.chatId], set: row });
}

/** The yes: opens the waiting report, once (taking the row is the claim). Null when nothing waits. */
export async function confirmReport(ctx: Ctx, actor: Actor): Promise<Done | null> {
  if (!actor.chat) return null;
  const [taken] = await ctx.db
    .delete(pendingReports)
    .where(
      and(
        eq(pendingReports.personKey, keyOf(actor)),
        eq(pendingReports.chatId, actor.chat.id),
        gt(pendingReports.expiresAt, ctx.now),
      ),
    )
    .returning({ text: pendingReports.text });
  return taken ? openTicket(ctx, actor, taken.text) : null;
}
