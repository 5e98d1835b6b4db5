/**
 * WeCom callback crypto (智能机器人, doc 101033 / 91144). `@wecom/crypto` computes signatures, encrypts and decrypts,
 * but it checks nothing: no signature comparison, no receiveid, a lenient PKCS#7 unpad, no length bounds, lenient
 * base64. A wrong EncodingAESKey or a flipped ciphertext byte decrypts "successfully" into garbage with receiveid "".
 * So this module decrypts with every check the library leaves out (see /work/shared/docs/protocols/wecom.md §4) and
 * uses the library for signatures and the reply's encryption.
 */
import { createDecipheriv, randomBytes, timingSafeEqual } from "node:crypto";
import { encrypt, getSignature } from "@wecom/crypto";

/** Anything wrong with a ciphertext. The message is safe to log: it never contains key, token or plaintext. */
export class CryptoError extends Error {}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX_SHA1 = /^[0-9a-fA-F]{40}$/;

/** Constant-time check of `msg_signature` = sha1(sort(token, timestamp, nonce, encrypt)). */
export function signatureMatches(token: string, timestamp: string, nonce: string, ciphertext: string, given: string): boolean {
  if (!HEX_SHA1.test(given)) return false;
  const expected = Buffer.from(getSignature(token, timestamp, nonce, ciphertext), "ascii");
  const actual = Buffer.from(given.toLowerCase(), "ascii");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decrypt once with the structural checks the library skips, on the raw plaintext: strict PKCS#7 to 32-byte blocks
 * (pad 1…32, every pad byte equal), `0 < msg_len ≤ len − 20`, and the message valid UTF-8. Returns the message and
 * the receiveid after it (layout: 16 random bytes, msg_len as 4 bytes big-endian, msg, receiveid). The library's own
 * decrypt would only repeat this AES pass with a lenient unpad, so the checked plaintext is read directly.
 */
function checkedPlaintext(key: Buffer, raw: Buffer): { message: string; id: string } {
  const decipher = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(raw), decipher.final()]);
  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > 32 || pad > plain.length) throw new CryptoError("bad padding");
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) throw new CryptoError("bad padding");
  const body = plain.subarray(0, plain.length - pad);
  if (body.length < 20) throw new CryptoError("plaintext too short");
  const len = body.readUInt32BE(16);
  if (len === 0 || len > body.length - 20) throw new CryptoError("bad message length");
  let message: string;
  try {
    message = UTF8.decode(body.subarray(20, 20 + len));
  } catch {
    throw new CryptoError("message is not UTF-8");
  }
  return { message, id: body.subarray(20 + len).toString("utf8") };
}

/** Decrypt a WeCom ciphertext and insist on the expected receiveid ("" for the 智能机器人). */
export function openCiphertext(encodingAESKey: string, ciphertext: string, receiveId: string): string {
  if (ciphertext.length === 0 || ciphertext.length > 200_000 || !STRICT_BASE64.test(ciphertext))
    throw new CryptoError("ciphertext is not base64");
  const raw = Buffer.from(ciphertext, "base64");
  // WeCom pads to 32-byte blocks: anything else was not made by WeCom.
  if (raw.length < 32 || raw.length % 32 !== 0) throw new CryptoError("bad ciphertext length");
  const key = Buffer.from(`${encodingAESKey}=`, "base64");
  if (key.length !== 32) throw new CryptoError("bad EncodingAESKey");
  const out = checkedPlaintext(key, raw);
  if (out.id !== receiveId) throw new CryptoError("unexpected receiveid");
  return out.message;
}

/**
 * The 16 random bytes that open each reply's plaintext, cut from a pool refilled 4 KB at a time: randomBytes(16)
 * per reply cost 7–20 µs here (an OpenSSL call each), on a flood day a thousand times a second.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;
function replyRandom(): Buffer {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  poolOffset += 16;
  return pool.subarray(poolOffset - 16, poolOffset);
}

export type Envelope = { encrypt: string; msgsignature: string; timestamp: number; nonce: string };

/** The encrypted passive-reply envelope: signed with our timestamp and the callback's own nonce. */
export function sealReply(token: string, encodingAESKey: string, plaintext: string, nonce: string, timestamp: number): Envelope {
  const ciphertext = encrypt(encodingAESKey, plaintext, "", replyRandom());
  return { encrypt: ciphertext, msgsignature: getSignature(token, String(timestamp), nonce, ciphertext), timestamp, nonce };
}
