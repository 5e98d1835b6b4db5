/**
 * The store of questions waiting for one person's answer (pending_questions): asking writes a row, answering takes
 * it. Rows live in PostgreSQL, so an answer works across replicas and restarts, and taking the row (a DELETE … RETURNING)
 * is the claim: of two quick answers only one acts. Which answer a question takes and what it then does is the bot's
 * question table (src/bot/questions.ts); this module knows only who, where, what about and until when.
 */
import { and, desc, eq, gt, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { pendingQuestions, type QuestionAbout, type QuestionKind } from "../db/schema/index.js";
import type { Ctx } from "./context.js";
import type { Actor } from "./ticket-commands.js";

export type Question<K extends QuestionKind = QuestionKind> = Omit<typeof pendingQuestions.$inferSelect, "kind" | "about"> & {
  kind: K;
  about: QuestionAbout[K];
};

/** Who is asked: the person, or the platform id of someone the directory does not know. */
export const personKeyOf = (actor: Pick<Actor, "person" | "externalId">) => (actor.person ? actor.person.id : `ext:${actor.externalId}`);
const scopeOf = (actor: Pick<Actor, "chat">) => actor.chat?.id ?? "direct";

/**
 * Ask: the question waits for this person here until `ttlMs` from now. A question of the same kind already waiting
 * here is replaced — or, with `merge`, combined with this one (the SQL gets `old` and `new` as the two `about`s).
 */
export async function ask<K extends QuestionKind>(
  ctx: Ctx,
  actor: Actor,
  kind: K,
  about: QuestionAbout[K],
  ttlMs: number,
  merge?: (old: SQL, fresh: SQL) => SQL,
): Promise<void> {
  const row = {
    personKey: personKeyOf(actor),
    scope: scopeOf(actor),
    chatId: actor.chat?.id ?? null,
    kind,
    about,
    expiresAt: new Date(ctx.now.getTime() + ttlMs),
    createdAt: ctx.now,
  };
  const fresh = sql.raw("excluded.about");
  const old = sql`${pendingQuestions.about}`;
  await ctx.db
    .insert(pendingQuestions)
    .values(row)
    .onConflictDoUpdate({
      target: [pendingQuestions.personKey, pendingQuestions.scope, pendingQuestions.kind],
      set: {
        // A question that has lapsed is not extended: the new one starts afresh.
        about: merge ? sql`case when ${pendingQuestions.expiresAt} > excluded.created_at then ${merge(old, fresh)} else ${fresh} end` : fresh,
        chatId: row.chatId,
        expiresAt: row.expiresAt,
        createdAt: row.createdAt,
      },
    });
}

/**
 * The live questions this person may be answering here, newest first: those asked here, and — in a direct chat —
 * those of the `privately` kinds asked anywhere (a list sent to a leader privately is answered privately).
 */
export async function waitingFor(ctx: Ctx, actor: Actor, kinds: QuestionKind[], privately: QuestionKind[]): Promise<Question[]> {
  if (kinds.length === 0) return [];
  const here = eq(pendingQuestions.scope, scopeOf(actor));
  const elsewhere = !actor.chat && privately.length ? inArray(pendingQuestions.kind, privately) : undefined;
  const rows = await ctx.db
    .select()
    .from(pendingQuestions)
    .where(
      and(
        eq(pendingQuestions.personKey, personKeyOf(actor)),
        inArray(pendingQuestions.kind, kinds),
        gt(pendingQuestions.expiresAt, ctx.now),
        elsewhere ? or(here, elsewhere) : here,
      ),
    )
    .orderBy(desc(pendingQuestions.createdAt), desc(pendingQuestions.id));
  return rows as Question[];
}

/** Take a question to act on its answer: false when it is gone (answered by a concurrent message, or lapsed). */
export async function take(ctx: Ctx, q: Question): Promise<boolean> {
  const taken = await ctx.db
    .delete(pendingQuestions)
    .where(and(eq(pendingQuestions.id, q.id), gt(pendingQuestions.expiresAt, ctx.now)))
    .returning({ id: pendingQuestions.id });
  return taken.length > 0;
}

/** Questions put to a person no longer asked (deactivated; a 邻 handed over: its picks): `kinds` limits which. */
export async function dropQuestions(ctx: Pick<Ctx, "db">, personId: string, kinds?: QuestionKind[]): Promise<void> {
  await ctx.db
    .delete(pendingQuestions)
    .where(and(eq(pendingQuestions.personKey, personId), kinds ? inArray(pendingQuestions.kind, kinds) : undefined));
}

/** Lapsed questions are removed by the reconciler (nothing reads them; this only keeps the table small). */
export async function sweepQuestions(db: Db, now: Date): Promise<number> {
  const gone = await db.delete(pendingQuestions).where(lt(pendingQuestions.expiresAt, now)).returning({ id: pendingQuestions.id });
  return gone.length;
}
