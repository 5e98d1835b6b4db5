/**
 * The one pipeline every platform uses: a normalized message in, replies out. Deduplication, the command and
 * the stored answer are one transaction, so a redelivered message gets the same answer and changes nothing.
 * Messages that arrive together share that transaction (group commit), which is what lets one process keep up
 * with a county's groups.
 */
import type { Logger } from "pino";
import { inArray } from "drizzle-orm";
import { type Db, queryRows, sql, textArray } from "../db/client.js";
import { inboundMessages } from "../db/schema/index.js";
import { GroupCommit, type Outcome } from "../lib/group-commit.js";
import { batchMessages, messageSeconds, messages } from "../lib/metrics.js";
import type { Ctx } from "../workflows/context.js";
import { canReachPrivately, type Sender } from "../workflows/delivery.js";
import { findPerson, findSender } from "../workflows/directory.js";
import { DirectoryCache, type MessageSender } from "../workflows/directory-cache.js";
import { Effects } from "../workflows/effects.js";
import { recordPendingChats } from "../workflows/pending-chats.js";
import type { PolicyOverrides } from "../workflows/policy.js";
import type { Actor } from "../workflows/ticket-commands.js";
import { cannotSucceed, errInfo } from "../lib/errors.js";
import { deadLetter } from "./dead-letter.js";
import { guardGroupMessage } from "../lib/privacy.js";
import { escapeRegExp } from "../lib/regexp.js";
import { answerChat, runCommand } from "./commands.js";
import { parseCommand } from "./parse.js";
import { quotedTicketId } from "./quote.js";
import { mediaDispatch, needsMediaDispatch } from "./media-dispatch.js";
import { MAX_TEXT, replies } from "./replies.js";
import type { HandleResult, IncomingMessage, Reply } from "./types.js";

