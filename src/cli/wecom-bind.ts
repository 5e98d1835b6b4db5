/**
 * `npm run wecom:bind -- --chat <chatid> --unit <unitId> --name <群名> --webhook <消息推送地址或 key>`
 *
 * Binds a WeCom group (its chatid, which the bot tells an unregistered group) to a unit of the directory and stores
 * the group's 消息推送 webhook server-side. `--webhook -` reads the address from standard input, so it stays out of
 * the shell history. The address is never printed. Re-running updates the binding and revives a dead webhook.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { normalizeWebhook, WebhookError } from "../bot/wecom/webhook.js";
import { EnvError } from "../env.js";
import { bindGroup } from "../bot/bind-chat.js";
import { BindError } from "../workflows/chats.js";
import { runCli, withDatabase } from "./run.js";

const USAGE = "用法：npm run wecom:bind -- --chat <群ID> --unit <单位id> --name <群名称> [--webhook <消息推送地址|key|->]";

async function main(argv: string[]): Promise<number> {
  let values: { chat?: string; unit?: string; name?: string; webhook?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { chat: { type: "string" }, unit: { type: "string" }, name: { type: "string" }, webhook: { type: "string" } },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { chat, unit, name } = values;
  if (!chat || !unit || !name) {
    console.error(USAGE);
    return 2;
  }
  const webhook = values.webhook === "-" ? readFileSync(0, "utf8").trim() : values.webhook;
  if (webhook !== undefined) normalizeWebhook(webhook); // a bad address is reported before the database is opened
  return withDatabase(async (db) => {
    const r = await bindGroup(db, { platform: "wecom", externalId: chat, unitId: unit, name, webhook });
    const hook = r.webhookSaved ? "消息推送地址已保存（不显示）" : "消息推送地址未改动";
    console.log(`${r.created ? "已登记" : "已更新"}：企业微信群 ${chat} → 单位 ${unit}（${name}），${hook}。`);
    return 0;
  });
}

runCli(
  () => main(process.argv.slice(2)),
  (err) =>
    err instanceof BindError || err instanceof WebhookError || err instanceof EnvError
      ? `绑定失败：${err.message}`
      : `绑定失败：${(err as Error).message}`,
);
