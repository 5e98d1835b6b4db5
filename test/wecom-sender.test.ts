/**
 * Sending through each group's 消息推送 webhook, over real HTTP to the fake WeCom, through the real outbox:
 * real @mentions, markdown split under 4096 bytes, spacing per webhook, retries on 45009 / -1, and a dead
 * webhook (93000) marking the chat dead and telling the admins — without ever showing the key.
 */
import { hostname } from "node:os";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeWebhook, splitBytes, webhookKey } from "../src/bot/wecom/webhook.js";
import { chats, media, outbox } from "../src/db/schema/index.js";
import { renderPoster } from "../src/lib/poster.js";
import { cleanImage } from "../src/workflows/media/image.js";
import { bindChat, BindError } from "../src/workflows/chats.js";
import type { QueueMessage } from "../src/workflows/outbox.js";
import { queueMessage } from "../src/workflows/outbox.js";
import { judgeImage } from "./fakes/wecom.js";
import { startWecomBot } from "./fakes/wecom-bot.js";
import { waitFor } from "./helpers/harness.js";

type Bot = Awaited<ReturnType<typeof startWecomBot>>;
let bot: Bot;
beforeAll(async () => {
  // 李一 has no WeCom id here: she is @-mentioned by phone.
  bot = await startWecomBot({ scheduler: "bullmq", reporterIdentity: false, minIntervalMs: 300 });
});
afterAll(async () => {
  await bot?.close();
});

let n = 0;
async function queue(payload: QueueMessage["payload"], kind: QueueMessage["kind"] = "ping", chatId = bot.chatId) {
  const dedupeKey = `wecom-test-${++n}-${Date.now()}`;
  await bot.h.runtime.transact((ctx) => queueMessage(ctx, { dedupeKey, to: { chatId }, kind, payload }));
  const [row] = await bot.h.db.select().from(outbox).where(eq(outbox.dedupeKey, dedupeKey));
  return row?.id as number;
}
const rowOf = async (id: number) => (await bot.h.db.select().from(outbox).where(eq(outbox.id, id)))[0];
const settled = (id: number, status: "sent" | "failed") => waitFor(async () => ((await rowOf(id))?.status === status ? rowOf(id) : null));

