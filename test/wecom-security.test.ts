/**
 * Every bad callback is rejected before it touches the pipeline: nothing stored, nothing secret or personal logged.
 * Real HTTP, real crypto (the fake signs and encrypts independently of @wecom/crypto).
 */
import { createCipheriv, randomBytes } from "node:crypto";
import { request } from "node:http";
import { count } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCiphertext, signatureMatches } from "../src/bot/wecom/crypto.js";
import { inboundMessages, outbox, tickets } from "../src/db/schema/index.js";
import { type CallbackOptions, groupText, randomAESKey, wxDecrypt, wxEncrypt, wxSign } from "./fakes/wecom.js";
import { BOT_ID, CHATID, startWecomBot } from "./fakes/wecom-bot.js";
import { metricValue } from "./helpers/metrics.js";

type Bot = Awaited<ReturnType<typeof startWecomBot>>;
let bot: Bot;
beforeAll(async () => {
  bot = await startWecomBot({ scheduler: "memory" });
});
afterAll(async () => {
  await bot?.close();
});

const SECRET_TEXT = "报事 我家电话13912345678门口坏了";
const stored = async () => ({
  inbound: (await bot.h.db.select({ n: count() }).from(inboundMessages))[0]?.n,
  tickets: (await bot.h.db.select({ n: count() }).from(tickets))[0]?.n,
  outbox: (await bot.h.db.select({ n: count() }).from(outbox))[0]?.n,
});
const flip = (b64: string) => {
  const raw = Buffer.from(b64, "base64");
  raw[40] = (raw[40] ?? 0) ^ 0x01;
  return raw.toString("base64");
};
const valid = () => groupText(BOT_ID, CHATID, "LiYi", `@好邻 ${SECRET_TEXT}`);

