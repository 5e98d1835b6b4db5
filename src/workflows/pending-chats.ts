/**
 * 待绑定: groups that @-mentioned the bot before anyone registered them. The pipeline records each one (every
 * platform and the simulator come through it), the dashboard lists them, and binding a group (bindChat, from the
 * dashboard or `npm run wecom:bind`) removes its row.
 */
import { desc } from "drizzle-orm";
import { type Db, sql } from "../db/client.js";
import { pendingChats, type Platform } from "../db/schema/index.js";

export type PendingChat = typeof pendingChats.$inferSelect;

export type StrangerMessage = {
  platform: Platform;
  chatExternalId: string;
  senderExternalId: string;
  /** The group's name where the platform gives one. */
  title?: string;
  at: Date;
};

/**
 * New groups are recorded while fewer than this many wait: a flood of made-up chat ids (the open simulator) cannot
 * grow the table without bound, and a real town never has that many unbound groups at once.
 */
export const MAX_PENDING = 500;

/**
 * Records the groups of these messages as 待绑定, in one statement: a new group with its first sender and time, a
 * known one with its count and last time moved on. Idempotent per message only in the sense that matters (a
 * redelivery moves the count, nothing else).
 */
export async function recordPendingChats(db: Db, list: StrangerMessage[]): Promise<void> {
  if (list.length === 0) return;
  const rows = JSON.stringify(
    list.map((m) => ({
      platform: m.platform,
      external_id: m.chatExternalId,
      title: m.title?.slice(0, 100) || null,
      sender: m.senderExternalId,
      at: m.at.toISOString(),
    })),
  );
  // Several messages of one new group in a batch: the earliest is its first sender.
  await db.execute(sql`insert into pending_chats
      (platform, external_id, title, first_sender_external_id, first_seen_at, last_seen_at, messages)
    select distinct on (r.platform, r.external_id) r.platform, r.external_id, r.title, r.sender, r.at, r.at,
      count(*) over (partition by r.platform, r.external_id)
    from jsonb_to_recordset(${rows}::jsonb) as r(platform text, external_id text, title text, sender text, at timestamptz)
    where (select count(*) from pending_chats) < ${MAX_PENDING}
      or exists (select 1 from pending_chats p where p.platform = r.platform and p.external_id = r.external_id)
    order by r.platform, r.external_id, r.at
    on conflict (platform, external_id) do update set
      messages = pending_chats.messages + excluded.messages,
      last_seen_at = greatest(pending_chats.last_seen_at, excluded.last_seen_at),
      title = coalesce(excluded.title, pending_chats.title)`);
}

export async function listPendingChats(db: Db, limit = 200): Promise<PendingChat[]> {
  return db.select().from(pendingChats).orderBy(desc(pendingChats.lastSeenAt)).limit(limit);
}