describe("WeCom sender (消息推送 webhook)", () => {
  it("a poster is an image message: the PNG in base64 with the md5 of its bytes, under 2 MB (99110)", async () => {
    const png = renderPoster({ title: "东村 · 12月好邻", subtitle: "测试", footer: "测试", people: [{ name: "王邻长", unit: "一邻", score: 96, lines: ["4小时内答复 2/2"] }] });
    const clean = await cleanImage(png);
    if ("rejected" in clean) throw new Error(clean.rejected);
    await bot.h.db.insert(media).values({ sha256: clean.sha256, mime: clean.mime, width: clean.width, height: clean.height, size: clean.data.length, data: clean.data, thumb: clean.thumb });
    const id = await queue({ text: "🏅 东村 12月好邻海报", mentions: [], image: { sha256: clean.sha256 } }, "notice");
    await settled(id, "sent");
    const call = bot.fake.sent(bot.hook.key).at(-1);
    expect(call?.errcode).toBe(0);
    const image = call?.body.image as { base64: string; md5: string };
    expect(call?.body.msgtype).toBe("image");
    expect(Buffer.from(image.base64, "base64").equals(clean.data)).toBe(true);
    expect(judgeImage({ base64: image.base64, md5: "0".repeat(32) })).toBe(301019);
  });

  it("pings are text with mentioned_list (userids) and mentioned_mobile_list (phone when no WeCom id)", async () => {
    const id = await queue({ text: "⏫ 工单 #99 已上报到组级\n请 @张组长 认领", mentions: ["gl1", "r1", "vo1"], ticketId: 99 });
    await settled(id, "sent");
    const call = bot.fake.sent(bot.hook.key).at(-1);
    expect(call?.body).toEqual({
      msgtype: "text",
      text: { content: "⏫ 工单 #99 已上报到组级\n请 @张组长 认领", mentioned_list: ["zhangzz"], mentioned_mobile_list: ["19900000101"] },
    });
    expect((await rowOf(id))?.platform).toBe("wecom");
    // Each request names the process that sent it (a header WeCom ignores; the soak attributes copies by it).
    expect(call?.replica).toBe(`${hostname()}:${process.pid}`);
  });

  it("digests are markdown, split under 4096 bytes, with <@userid> mentions", async () => {
    const lines = Array.from({ length: 120 }, (_, i) => `> 第 ${i + 1} 条：东村一组本周报事已办结，群众满意。`);
    const text = `**本周报事周报**\n${lines.join("\n")}`;
    const before = bot.fake.sent(bot.hook.key).length;
    const id = await queue({ text, mentions: ["nl1"], format: "markdown" }, "digest");
    await settled(id, "sent");
    const parts = bot.fake.sent(bot.hook.key).slice(before);
    expect(parts.length).toBeGreaterThan(1);
    const contents = parts.map((p) => (p.body.markdown as { content: string }).content);
    for (const c of contents) expect(Buffer.byteLength(c)).toBeLessThanOrEqual(4096);
    expect(parts.every((p) => p.body.msgtype === "markdown")).toBe(true);
    expect(contents.join("\n")).toBe(`${text}\n<@wanglz>`);
  });

  it("a long digest whose second part fails is resumed from that part: each part reaches the group once", async () => {
    const lines = Array.from({ length: 150 }, (_, i) => `> 第 ${i + 1} 条：东村二组本周报事已办结，群众满意。`);
    const text = `**本周报事周报（续发）**\n${lines.join("\n")}`;
    bot.fake.script(bot.hook.key, 0, -1);
    const before = bot.fake.calls.length;
    const id = await queue({ text, mentions: [], format: "markdown" }, "digest");
    const row = await settled(id, "sent");
    const calls = bot.fake.calls.slice(before);
    expect(calls.map((c) => c.errcode).slice(0, 3)).toEqual([0, -1, 0]);
    const accepted = calls.filter((c) => c.errcode === 0).map((c) => (c.body.markdown as { content: string }).content);
    expect(accepted.length).toBeGreaterThan(2);
    expect(new Set(accepted).size).toBe(accepted.length);
    expect(accepted.join("\n")).toBe(text);
    expect(row).toMatchObject({ attempts: 2, partsSent: accepted.length - 1 });
  });

  it("45009 and -1 are retried with backoff until accepted (queued, never dropped)", async () => {
    bot.fake.script(bot.hook.key, 45009, -1);
    const before = bot.fake.calls.length;
    const id = await queue({ text: "提醒：工单 #98 请尽快处理", mentions: [] });
    const row = await settled(id, "sent");
    expect(bot.fake.calls.slice(before).map((c) => c.errcode)).toEqual([45009, -1, 0]);
    expect(row?.attempts).toBe(3);
  });

  it("spaces messages to one webhook through the outbox; the fake's 20/min limit is never hit", async () => {
    const before = bot.fake.calls.length;
    const ids = await Promise.all([1, 2, 3, 4].map((i) => queue({ text: `批量提醒 ${i}`, mentions: [] })));
    const rows = [];
    for (const id of ids) rows.push(await settled(id, "sent"));
    const calls = bot.fake.calls.slice(before);
    expect(calls.map((c) => c.errcode)).toEqual([0, 0, 0, 0]);
    // The send times the product chose (each row's send slot), not the wall clock the fake saw after the network.
    const starts = rows.map((r) => r?.sentAt?.getTime() ?? Number.NaN).sort((a, b) => a - b);
    expect(starts.every(Number.isFinite)).toBe(true);
    for (let i = 1; i < starts.length; i++) expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThanOrEqual(300);
  });

  it("93000 marks the chat dead once, tells the admins, and never shows the key", async () => {
    bot.fake.removeWebhook(bot.hook.key);
    const id = await queue({ text: "工单 #97 已上报", mentions: ["gl1"] });
    const row = await settled(id, "failed");
    expect(row?.lastError).toContain("93000");
    expect((await bot.h.db.select().from(chats).where(eq(chats.id, bot.chatId)))[0]?.status).toBe("dead");
    const notice = await waitFor(async () => (await bot.h.chatLog("dm-adm")).find((m) => m.text.includes("消息推送地址已失效")));
    expect(notice.text).toContain("东村一组企微群");

    // A later message to the dead chat fails at once, without calling WeCom; only one notice.
    const calls = bot.fake.calls.length;
    const later = await settled(await queue({ text: "又一条提醒", mentions: [] }), "failed");
    expect(later?.lastError).toContain("dead");
    expect(bot.fake.calls.length).toBe(calls);
    expect((await bot.h.chatLog("dm-adm")).filter((m) => m.text.includes("消息推送地址已失效"))).toHaveLength(1);

    const everything = [...bot.logs, ...(await bot.h.db.select().from(outbox)).map((r) => JSON.stringify(r)), notice.text].join("\n");
    expect(everything).not.toContain(bot.hook.key);

    // Re-binding with a new webhook revives the chat.
    const fresh = bot.fake.addWebhook();
    await bindChat(bot.h.db, { platform: "wecom", externalId: "wrVillageGroup01", unitId: "g1", name: "东村一组企微群", webhookUrl: normalizeWebhook(fresh.url) });
    const revived = await settled(await queue({ text: "重新绑定后的提醒", mentions: ["gl1"] }), "sent");
    expect(revived?.status).toBe("sent");
    expect(bot.fake.mentions(fresh.key)).toEqual(["zhangzz"]);
  });
});

describe("binding and webhook addresses", () => {
  it("accepts the copied URL or the bare key, and never repeats bad input", () => {
    const key = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
    expect(normalizeWebhook(`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${key}`)).toBe(`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${key}`);
    expect(normalizeWebhook(` ${key} `)).toBe(`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${key}`);
    expect(webhookKey(`https://evil.example/cgi-bin/webhook/send?key=${key}`)).toBe(key); // only the key is kept
    let refused: unknown = null;
    try {
      normalizeWebhook("https://example.com/hook?token=secret-value-123");
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).not.toContain("secret-value-123");
  });

  it("refuses an unknown unit", async () => {
    await expect(bindChat(bot.h.db, { platform: "wecom", externalId: "wrX", unitId: "nope", name: "某群" })).rejects.toBeInstanceOf(BindError);
  });

  it("splits text by bytes at line breaks, and long lines by characters", () => {
    const parts = splitBytes(`${"路".repeat(1000)}\n短行`, 2048);
    expect(parts.every((p) => Buffer.byteLength(p) <= 2048)).toBe(true);
    expect(parts).toHaveLength(2);
    expect(parts.join("")).toBe(`${"路".repeat(1000)}\n短行`); // the long line is cut; the line break is kept
  });
});