/** A POST whose body comes in chunks with no Content-Length: the size limit must hold while it streams. */
function chunkedPost(chunks: string[]): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${bot.fake.botUrl}?msg_signature=x&timestamp=1&nonce=y`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

const cases: [string, number, () => Promise<{ status: number }>][] = [
  ["bad signature (wrong token)", 401, () => bot.fake.callback(valid(), { token: "NotTheToken1" })],
  ["stale timestamp (an hour old)", 401, () => bot.fake.callback(valid(), { timestamp: Math.floor(Date.now() / 1000) - 3600 })],
  ["timestamp from the future", 401, () => bot.fake.callback(valid(), { timestamp: Math.floor(Date.now() / 1000) + 3600 })],
  ["tampered ciphertext", 401, () => bot.fake.callback(valid(), { tamper: flip })],
  ["tampered ciphertext, re-signed (token leaked, key not)", 400, () => bot.fake.callback(valid(), { tamper: flip, resign: true })],
  ["non-base64 junk around the ciphertext, re-signed", 400, () => bot.fake.callback(valid(), { tamper: (e) => `!!${e}@@`, resign: true })],
  ["wrong EncodingAESKey", 400, () => bot.fake.callback(valid(), { encodingAESKey: randomAESKey() })],
  ["wrong aibotid", 403, () => bot.fake.callback({ ...valid(), aibotid: "aibSOMEONEELSE" })],
  ["oversize body (600 KB)", 413, () => bot.fake.callback(valid(), { rawBody: JSON.stringify({ encrypt: "A".repeat(600_000) }) })],
  ["oversize body in chunks, without a length (600 KB)", 413, () => chunkedPost(Array.from({ length: 600 }, () => "A".repeat(1024)))],
  ["malformed JSON body", 400, () => bot.fake.callback(valid(), { rawBody: '{"encrypt": ' })],
  ["body without encrypt", 400, () => bot.fake.callback(valid(), { rawBody: '{"msg": "x"}' })],
  ["missing msg_signature", 400, () => bot.fake.callback(valid(), { omit: ["msg_signature"] } satisfies CallbackOptions)],
  ["missing timestamp", 400, () => bot.fake.callback(valid(), { omit: ["timestamp"] })],
];

const metric = (sample: string) => metricValue(bot.fake.botUrl, sample);

describe("WeCom callback security", () => {
  it("counts rejections by status in /metrics, for an operator to alert on", async () => {
    const sample = 'haolin_callbacks_rejected_total{platform="wecom",status="401"}';
    const before = await metric(sample);
    expect((await bot.fake.callback(valid(), { token: "NotTheToken1" })).status).toBe(401);
    expect(await metric(sample)).toBe(before + 1);
  });

  for (const [name, status, send] of cases) {
    it(`rejects: ${name} → ${status}, nothing stored`, async () => {
      const before = await stored();
      const logStart = bot.logs.length;
      const res = await send();
      expect(res.status).toBe(status);
      expect(await stored()).toEqual(before);
      const logged = bot.logs.slice(logStart).join("\n");
      expect(logged).toContain("callback rejected");
      for (const s of ["门口坏了", "13912345678", bot.config.token, bot.config.encodingAESKey, "NotTheToken1"]) expect(logged).not.toContain(s);
    });
  }

  // Signed with the token and sealed with the key, so from WeCom: refusing it would only make WeCom deliver it
  // again (and again), so it is answered 200 with an empty body, stores nothing, and is counted.
  const authentic: [string, string, () => Promise<{ status: number; body: string }>][] = [
    ["malformed JSON inside the ciphertext", "not_json", () => bot.fake.callback('{"msgid": "x", "aibotid": ')],
    ["callback of the wrong shape", "malformed", () => bot.fake.callback({ ...valid(), from: "LiYi" })],
    // 100719 defines no location message for the 智能机器人; this made-up one stands for any type it might add.
    [
      "a msgtype the bot does not know (a location)",
      "unknown_msgtype",
      () => bot.fake.callback({ ...valid(), msgtype: "location", location: { latitude: 30.27412, longitude: 120.15515, name: "幸福路88号王家门口" } }),
    ],
  ];
  for (const [name, reason, send] of authentic) {
    it(`answers 200 and drops: ${name}, nothing stored, counted`, async () => {
      const sample = `haolin_callbacks_ignored_total{platform="wecom",reason="${reason}"}`;
      const before = await stored();
      const counted = await metric(sample);
      const logStart = bot.logs.length;
      const res = await send();
      expect(res).toMatchObject({ status: 200, body: "" });
      expect(await stored()).toEqual(before);
      expect(await metric(sample)).toBe(counted + 1);
      const logged = bot.logs.slice(logStart).join("\n");
      expect(logged).toContain("callback ignored");
      for (const s of ["门口坏了", "13912345678", "幸福路88号", "30.27412", "120.15515"]) expect(logged).not.toContain(s);
    });
  }

  it("URL verification with a bad signature or stale timestamp is refused", async () => {
    expect((await bot.fake.verifyUrl({ token: "NotTheToken1" })).status).toBe(401);
    expect((await bot.fake.verifyUrl({ timestamp: 1_000_000_000 })).status).toBe(401);
    expect((await bot.fake.verifyUrl({ encodingAESKey: randomAESKey() })).status).toBe(400);
  });

  it("after all that, a genuine callback still goes through (the control)", async () => {
    const res = await bot.fake.callback(valid());
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.reply)).toContain("已登记工单");
  });
});

describe("WeCom crypto wrapper", () => {
  // developer.work.weixin.qq.com 91144 sample: token QDG6eK, EncodingAESKey, receiveid = CorpID.
  const KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
  const ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";

  it("verifies and opens the official sample vector", () => {
    expect(signatureMatches("QDG6eK", "1409659589", "263014780", ECHO, "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3")).toBe(true);
    expect(signatureMatches("QDG6eK", "1409659589", "263014780", ECHO, "5C45FF5E21C57E6AD56BAC8758B79B1D9AC89FD3")).toBe(true);
    expect(signatureMatches("QDG6eK", "1409659590", "263014780", ECHO, "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3")).toBe(false);
    expect(signatureMatches("QDG6eK", "1409659589", "263014780", ECHO, "5c45ff")).toBe(false);
    expect(openCiphertext(KEY, ECHO, "wx5823bf96d3bd56c7")).toBe("1616140317555161061");
  });

  it("verifies and opens the vector of the official WXBizMsgCrypt / WXBizJsonMsgCrypt samples (VerifyURL)", () => {
    // Sample.py of WeCom's weworkapi callback samples (XML and JSON variants share it): receiveid = the CorpID.
    const token = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
    const key = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
    const echo = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==";
    expect(signatureMatches(token, "1476416373", "47744683", echo, "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb")).toBe(true);
    expect(signatureMatches(token, "1476416373", "47744684", echo, "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb")).toBe(false);
    expect(openCiphertext(key, echo, "ww1436e0e65a779aee")).toBe("1288432023552776189");
    expect(wxDecrypt(key, echo)).toEqual({ message: "1288432023552776189", receiveId: "ww1436e0e65a779aee" });
    expect(wxSign(token, "1476416373", "47744683", echo)).toBe("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb");
  });

  it("refuses what @wecom/crypto lets through: wrong receiveid, wrong key, flipped bytes, junk base64", () => {
    expect(() => openCiphertext(KEY, ECHO, "")).toThrow(/receiveid/);
    expect(() => openCiphertext(randomAESKey(), ECHO, "")).toThrow();
    expect(() => openCiphertext(KEY, flip(ECHO), "wx5823bf96d3bd56c7")).toThrow();
    expect(() => openCiphertext(KEY, `!!${ECHO}@@`, "wx5823bf96d3bd56c7")).toThrow(/base64/);
    expect(() => openCiphertext(KEY, ECHO.slice(0, 24), "wx5823bf96d3bd56c7")).toThrow();
    // A bogus msg_len under valid padding (the library would silently truncate and return receiveid "").
    const key = randomAESKey();
    const aes = Buffer.from(`${key}=`, "base64");
    const plain = Buffer.concat([randomBytes(16), Buffer.from([0, 0, 0x27, 0x0f]), Buffer.from("hi")]);
    const pad = 32 - (plain.length % 32);
    const cipher = createCipheriv("aes-256-cbc", aes, aes.subarray(0, 16)).setAutoPadding(false);
    const bogus = Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString("base64");
    expect(() => openCiphertext(key, bogus, "")).toThrow(/length/);
    expect(openCiphertext(key, wxEncrypt(key, "你好", ""), "")).toBe("你好");
  });
});
