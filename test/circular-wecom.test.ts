/**
 * A 通知 end to end on WeCom: an official's 图文混排 callback over real HTTP and crypto, the photo fetched from the
 * media fake, and what the group's 消息推送 webhook (the fake, built from 99110) receives: the masked text once, then
 * the picture once as an `image` message (base64 + md5, JPG within 2 MB), spaced by the group's send slot; a
 * redelivered callback adds nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { and, eq, like } from "drizzle-orm";
import { identities, outbox } from "../src/db/schema/index.js";
import { judgeImage, newMsgId } from "./fakes/wecom.js";
import { BOT_ID, CHATID, startWecomBot } from "./fakes/wecom-bot.js";
import { FakeWecomMedia, groupMixed } from "./fakes/wecom-media.js";
import { waitFor } from "./helpers/harness.js";
import { gpsPhoto, metadataLeft } from "./helpers/photos.js";
import { leaks } from "./helpers/personal-oracle.js";

type Bot = Awaited<ReturnType<typeof startWecomBot>>;
let bot: Bot;
let media: FakeWecomMedia;
const SPACING_MS = 1000;
const PHONE = "13812345678";

beforeAll(async () => {
  bot = await startWecomBot({ minIntervalMs: SPACING_MS });
  media = await FakeWecomMedia.start(bot.config.encodingAESKey);
  await bot.h.db.insert(identities).values({ platform: "wecom", externalId: "chencungan", personId: "vo1" });
});
afterAll(async () => {
  await bot?.close();
  await media?.close();
});

describe("通知 on WeCom", () => {
  it("the group's webhook gets the masked text, then the picture, each once, a send slot apart", async () => {
    const url = media.host(await gpsPhoto(800, 600));
    const callback = groupMixed(BOT_ID, CHATID, "ChenCunGan", [{ text: `@好邻 通知 村口道路改道\n下周一起封闭施工，咨询 ${PHONE}` }, { url }], newMsgId());
    const res = await bot.fake.callback(callback);
    expect(res.status).toBe(200);
    const reply = (res.reply as { stream: { content: string } } | null)?.stream.content ?? "";
    expect(reply).toContain("通知 #1「村口道路改道」已发往 4 个群");
    expect(reply).toContain("收到图片 1 张");

    const calls = await waitFor(async () => {
      const got = bot.fake.sent(bot.hook.key);
      return got.length >= 2 ? got : null;
    }, 45_000);
    const [text, picture] = calls;
    if (!text || !picture) throw new Error("the webhook got fewer than two messages");
    expect(text.body.msgtype).toBe("text");
    const content = (text.body.text as { content: string }).content;
    expect(content).toContain("📢 通知 #1：村口道路改道");
    expect(content).toContain("【手机号】");
    expect(leaks(content, [{ kind: "number", value: PHONE }])).toEqual([]);
    expect(picture.body.msgtype).toBe("image");
    expect(judgeImage(picture.body.image)).toBe(0);
    const bytes = Buffer.from((picture.body.image as { base64: string }).base64, "base64");
    expect(metadataLeft(bytes)).toEqual({ exif: false, gps: false, place: false });
    // The group's send slot spaced them: the picture's send began a slot after the text's (the rows' sentAt, the
    // moments the sends took their slots; the fake's arrival times would measure the loaded machine instead).
    // The fake records a send when it arrives, which can be before the sender records it on the row: wait for both.
    const sent = await waitFor(async () => {
      const rows = await bot.h.db.select().from(outbox).where(and(like(outbox.dedupeKey, "circular-1-%"), eq(outbox.chatId, bot.chatId)));
      return rows.length === 2 && rows.every((r) => r.sentAt) ? rows : null;
    }, 45_000);
    const textRow = sent.find((r) => !r.payload.image);
    const pictureRow = sent.find((r) => r.payload.image);
    expect((pictureRow?.sentAt?.getTime() ?? 0) - (textRow?.sentAt?.getTime() ?? Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(SPACING_MS);

    // WeCom delivers the callback again: the same answer, and no new row for anything to send.
    const rows = async () => (await bot.h.db.select().from(outbox).where(like(outbox.dedupeKey, "circular-%"))).length;
    const before = await rows();
    const again = await bot.fake.callback(callback);
    expect((again.reply as { stream: { content: string } } | null)?.stream.content).toBe(reply);
    expect(await rows()).toBe(before);
    expect(bot.fake.sent(bot.hook.key)).toHaveLength(2);
  });
});
