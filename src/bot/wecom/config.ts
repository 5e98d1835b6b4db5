/** What the WeCom adapter needs from the environment (src/env.ts `wecomConfig`). Secrets: never logged. */
export type WecomConfig = {
  token: string;
  encodingAESKey: string;
  botId: string;
  /** The 智能机器人's display names: its @name is stripped from messages. */
  botNames: string[];
  /** 消息推送 API base URL (https://qyapi.weixin.qq.com; tests point it at the fake). */
  webhookBase: string;
};
