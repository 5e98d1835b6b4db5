/**
 * Binding a group chat to a unit, for every way an admin does it (`npm run wecom:bind`, the dashboard's 待绑定 page):
 * the 消息推送 address a WeCom group needs is taken as pasted (a URL or its key), kept server-side and never shown
 * back beyond its last characters. The binding itself is the workflow's (bindChat).
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { chats, type Platform, units } from "../db/schema/index.js";
import { BindError, bindChat, boundNotice } from "../workflows/chats.js";
import type { Ctx } from "../workflows/context.js";
import { queueMessage } from "../workflows/outbox.js";
import { PLATFORM_ZH } from "../workflows/roles.js";
import type { DirectoryActor } from "../workflows/roster/access.js";
import { recordChange } from "../workflows/roster/history.js";
import { normalizeWebhook } from "./wecom/webhook.js";

export type BindGroupRequest = {
  platform: Platform;
  externalId: string;
  unitId: string;
  name: string;
  /** The 消息推送 address or key as pasted; empty or undefined keeps the one stored (if any). */
  webhook?: string;
};

export type BoundGroup = { chatId: string; created: boolean; webhookSaved: boolean };

export async function bindGroup(db: Db, req: BindGroupRequest, now = new Date()): Promise<BoundGroup> {
  const pasted = req.webhook?.trim() || undefined;
  if (pasted && req.platform !== "wecom") throw new BindError("只有企业微信群需要消息推送地址");
  const webhookUrl = pasted === undefined ? undefined : normalizeWebhook(pasted);
  const r = await bindChat(db, { platform: req.platform, externalId: req.externalId, unitId: req.unitId, name: req.name, webhookUrl }, now);
  return { ...r, webhookSaved: webhookUrl !== undefined };
}

/**
 * Binding from the dashboard: the binding, its line in the directory history and, for a group bound for the first
 * time that the bot can post to, a notice there — all in the caller's transaction.
 */
export async function bindGroupAs(ctx: Ctx, by: DirectoryActor, req: BindGroupRequest): Promise<BoundGroup & { changeId: number }> {
  const r = await bindGroup(ctx.db, req, ctx.now);
  const [chat] = await ctx.db.select().from(chats).where(eq(chats.id, r.chatId));
  const [unit] = await ctx.db.select({ name: units.name }).from(units).where(eq(units.id, req.unitId));
  if (!chat || !unit) throw new BindError("绑定没有完成，请重试");
  const changeId = await recordChange(ctx.db, by, ctx.now, {
    kind: "bind_chat",
    unitId: req.unitId,
    summary: `${r.created ? "绑定" : "更新"}${PLATFORM_ZH[chat.platform]}群「${chat.name}」→ ${unit.name}${r.webhookSaved ? "（已保存消息推送地址）" : ""}`,
    data: { chatId: chat.id, platform: chat.platform, externalId: chat.externalId, webhookSaved: r.webhookSaved },
  });
  // A WeCom group is reached only through its 消息推送 address.
  if (r.created && (chat.platform !== "wecom" || chat.webhookUrl)) {
    await queueMessage(ctx, {
      dedupeKey: `bound-${changeId}`,
      to: { chatId: chat.id },
      kind: "notice",
      payload: { text: boundNotice(unit.name), mentions: [] },
    });
  }
  return { ...r, changeId };
}
