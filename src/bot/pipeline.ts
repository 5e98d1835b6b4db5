/**
 * The one pipeline every platform uses: a normalized message in, replies out. Deduplication, the command and
 * the stored answer are one transaction, so a redelivered message gets the same answer and changes nothing.
 */
import type { Logger } from "pino";
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { inboundMessages } from "../db/schema/index.js";
import type { Ctx } from "../workflows/context.js";
import { canReachPrivately, type Sender } from "../workflows/delivery.js";
import { findPerson, findSender, type Person } from "../workflows/directory.js";
import { Effects } from "../workflows/effects.js";
import { digestForChat } from "../workflows/digests/index.js";
import type { PolicyOverrides } from "../workflows/policy.js";
import {
  type Actor,
  claimTicket,
  escalateTicket,
  openTicket,
  rateTicket,
  replyTicket,
  resolveTicket,
  ticketStatus,
  todoList,
} from "../workflows/ticket-commands.js";
import { isLeader } from "../workflows/roles.js";
import { escapeRegExp } from "../lib/regexp.js";
import { parseCommand } from "./parse.js";
import { dueCommand, pickCommand, visitCommand } from "./visit-dispatch.js";
import { MAX_TEXT, replies } from "./replies.js";
import type { HandleResult, IncomingMessage, Reply } from "./types.js";

export type PipelineDeps = {
  db: Db;
  clock: () => Date;
  overrides: PolicyOverrides;
  botNames: string[];
  logger: Logger;
  /** Sets timers and delivers outbox rows once the transaction has committed. */
  afterCommit: (effects: Effects) => Promise<void>;
  /** The deployment's ways out: tells workflows whether a person can be messaged privately. */
  senders?: Sender[];
};

/** Lets an adapter keep its own record (the simulator's chat log) in the same transaction. */
export type Transcript = (db: Db, replies: Reply[]) => Promise<void>;

const addressedBy = (text: string, names: string[]) =>
  names.some((n) => new RegExp(`^\\s*[@＠]${escapeRegExp(n)}|[@＠]${escapeRegExp(n)}\\s*$`, "u").test(text));

export async function handleIncoming(deps: PipelineDeps, msg: IncomingMessage, transcript?: Transcript): Promise<HandleResult> {
  const log = deps.logger.child({ platform: msg.platform, messageId: msg.messageId, length: msg.text.length });
  if ([...msg.text].length > MAX_TEXT) return { replies: [replies.tooLong()], duplicate: false };

  // Group messages: chat, sender and household in one look-up. Direct messages: the sender only.
  const sender = msg.chatExternalId
    ? await findSender(deps.db, msg.platform, msg.chatExternalId, msg.senderExternalId)
    : { chat: null, person: await findPerson(deps.db, msg.platform, msg.senderExternalId), household: undefined };
  if (!sender) {
    log.info("message from an unregistered chat");
    return { replies: [replies.unregisteredChat()], duplicate: false };
  }
  const { chat, person } = sender;

  const effects = new Effects();
  const result = await deps.db.transaction(async (db) => {
    const [fresh] = await db
      .insert(inboundMessages)
      .values({
        platform: msg.platform,
        messageId: msg.messageId,
        chatId: chat?.id ?? null,
        senderExternalId: msg.senderExternalId,
        textLength: msg.text.length,
        receivedAt: msg.receivedAt,
      })
      .onConflictDoNothing()
      .returning({ messageId: inboundMessages.messageId });
    if (!fresh) {
      const [before] = await db
        .select({ replies: inboundMessages.replies })
        .from(inboundMessages)
        .where(and(eq(inboundMessages.platform, msg.platform), eq(inboundMessages.messageId, msg.messageId)));
      return { replies: before?.replies ?? [], duplicate: true };
    }
    const senders = deps.senders;
    const ctx: Ctx = {
      db,
      now: deps.clock(),
      effects,
      overrides: deps.overrides,
      canReachPrivately: senders ? (personId) => canReachPrivately(db, senders, personId) : undefined,
    };
    const actor: Actor = { person, externalId: msg.senderExternalId, chat, household: sender.household };
    const addressed = msg.addressed ?? addressedBy(msg.text, deps.botNames);
    const out = await dispatch(ctx, actor, msg.text, deps.botNames, addressed, !chat);
    await db
      .update(inboundMessages)
      .set({ replies: out })
      .where(and(eq(inboundMessages.platform, msg.platform), eq(inboundMessages.messageId, msg.messageId)));
    if (transcript) await transcript(db, out);
    return { replies: out, duplicate: false };
  });
  if (result.duplicate) log.info("duplicate delivery");
  await deps.afterCommit(effects);
  return result;
}

async function dispatch(
  ctx: Ctx,
  actor: Actor,
  text: string,
  botNames: string[],
  addressed: boolean,
  direct: boolean,
): Promise<Reply[]> {
  const cmd = parseCommand(text, { botNames });
  const me = actor.person;
  const { now } = ctx;
  if (direct && !me) return [replies.unknownPerson()];
  const one = (r: Reply) => [r];
  switch (cmd.intent) {
    case "none": {
      // A bare number may pick from the choice list a 走访 with an ambiguous name left waiting.
      const picked = await pickCommand(ctx, actor, text, botNames);
      if (picked) return picked;
      return addressed || direct ? one(replies.notUnderstood()) : [];
    }
    case "invalid":
      return one(replies.invalid(cmd.hint ?? replies.notUnderstood().text));
    case "help":
      return one(replies.help(me?.role ?? null));
    case "visit":
    case "contact":
      return visitCommand(ctx, actor, cmd.intent, cmd.body ?? "", text);
    case "due":
      return dueCommand(ctx, actor);
    case "digest":
      if (!actor.chat) return one(replies.invalid("请在村、组群里发「周报」，查看本群所在单位近 7 天的统计。"));
      return one({ text: await digestForChat(ctx, actor.chat), mentions: [] });
    case "todo":
      return one(replies.todo(await todoList(ctx, actor), Boolean(me && isLeader(me.role)), now));
    case "report": {
      if (!actor.chat) return one(replies.invalid("请在所在的村、组群里报事，方便邻里和负责人一起看到进展。"));
      const r = await openTicket(ctx, actor, cmd.body ?? "");
      return one(r.ok ? replies.opened(r, now) : replies.refusal(r));
    }
  }
  const id = cmd.ticket as number;
  switch (cmd.intent) {
    case "status": {
      const r = await ticketStatus(ctx, actor, id);
      return one(r.ok ? replies.status(r, now) : replies.refusal(r));
    }
    case "claim": {
      const r = await claimTicket(ctx, actor, id);
      return one(r.ok ? replies.claimed(r, me as Person, now) : replies.refusal(r));
    }
    case "reply": {
      const r = await replyTicket(ctx, actor, id, cmd.body ?? "");
      return one(r.ok ? replies.replied(r, me as Person, cmd.body ?? "") : replies.refusal(r));
    }
    case "resolve": {
      const r = await resolveTicket(ctx, actor, id, cmd.body ?? "");
      return one(r.ok ? replies.resolved(r, cmd.body ?? "") : replies.refusal(r));
    }
    case "rate": {
      const r = await rateTicket(ctx, actor, id, cmd.satisfied === true, cmd.body);
      return one(r.ok ? replies.rated(r, now) : replies.refusal(r));
    }
    case "escalate": {
      const r = await escalateTicket(ctx, actor, id, cmd.body ?? "");
      return one(r.ok ? replies.escalated(r) : replies.refusal(r));
    }
  }
}
