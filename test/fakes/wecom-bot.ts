/**
 * A whole bot wired to the fake WeCom: the harness (real database, runtime, scheduler), the real app serving
 * /wecom/callback over HTTP on a random port, the real WeCom sender pointed at the fake's webhook server, and one
 * WeCom group bound through the same function the `wecom:bind` CLI uses.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { pino } from "pino";
import { createApp } from "../../src/app.js";
import { simSender } from "../../src/bot/sim/sender.js";
import type { WecomConfig } from "../../src/bot/wecom/config.js";
import type { AppSenderOptions } from "../../src/bot/wecom/app-sender.js";
import { wecomMediaFetcher } from "../../src/bot/wecom/media.js";
import { createWecomSender } from "../../src/bot/wecom/sender.js";
import { normalizeWebhook } from "../../src/bot/wecom/webhook.js";
import { identities } from "../../src/db/schema/index.js";
import type { Runtime } from "../../src/runtime.js";
import { bindChat, markWebhookDead } from "../../src/workflows/chats.js";
import { createHarness, type HarnessOptions } from "../helpers/harness.js";
import { FakeWecom, randomAESKey } from "./wecom.js";

export const CHATID = "wrVillageGroup01";
export const BOT_ID = "aibTESTBOT01";

export type WecomBotOptions = HarnessOptions & {
  minIntervalMs?: number;
  reporterIdentity?: boolean;
  /** The 自建应用 (test/fakes/wecom-app.ts): private messages through application messages. */
  app?: AppSenderOptions;
  /** Also the simulator's sender (default true); false makes a WeCom-only deployment. */
  sim?: boolean;
};

export async function startWecomBot(opts: WecomBotOptions = {}) {
  const token = "HaolinTestToken7";
  const encodingAESKey = randomAESKey();
  const fake = await FakeWecom.start({ token, encodingAESKey, botId: BOT_ID });
  /** Everything the adapter and sender log, to check that nothing secret or personal is in it. */
  const logs: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  const config: WecomConfig = { token, encodingAESKey, botId: BOT_ID, botNames: ["好邻"], webhookBase: fake.url };
  let runtime: Runtime | undefined;
  const sender = createWecomSender({
    webhookBase: fake.url,
    logger,
    minIntervalMs: opts.minIntervalMs,
    app: opts.app,
    onDeadWebhook: async (chatId) => {
      await runtime?.transact((ctx) => markWebhookDead(ctx, chatId));
    },
  });
  // Photos are fetched and decrypted with the bot's own key, as in production (src/index.ts).
  const h = await createHarness({ fetchers: [wecomMediaFetcher({ encodingAESKey })], ...opts, senders: opts.sim === false ? [sender] : [simSender, sender] });
  runtime = h.runtime;
  const app = createApp({ runtime: h.runtime, logger, sim: false, wecom: config, wecomApp: opts.app?.api });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  fake.botUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wecom/callback`;

  const hook = fake.addWebhook();
  const { chatId } = await bindChat(h.db, { platform: "wecom", externalId: CHATID, unitId: "g1", name: "东村一组企微群", webhookUrl: normalizeWebhook(hook.url) });
  // The fixture gives 王邻长 (WangLZ) and 张组长 (zhangzz) WeCom ids; 李一 reports from WeCom as LiYi.
  if (opts.reporterIdentity !== false) await h.db.insert(identities).values({ platform: "wecom", externalId: "liyi", personId: "r1" });

  return {
    h,
    fake,
    config,
    logs,
    hook,
    chatId,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await h.close();
      await fake.close();
    },
  };
}
