/**
 * 通知: an official sends a notice down their subtree. In one transaction: the notice, who is to pass it on (the
 * 邻长 of every 邻 below, or the leader above a vacant one — the same rule as visits), its 台账 line, and one outbox
 * row per registered group below (dedupe key `circular-<id>-<chat>`, so each group gets it once however the
 * transaction is retried). Delivery is paced by the senders' per-destination slots; quiet hours hold it till morning.
 */
import { and, eq, inArray } from "drizzle-orm";
import { chats, circularEvents, circularRecipients, circulars } from "../../db/schema/index.js";
import type { Ctx } from "../context.js";
import type { Chat, Person } from "../directory.js";
import { queueMessage } from "../outbox.js";
import { deliverAfterQuietHours } from "../policy.js";
import { isOfficial, ROLE_ZH } from "../roles.js";
import { loadLadder } from "../tickets.js";
import { caretakers, subtreeUnitIds } from "../visits/scope.js";
import { noticeForGroup, splitNotice } from "./words.js";

export type Circular = typeof circulars.$inferSelect;

/** Unconfirmed recipients are reminded this long after a notice went out. */
export const REMIND_AFTER_MS = 3 * 86_400_000;

export type SendOutcome =
  | { ok: true; circular: Circular; groups: number; recipients: number; deliverAt: Date }
  | { ok: false; reason: "forbidden" | "no_groups" };

export const circularKey = (id: number, chatId: string) => `circular-${id}-${chatId}`;

export async function sendCircular(
  ctx: Ctx,
  sender: Person,
  chat: Chat | null,
  typed: string,
): Promise<SendOutcome> {
  if (!isOfficial(sender.role)) return { ok: false, reason: "forbidden" };
  const units = await subtreeUnitIds(ctx.db, sender.unitId);
  const groups = await ctx.db
    .select()
    .from(chats)
    .where(and(inArray(chats.unitId, units), eq(chats.status, "active")))
    .orderBy(chats.id);
  if (groups.length === 0) return { ok: false, reason: "no_groups" };

  const ladder = await loadLadder(ctx, sender.unitId);
  const { title, body } = splitNotice(typed);
  const [circular] = await ctx.db
    .insert(circulars)
    .values({
      senderId: sender.id,
      unitId: sender.unitId,
      chatId: chat?.id ?? null,
      title,
      body,
      groups: groups.length,
      remindAt: new Date(ctx.now.getTime() + REMIND_AFTER_MS),
      createdAt: ctx.now,
    })
    .returning();
  if (!circular) throw new Error("sendCircular: no row");

  // Whoever looks after each 邻 below passes it on; someone looking after several 邻 is one recipient.
  const carers = new Map<string, Person>();
  for (const list of (await caretakers(ctx.db, sender.unitId)).values()) for (const p of list) carers.set(p.id, p);
  carers.delete(sender.id);
  const recipients = [...carers.values()];
  if (recipients.length)
    await ctx.db.insert(circularRecipients).values(recipients.map((p) => ({ circularId: circular.id, personId: p.id, unitId: p.unitId })));
  await ctx.db.insert(circularEvents).values({
    circularId: circular.id,
    at: ctx.now,
    actorId: sender.id,
    kind: "sent",
    data: { groups: groups.map((g) => g.id), recipients: recipients.length },
  });

  const deliverAt = deliverAfterQuietHours(ladder.policy, ctx.now);
  const text = noticeForGroup({
    id: circular.id,
    title,
    body,
    sender: `${sender.name}（${ROLE_ZH[sender.role]}）`,
    senderUnit: ladder.path[0]?.name ?? "",
    tags: ladder.policy.sensitiveTags,
  });
  for (const g of groups) {
    await queueMessage(ctx, {
      dedupeKey: circularKey(circular.id, g.id),
      to: { chatId: g.id },
      kind: "notice",
      payload: { text, mentions: [] },
      notBefore: deliverAt,
    });
  }
  return { ok: true, circular, groups: groups.length, recipients: recipients.length, deliverAt };
}
