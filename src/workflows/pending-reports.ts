/**
 * A problem told to the bot with no command word (@好邻 村口路灯坏了好几天了) is not opened: the bot asks, and the
 * same person's 「是」 in the same chat within a few minutes opens it (src/bot/questions.ts). The question is a pending
 * question in PostgreSQL, so the yes works across replicas and restarts; nothing is ever opened without a command or
 * that explicit yes.
 */
import type { Ctx } from "./context.js";
import { ask } from "./questions.js";
import type { Actor } from "./ticket-commands.js";

/** How long the question waits for the yes. */
export const CONFIRM_TTL_MS = 5 * 60_000;

/** Ask: remember `text` for this person in this chat (a newer question replaces an older one). */
export async function offerReport(ctx: Ctx, actor: Actor, text: string): Promise<void> {
  if (actor.chat) await ask(ctx, actor, "report", { text }, CONFIRM_TTL_MS);
}
