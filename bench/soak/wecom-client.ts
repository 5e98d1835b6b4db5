/**
 * The WeCom side of a callback, as the load generator and the soak send it: sign and encrypt exactly like WeCom
 * (the fake's independent implementation, test/fakes/wecom.ts), POST over a keep-alive connection, and open the
 * encrypted passive reply the way WeCom checks it (our nonce, a valid msgsignature, receiveid "").
 */
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { wxDecrypt, wxEncrypt, wxSign } from "../../test/fakes/wecom.js";
import type { WecomCreds } from "./world.js";

export type Prepared = { query: string; body: string; nonce: string; msgid: string };

let seq = 0;
export const msgId = (tag: string) => `${tag}${process.pid.toString(36)}x${(seq++).toString(36)}${randomBytes(3).toString("hex")}`;

export function groupText(creds: WecomCreds, chatid: string, userid: string, content: string, msgid: string) {
  return {
    msgid,
    aibotid: creds.botId,
    chatid,
    chattype: "group",
    from: { userid },
    response_url: "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=SOAK",
    msgtype: "text",
    text: { content },
  };
}

/** A signed, encrypted delivery of `plaintext` (a redelivery is a new prepare of the same plaintext). */
export function prepare(creds: WecomCreds, plaintext: { msgid: string }): Prepared {
  const encrypted = wxEncrypt(creds.encodingAESKey, JSON.stringify(plaintext), "");
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(6).toString("hex");
  const q = new URLSearchParams({ msg_signature: wxSign(creds.token, timestamp, nonce, encrypted), timestamp, nonce });
  return { query: `?${q}`, body: JSON.stringify({ encrypt: encrypted }), nonce, msgid: plaintext.msgid };
}

export type Answer = { status: number; body: string } | { status: "error" | "timeout"; body: "" };

export const agent = (maxSockets: number) => new Agent({ keepAlive: true, maxSockets });

/** One POST; never throws. */
export function post(url: string, p: Prepared, ag: Agent, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      `${url}${p.query}`,
      { method: "POST", agent: ag, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(p.body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", () => resolve({ status: "error", body: "" }));
      },
    );
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve({ status: "timeout", body: "" });
    });
    req.on("error", () => resolve({ status: "error", body: "" }));
    req.end(p.body);
  });
}

/** Open a passive reply as WeCom would; throws on anything WeCom would reject. Returns the stream content. */
export function openReply(creds: WecomCreds, body: string, nonce: string): string {
  if (body === "") return "";
  const env = JSON.parse(body) as Record<string, unknown>;
  if (env.nonce !== nonce) throw new Error("reply nonce is not the callback's");
  if (env.msgsignature !== wxSign(creds.token, String(env.timestamp), nonce, String(env.encrypt))) throw new Error("reply signature");
  const { message, receiveId } = wxDecrypt(creds.encodingAESKey, String(env.encrypt));
  if (receiveId !== "") throw new Error("reply receiveid");
  const reply = JSON.parse(message) as { stream?: { content?: string }; text?: { content?: string } };
  return reply.stream?.content ?? reply.text?.content ?? "";
}