export type PipelineConfig = {
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

type Pending = { msg: IncomingMessage; transcript?: Transcript };

export type PipelineDeps = PipelineConfig & {
  /** Matches a message addressed to the bot by name (see addressingPattern). */
  addressing: RegExp | null;
  /** Senders and ladders, checked against the directory version once per batch. */
  directory: DirectoryCache;
  batches: GroupCommit<Pending, HandleResult>;
};

/**
 * Batches: at most this many transactions of messages at once (the pool keeps room for timers, deliveries and the
 * dashboard), each with at most this many messages.
 */
const MAX_IN_FLIGHT = 4;
const MAX_BATCH = 64;
/** A batch that has not finished by then fails and frees its slot (see GroupCommitOptions.timeoutMs). */
const BATCH_TIMEOUT_MS = 30_000;

export function createPipeline(config: PipelineConfig): PipelineDeps {
  const deps: PipelineDeps = {
    ...config,
    addressing: addressingPattern(config.botNames),
    directory: new DirectoryCache(),
    batches: new GroupCommit<Pending, HandleResult>((items) => handleBatch(deps, items), {
      maxInFlight: MAX_IN_FLIGHT,
      maxBatch: MAX_BATCH,
      timeoutMs: BATCH_TIMEOUT_MS,
    }),
  };
  return deps;
}

/** A message that starts or ends with @<a bot name>; built once per pipeline (compiling it per message showed up in profiles). */
function addressingPattern(names: string[]): RegExp | null {
  const alternatives = names.filter((n) => n !== "").map(escapeRegExp).join("|");
  return alternatives ? new RegExp(`^\\s*[@＠](?:${alternatives})|[@＠](?:${alternatives})\\s*$`, "u") : null;
}

/**
 * One message in, its replies out. Messages arriving together are handled together (see GroupCommit): deduplication,
 * the commands and the stored answers of a batch are one transaction, so a redelivered message gets the same
 * answer and changes nothing, and a failure leaves no trace of any of them.
 */
export async function handleIncoming(deps: PipelineDeps, msg: IncomingMessage, transcript?: Transcript): Promise<HandleResult> {
  const { platform } = msg;
  const stop = messageSeconds.startTimer({ platform });
  try {
    const result =
      [...msg.text].length > MAX_TEXT ? { replies: [replies.tooLong()], duplicate: false } : await deps.batches.submit({ msg, transcript });
    messages.inc({ platform, result: result.duplicate ? "duplicate" : "handled" });
    return result;
  } catch (err) {
    if (!cannotSucceed(err)) {
      // The database (or the pipeline) is unavailable: the platform's retry will succeed once it is back.
      messages.inc({ platform, result: "failed" });
      throw err;
    }
    const result = await deadLetter(deps.db, deps.logger, msg, err);
    messages.inc({ platform, result: "dead_letter" });
    return result;
  } finally {
    stop();
  }
}

function lookUpSender(deps: PipelineDeps, db: Db, msg: IncomingMessage): Promise<MessageSender | null> {
  const { platform, chatExternalId: chat, senderExternalId: sender } = msg;
  if (chat) return deps.directory.sender(platform, chat, sender, () => findSender(db, platform, chat, sender));
  return deps.directory.sender(platform, "", sender, async () => ({ chat: null, person: await findPerson(db, platform, sender) }));
}

const KEY_SEPARATOR = ":";
const keyOf = (platform: string, messageId: string) => `${platform}${KEY_SEPARATOR}${messageId}`;

async function handleBatch(deps: PipelineDeps, items: Pending[]): Promise<Outcome<HandleResult | Promise<HandleResult>>[]> {
  batchMessages.observe(items.length);
  try {
    return await handleTogether(deps, items);
  } catch (err) {
    if (items.length === 1) return [{ ok: false, error: err }];
    // One message's failure (or a deadlock between batches) must not fail the others: each goes again alone.
    deps.logger.warn({ size: items.length, ...errInfo(err) }, "batch failed; retrying its messages one by one");
    return Promise.all(
      items.map((item) =>
        handleTogether(deps, [item]).then(
          (r) => r[0] as Outcome<HandleResult | Promise<HandleResult>>,
          (error: unknown) => ({ ok: false as const, error }),
        ),
      ),
    );
  }
}

async function handleTogether(deps: PipelineDeps, items: Pending[]): Promise<Outcome<HandleResult | Promise<HandleResult>>[]> {
  const results: (HandleResult | null)[] = items.map(() => null);
  const effects: Effects[] = [];
  // Each message id once (a redelivery inside the batch shares the first copy's answer), in one order everywhere,
  // so two batches holding the same redelivered ids cannot deadlock.
  const firstIndex = new Map<string, number>();
  const work: { index: number; key: string; msg: IncomingMessage; transcript?: Transcript }[] = [];
  items.forEach((item, index) => {
    const key = keyOf(item.msg.platform, item.msg.messageId);
    if (firstIndex.has(key)) return;
    firstIndex.set(key, index);
    work.push({ index, key, msg: item.msg, transcript: item.transcript });
  });
  work.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  await deps.db.transaction(async (db) => {
    // One statement: the directory version, and a dedupe row per message (a row already there is a redelivery).
    const rows = await queryRows<{ version: string | number | null; platform: string | null; message_id: string | null }>(
      db,
      sql`with v as (select version from directory_version where id = 1),
        ins as (insert into inbound_messages (platform, message_id, sender_external_id, text_length, received_at)
          select platform, message_id, sender_external_id, text_length, received_at
          from jsonb_to_recordset(${JSON.stringify(
            work.map(({ msg }) => ({
              platform: msg.platform,
              message_id: msg.messageId,
              sender_external_id: msg.senderExternalId,
              text_length: msg.text.length,
              received_at: msg.receivedAt,
            })),
          )}::jsonb) as r(platform text, message_id text, sender_external_id text, text_length int, received_at timestamptz)
          on conflict do nothing returning platform, message_id)
        select version, null as platform, null as message_id from v
        union all select null, platform, message_id from ins`,
    );
    deps.directory.observe(Number(rows.find((r) => r.version !== null)?.version ?? -1));
    const fresh = new Set(rows.flatMap((r) => (r.platform && r.message_id ? [keyOf(r.platform, r.message_id)] : [])));
    const seen = work.filter((w) => !fresh.has(w.key));
    if (seen.length > 0) {
      const stored = await db
        .select({ platform: inboundMessages.platform, messageId: inboundMessages.messageId, replies: inboundMessages.replies })
        .from(inboundMessages)
        .where(inArray(inboundMessages.messageId, seen.map((w) => w.msg.messageId)));
      const byKey = new Map(stored.map((r) => [keyOf(r.platform, r.messageId), r.replies]));
      for (const w of seen) {
        deps.logger.info({ platform: w.msg.platform, messageId: w.msg.messageId }, "duplicate delivery");
        results[w.index] = { replies: byKey.get(w.key) ?? [], duplicate: true };
      }
    }
    // The batch's commands run side by side on the one transaction (their statements are pipelined). Everything
    // runs on the transaction's connection: PGlite has only the one.
    const ran = work.filter((w) => fresh.has(w.key));
    const answers = await Promise.all(
      ran.map(async (w): Promise<{ replies: Reply[]; chatId: string | null; unregistered?: true }> => {
        const from = await lookUpSender(deps, db, w.msg);
        if (!from) {
          // The chat id is what an admin needs to register the group; a group id is not personal data.
          deps.logger.info(
            { platform: w.msg.platform, messageId: w.msg.messageId, chat: w.msg.chatExternalId },
            "message from an unregistered chat",
          );
          return { replies: [replies.unregisteredChat()], chatId: null, unregistered: true };
        }
        const e = new Effects();
        effects.push(e);
        return { replies: await run(deps, db, e, w.msg, from), chatId: from.chat?.id ?? null };
      }),
    );
    // A message from an unregistered chat leaves no trace of its own (it is not ours to keep), so its row goes
    // again; its group waits as 待绑定 (platform, chat id, first sender, when) for an admin to bind it.
    const strangers = ran.filter((_, j) => answers[j]?.unregistered);
    if (strangers.length > 0) {
      const list = sql.join(strangers.map((w) => sql`(${w.msg.platform}, ${w.msg.messageId})`), sql`, `);
      await db.execute(sql`delete from inbound_messages where (platform, message_id) in (${list})`);
      await recordPendingChats(
        db,
        strangers.map(({ msg }) => ({
          platform: msg.platform,
          chatExternalId: msg.chatExternalId as string,
          senderExternalId: msg.senderExternalId,
          title: msg.chatTitle,
          at: msg.receivedAt,
        })),
      );
    }
    if (ran.length > 0) {
      // Keyed by platform and id; the two arrays let the primary key find each row. One parameter per list keeps
      // the statement's text the same for every batch size, so it is parsed and planned once per connection.
      const byKey = JSON.stringify(Object.fromEntries(ran.map((w, j) => [w.key, answers[j]])));
      const list = (xs: string[]) => textArray([...new Set(xs)]);
      await db.execute(sql`update inbound_messages m set replies = r.v -> 'replies', chat_id = r.v ->> 'chatId'
        from jsonb_each(${byKey}::jsonb) as r(k, v)
        where m.platform = any(${list(ran.map((w) => w.msg.platform))})
          and m.message_id = any(${list(ran.map((w) => w.msg.messageId))})
          and r.k = m.platform || ${KEY_SEPARATOR} || m.message_id`);
    }
    for (const [j, w] of ran.entries()) {
      const out = (answers[j] as { replies: Reply[] }).replies;
      results[w.index] = { replies: out, duplicate: false };
      if (w.transcript) await w.transcript(db, out);
    }
  });
  // A redelivery inside the batch gets the answer of its first copy.
  items.forEach((item, index) => {
    if (!results[index]) results[index] = results[firstIndex.get(keyOf(item.msg.platform, item.msg.messageId)) ?? -1] ?? null;
  });
  // The batch's slot is free again while its timers are set; each caller still waits for them.
  const after = deps.afterCommit(Effects.merge(effects));
  return results.map((r) => ({ ok: true as const, value: after.then(() => r as HandleResult) }));
}

/**
 * One fresh message's command, inside the batch's transaction. Replies in a group pass the privacy guard: the
 * renderers put person-typed text through forGroup, and this net catches what a future one might forget.
 */
async function run(deps: PipelineDeps, db: Db, effects: Effects, msg: IncomingMessage, from: MessageSender): Promise<Reply[]> {
  const senders = deps.senders;
  const ctx: Ctx = {
    db,
    now: deps.clock(),
    effects,
    overrides: deps.overrides,
    directory: deps.directory,
    canReachPrivately: senders ? (personId) => canReachPrivately(db, senders, personId) : undefined,
  };
  const actor: Actor = { person: from.person, externalId: msg.senderExternalId, chat: from.chat, household: from.household };
  const addressed = msg.addressed ?? Boolean(deps.addressing?.test(msg.text));
  const quoted = msg.quote ? await quotedTicketId(db, msg.quote, from.chat?.id ?? null, deps.botNames) : undefined;
  const command = (text: string, as: Actor = actor) => dispatch(ctx, as, text, deps.botNames, addressed, !as.chat, quoted);
  // Photos, voice and places decide which ticket they belong to around the command (src/bot/media-dispatch.ts).
  const out = await (needsMediaDispatch(msg) ? mediaDispatch(ctx, actor, msg, deps.botNames, command, quoted) : command(msg.text));
  return from.chat ? out.map((r) => ({ ...r, text: guardGroupMessage(r.text) })) : out;
}

/** Parse, then the command table's row for the intent; chat that is no command may still pick from a choice list. */
async function dispatch(
  ctx: Ctx,
  actor: Actor,
  text: string,
  botNames: string[],
  addressed: boolean,
  direct: boolean,
  /** The ticket a quoted message is about: fills in a ticket command that names none. */
  quotedTicket?: number,
): Promise<Reply[]> {
  const cmd = parseCommand(text, { botNames, quotedTicket });
  if (direct && !actor.person) return [replies.unknownPerson()];
  if (cmd.intent === "none") return answerChat({ ctx, actor, text, botNames, addressed: addressed || direct });
  if (cmd.intent === "invalid") return [replies.invalid(cmd.hint ?? replies.notUnderstood().text)];
  return runCommand(cmd.intent, { ctx, actor, cmd, text });
}
