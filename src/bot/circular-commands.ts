/**
 * 通知 and 已传达 from chat: the command table's handlers and their words. Every answer may be read in a group, so a
 * notice's title goes through forGroup; the notice itself reaches the groups through the outbox (see
 * src/workflows/circulars/send.ts).
 */
import { forGroup, GROUP_CUTS } from "../lib/privacy.js";
import { formatWhenZh } from "../lib/time.js";
import { confirmCircular } from "../workflows/circulars/confirm.js";
import { sendCircular } from "../workflows/circulars/send.js";
import type { Ctx } from "../workflows/context.js";
import type { Chat, Person } from "../workflows/directory.js";
import { loadLadder } from "../workflows/tickets.js";
import type { Reply } from "./types.js";

const say = (text: string): Reply => ({ text, mentions: [] });

/** `通知 <标题>\n<正文>` from a village or town official (the table has checked the role). */
export async function circularCommand(ctx: Ctx, me: Person, chat: Chat | null, body: string): Promise<Reply[]> {
  const r = await sendCircular(ctx, me, chat, body);
  if (!r.ok) {
    return [
      say(
        r.reason === "no_groups"
          ? "你管辖的范围内还没有登记的群，通知没有发出。请管理员先登记群聊（见 README“登记群聊”）。"
          : "通知由村、镇干部发布。有要传达的事，请告诉村干部。",
      ),
    ];
  }
  const { circular: c } = r;
  const tags = (await loadLadder(ctx, c.unitId)).policy.sensitiveTags;
  const lines = [`📢 通知 #${c.id}「${forGroup(c.title, GROUP_CUTS.item, tags)}」已发往 ${r.groups} 个群，${r.recipients} 位负责人需要确认传达。`];
  if (r.deliverAt.getTime() > ctx.now.getTime()) lines.push(`现在是免打扰时段，${formatWhenZh(r.deliverAt, ctx.now)} 起陆续发到各群。`);
  lines.push(`邻长转告联系户后发「已传达 #${c.id}」；3 天还没确认的，我会私信提醒一次。传达率在看板“通知传达”页查看。`);
  return [{ ...say(lines.join("\n")), circularId: c.id }];
}

/** `已传达 #3` from a 邻长 (or whoever looks after a vacant 邻). */
export async function relayedCommand(ctx: Ctx, me: Person, id: number): Promise<Reply[]> {
  const r = await confirmCircular(ctx, me, id);
  if (r.ok) return [say(`✅ ${me.name} 已确认传达通知 #${r.circular.id}（已确认 ${r.confirmed}/${r.total} 人）。`)];
  switch (r.reason) {
    case "not_found":
      return [say(`找不到通知 #${r.id}，请核对编号。`)];
    case "not_recipient":
      return [say(`通知 #${r.circular.id} 不需要你确认：由各邻的邻长（邻长空缺时由组长）确认传达。`)];
    case "already":
      return [say(`你已在${formatWhenZh(r.at, ctx.now)} 确认过通知 #${r.circular.id}，不用再发。`)];
  }
}
