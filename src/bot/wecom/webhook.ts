/**
 * 消息推送 (formerly 群机器人) webhook addresses. The key is the only credential: it is stored server-side, never
 * logged or echoed. Only the key is kept from what the admin pastes; the host always comes from configuration,
 * so a stored address can never point the bot somewhere else.
 */
const KEY = /^[A-Za-z0-9-]{8,128}$/;
export const OFFICIAL_BASE = "https://qyapi.weixin.qq.com";

export class WebhookError extends Error {}

/** The key of a webhook URL (…/cgi-bin/webhook/send?key=KEY) or a bare key; null if it is neither. */
export function webhookKey(input: string | null | undefined): string | null {
  if (!input) return null;
  const s = input.trim();
  if (KEY.test(s)) return s;
  try {
    const url = new URL(s);
    const key = url.searchParams.get("key");
    return url.pathname.endsWith("/cgi-bin/webhook/send") && key && KEY.test(key) ? key : null;
  } catch {
    return null;
  }
}

/** The address to store for a pasted URL or key. The error never repeats the input. */
export function normalizeWebhook(input: string): string {
  const key = webhookKey(input);
  if (!key) throw new WebhookError("消息推送地址格式不对：应为 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=… 或其中的 key");
  return `${OFFICIAL_BASE}/cgi-bin/webhook/send?key=${key}`;
}

/** What may be shown of a stored address: that there is one, and the last 4 characters of its key ("…a1b2"). */
export function webhookHint(url: string | null | undefined): string | null {
  const key = webhookKey(url);
  return key ? `…${key.slice(-4)}` : null;
}

export const sendUrl = (base: string, key: string) =>
  `${base.replace(/\/+$/, "")}/cgi-bin/webhook/send?key=${encodeURIComponent(key)}`;

/** Split text into pieces of at most maxBytes UTF-8 bytes, at line breaks where possible. */
export function splitBytes(text: string, maxBytes: number): string[] {
  const out: string[] = [];
  let cur = "";
  const push = () => {
    if (cur !== "") out.push(cur);
    cur = "";
  };
  for (const line of text.split("\n")) {
    const candidate = cur === "" ? line : `${cur}\n${line}`;
    if (Buffer.byteLength(candidate) <= maxBytes) {
      cur = candidate;
      continue;
    }
    push();
    if (Buffer.byteLength(line) <= maxBytes) {
      cur = line;
      continue;
    }
    for (const ch of line) {
      if (Buffer.byteLength(cur) + Buffer.byteLength(ch) > maxBytes) push();
      cur += ch;
    }
  }
  push();
  return out.length ? out : [""];
}
