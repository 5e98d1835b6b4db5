/**
 * Group chats as send destinations: binding a platform group to a unit (with its secret send address), and what
 * happens when that address stops working. Platform-neutral: the adapters say *that* a webhook died, the rule of
 * what follows (the chat is marked dead once, the admins are told) lives here.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { chats, pendingChats, people, type Platform, units } from "../db/schema/index.js";
import type { Ctx } from "./context.js";
import { isActive, unitPath } from "./directory.js";
import { queueMessage } from "./outbox.js";

export class BindError extends Error {}

export type BindChatInput = {
  platform: Platform;
  externalId: string;
  unitId: string;
  name: string;
  /** The secret send address; undefined keeps the one already stored. */
  webhookUrl?: string;
};

/**
 * Register (or re-register) a group: its unit, name and send address; a dead chat becomes active again, and a group
 * waiting as 待绑定 stops waiting.
 */
export async function bindChat(db: Db, input: BindChatInput, now = new Date()): Promise<{ chatId: string; created: boolean }> {
  const externalId = input.externalId.trim();
  const name = input.name.trim();
  if (!externalId || externalId.length > 256) throw new BindError("群 ID 不能为空");
  if (!name || name.length > 100) throw new BindError("群名称不能为空，且不超过 100 字");
  return db.transaction(async (tx) => {
    const [unit] = await tx.select({ id: units.id }).from(units).where(eq(units.id, input.unitId));
    if (!unit) throw new BindError(`找不到单位“${input.unitId}”，请核对名册里的单位 id`);
    const [existing] = await tx
      .select({ id: chats.id })
      .from(chats)
      .where(and(eq(chats.platform, input.platform), eq(chats.externalId, externalId)));
    const fields = {
      unitId: unit.id,
      name,
      status: "active" as const,
      updatedAt: now,
      ...(input.webhookUrl !== undefined ? { webhookUrl: input.webhookUrl } : {}),
    };
    await tx.delete(pendingChats).where(and(eq(pendingChats.platform, input.platform), eq(pendingChats.externalId, externalId)));
    if (existing) {
      await tx.update(chats).set(fields).where(eq(chats.id, existing.id));
      return { chatId: existing.id, created: false };
    }
    const base = `${input.platform}-${externalId}`.slice(0, 200);
    let id = base;
    for (let n = 2; (await tx.select({ id: chats.id }).from(chats).where(eq(chats.id, id))).length > 0; n++) id = `${base}-${n}`;
    await tx.insert(chats).values({ id, platform: input.platform, externalId, ...fields, createdAt: now });
    return { chatId: id, created: true };
  });
}

/** Said in a group once it is bound, so whoever asked there learns it works now. */
export function boundNotice(unitName: string): string {
  return `✅ 本群已登记到好邻，对应单位：${unitName}。现在可以 @我 报事了，发「帮助」查看用法。`;
}

export function webhookDeadNotice(chatName: string): string {
  return [
    `⚠️ 群「${chatName}」的消息推送地址已失效（平台答复：地址无效），机器人暂时无法在该群发上报提醒和周报。`,
    "请在该群重新添加“消息推送”，再按 README 的登记步骤重新绑定本群；重新绑定前，该群的提醒会暂停发送。",
  ].join("\n");
}

/**
 * A group's send address no longer works: mark the chat dead (once — a compare-and-set on its status) and queue a
 * notice to the admins responsible for it (admins on the chat's unit path; all admins if there are none).
 * Returns false when the chat was already dead or is unknown.
 */
export async function markWebhookDead(ctx: Ctx, chatId: string): Promise<boolean> {
  const [chat] = await ctx.db
    .update(chats)
    .set({ status: "dead", updatedAt: ctx.now })
    .where(and(eq(chats.id, chatId), eq(chats.status, "active")))
    .returning();
  if (!chat) return false;
  const path = await unitPath(ctx.db, chat.unitId);
  let admins = await ctx.db
    .select({ id: people.id })
    .from(people)
    .where(
      and(
        eq(people.role, "admin"),
        isActive,
        inArray(
          people.unitId,
          path.map((u) => u.id),
        ),
      ),
    );
  if (admins.length === 0) admins = await ctx.db.select({ id: people.id }).from(people).where(and(eq(people.role, "admin"), isActive));
  for (const admin of admins) {
    await queueMessage(ctx, {
      dedupeKey: `dead-${chat.id}-${ctx.now.getTime()}-${admin.id}`,
      to: { personId: admin.id },
      kind: "notice",
      payload: { text: webhookDeadNotice(chat.name), mentions: [] },
    });
  }
  return true;
}
