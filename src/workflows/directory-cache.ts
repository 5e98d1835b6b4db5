/**
 * A per-process cache of the directory reads every message makes: who sent it from which chat, and the unit
 * ladder (path, town settings, leaders) a ticket climbs. The directory changes rarely (an import, a chat binding)
 * and every change moves `directory_version` (statement triggers, migration 0003), so one cheap read of that
 * number per batch of messages says whether the cache still holds: nothing stale is ever used across a change
 * that committed before the batch began.
 */
import type { Platform } from "../db/schema/index.js";
import type { Chat, Household, Leader, PathUnit, Person } from "./directory.js";

/** Who sent a message: a group message's chat, sender and household; a direct message's sender only. */
export type MessageSender = { chat: Chat | null; person: Person | null; household?: Household | null };

export type UnitLadder = { path: PathUnit[]; leaders: Map<string, Leader[]> };

/** Entries kept; past that the oldest go first (a county's active senders and units fit many times over). */
const MAX_ENTRIES = 50_000;

function remember<K, V>(map: Map<K, V>, key: K, value: V): V {
  if (map.size >= MAX_ENTRIES) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
  return value;
}

export class DirectoryCache {
  private version: number | null = null;
  /** Everything kept, by a key naming what it is ("sender:…", "ladder:…", "dingtalk-users:…"). */
  private readonly values = new Map<string, unknown>();

  /** The directory version as read at the start of a batch: everything is forgotten when it moved. */
  observe(version: number): void {
    if (version !== this.version) {
      this.values.clear();
      this.version = version;
    }
  }

  /** A group sender (chat + person + household), or null when the chat is not registered. */
  sender(platform: Platform, chat: string, sender: string, load: () => Promise<MessageSender | null>): Promise<MessageSender | null> {
    return this.memo(`sender:${platform}\u0000${chat}\u0000${sender}`, load);
  }

  ladder(unitId: string, load: () => Promise<UnitLadder>): Promise<UnitLadder> {
    return this.memo(`ladder:${unitId}`, load);
  }

  /** A value computed from directory tables only, kept until the directory changes. */
  async memo<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.values.has(key)) return this.values.get(key) as T;
    const version = this.version;
    const found = await load();
    // A version that moved while this was loading makes the answer unsafe to keep.
    return version === this.version ? (remember(this.values, key, found) as T) : found;
  }
}
