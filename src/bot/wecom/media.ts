/**
 * Photos of the 智能机器人 (doc 100719: image.url / mixed.msg_item[].image.url, "五分钟内有效，已加密"): the file at the
 * URL is AES-256-CBC encrypted with the callback's own key — AESKey = Base64_Decode(EncodingAESKey + "="), IV = its
 * first 16 bytes, PKCS#7 padding to a multiple of 32 bytes — and, unlike a callback, has no random/length/receiveid
 * framing (the official aibot SDK's decryptFile does the same). Node's own unpadding assumes 16-byte blocks, so the
 * padding is checked here.
 */
import { createDecipheriv } from "node:crypto";
import type { MediaSource } from "../../db/schema/index.js";
import { type MediaFetcher, MediaError } from "../../workflows/media/job.js";
import { download } from "../media/download.js";

/** How long WeCom's media URLs work (100719). */
export const WECOM_MEDIA_VALID_MS = 5 * 60_000;

/** Decrypt a downloaded WeCom file; a wrong key or a damaged file fails the strict padding check. */
export function decryptWecomFile(encodingAESKey: string, data: Buffer): Buffer {
  const key = Buffer.from(`${encodingAESKey}=`, "base64");
  if (key.length !== 32) throw new MediaError("decrypt", "bad EncodingAESKey");
  if (data.length === 0 || data.length % 32 !== 0) throw new MediaError("decrypt", "not whole 32-byte blocks");
  const decipher = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data), decipher.final()]);
  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > 32 || pad > plain.length) throw new MediaError("decrypt", "bad padding");
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) throw new MediaError("decrypt", "bad padding");
  return plain.subarray(0, plain.length - pad);
}

export function wecomMediaFetcher(config: { encodingAESKey: string; timeoutMs?: number }): MediaFetcher {
  return {
    platform: "wecom",
    async fetch(source: MediaSource): Promise<Buffer> {
      if (source.platform !== "wecom") throw new MediaError("refused", "not a WeCom photo");
      return decryptWecomFile(config.encodingAESKey, await download(source.url, { timeoutMs: config.timeoutMs }));
    },
  };
}
