/**
 * WeCom photos end to end: 图文混排 and single-chat 图片 callbacks over real HTTP with real crypto, the fake serving
 * each photo encrypted as 100719 documents it, the photo job downloading and decrypting it after the reply, and the
 * dashboard showing it without its GPS. Bad links (lapsed, failing, another key, too big) leave the ticket open,
 * the 台账 saying why and the group told — through the group's webhook, never reposting the photo.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { createApp } from "../src/app.js";
import { media as images, ticketEvents, ticketMedia, tickets } from "../src/db/schema/index.js";
import { newMsgId, randomAESKey } from "./fakes/wecom.js";
import { BOT_ID, CHATID, startWecomBot } from "./fakes/wecom-bot.js";
import { FakeWecomMedia, groupMixed, singleImage } from "./fakes/wecom-media.js";
import { waitFor } from "./helpers/harness.js";
import { adminDashboard, gpsPhoto, imageSize, metadataLeft, plainPng } from "./helpers/photos.js";

type Bot = Awaited<ReturnType<typeof startWecomBot>>;
let bot: Bot;
let media: FakeWecomMedia;
let dashboard: ReturnType<typeof createApp>;
let cookie = "";
/** The bot's clock: moved forward to let a five-minute link lapse. */
let skewMs = 0;

beforeAll(async () => {
  bot = await startWecomBot({ clock: () => new Date(Date.now() + skewMs) });
  media = await FakeWecomMedia.start(bot.config.encodingAESKey);
  media.now = () => Date.now() + skewMs;
  ({ app: dashboard, cookie } = await adminDashboard(bot.h.runtime));
});
afterAll(async () => {
  await bot?.close();
  await media?.close();
});

type StreamReply = { stream: { content: string } };
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
const replyText = (r: { reply: Record<string, unknown> | null }) => (r.reply as StreamReply | null)?.stream.content ?? "";
const photosOf = (ticketId: number) => bot.h.db.select().from(ticketMedia).where(eq(ticketMedia.ticketId, ticketId)).orderBy(ticketMedia.id);
const settled = (ticketId: number, n = 1) =>
  waitFor(async () => {
    const rows = await photosOf(ticketId);
    return rows.length >= n && rows.every((r) => r.status !== "pending") ? rows : null;
  }, 30_000);

async function report(text: string, url: string, userid = "LiYi") {
  const res = await bot.fake.callback(groupMixed(BOT_ID, CHATID, userid, [{ text: `@好邻 ${text}` }, { url }], newMsgId()));
  expect(res.status).toBe(200);
  return replyText(res);
}

describe("WeCom photos", () => {
  it("a 图文混排 report: the reply does not wait for the download; the photo is decrypted, cleaned and shown", async () => {
    const photo = await gpsPhoto(800, 600);
    let release = () => {};
    const url = media.host(photo, { hold: new Promise<void>((r) => (release = r)) });
    // The photo's server has not answered yet, and the callback is answered anyway.
    const text = await report("报事 路边电线杆歪了", url);
    expect(text).toContain("已登记工单");
    expect(text).toContain("收到照片 1 张");
    const id = ticketNo(text);
    expect((await photosOf(id))[0]?.status).toBe("pending");
    release();
    const [row] = await settled(id);
    expect(row?.status).toBe("stored");
    expect(media.gets(url)).toBe(1);

    const page = await (await dashboard.request(`/dashboard/tickets/${id}`, { headers: { cookie } })).text();
    expect(page).toContain(`/dashboard/media/${row?.id}?size=thumb`);
    const res = await dashboard.request(`/dashboard/media/${row?.id}`, { headers: { cookie } });
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(imageSize(bytes)).toEqual({ width: 800, height: 600 });
    expect(metadataLeft(photo).gps).toBe(true);
    expect(metadataLeft(bytes)).toEqual({ exif: false, gps: false, place: false });
  });

  it("a redelivered callback records its photo once", async () => {
    const url = media.host(await plainPng(16, 16));
    const msg = groupMixed(BOT_ID, CHATID, "LiYi", [{ text: "@好邻 报事 楼道灯不亮" }, { url }], newMsgId());
    const first = await bot.fake.callback(msg);
    const again = await bot.fake.callback(msg);
    expect(replyText(again)).toBe(replyText(first));
    const id = ticketNo(replyText(first));
    expect((await settled(id)).length).toBe(1);
    expect((await bot.h.db.select().from(tickets).where(eq(tickets.text, "楼道灯不亮"))).length).toBe(1);
  });

  it("a photo sent in the single chat right after a group report attaches to it", async () => {
    const id = ticketNo(await report("报事 下水道堵了", media.host(await plainPng(18, 18))));
    const res = await bot.fake.callback(singleImage(BOT_ID, "LiYi", media.host(await plainPng(22, 22)), newMsgId()));
    expect(replyText(res)).toContain(`已附到工单 #${id}`);
    expect((await settled(id, 2)).map((r) => r.status)).toEqual(["stored", "stored"]);
  });

  it("a link that fails a few times is retried and kept", async () => {
    const url = media.host(await plainPng(26, 26), { failFirst: 2 });
    const id = ticketNo(await report("报事 路牌倒了", url));
    const [row] = await settled(id);
    expect(row?.status).toBe("stored");
    expect(media.gets(url)).toBe(3);
  });

  const failures: [string, () => Promise<Parameters<FakeWecomMedia["host"]>>, string][] = [
    ["a lapsed link", async () => [await plainPng(), { validMs: 0 }], "下载链接已过期"],
    ["a file encrypted with another key", async () => [await plainPng(), { key: randomAESKey() }], "图片无法解密"],
    // Cut at a block boundary, the ciphertext decrypts, but the padding it ends with is not PKCS#7's.
    ["an encrypted file cut short", async () => [await gpsPhoto(300, 200), { truncateTo: 64 * 3 }], "图片无法解密"],
    ["a truncated JPEG (encrypted whole)", async () => [(await gpsPhoto(300, 200)).subarray(0, 700)], "图片损坏或不完整"],
    ["a file that is not an image", async () => [Buffer.from("%PDF-1.7\n%%EOF\n")], "文件不是图片"],
    ["a file over 10 MB", async () => [Buffer.alloc(10 * 1024 * 1024 + 100, 1)], "照片超过 10 MB"],
    ["an error answer instead of the file", async () => [await plainPng(), { errorAnswer: { errcode: 40007, errmsg: "invalid media_id" } }], "平台拒绝了下载"],
  ];
  for (const [name, make, why] of failures) {
    it(`${name}: the ticket opens, the 台账 says why, the group is told without the photo`, async () => {
      const url = media.host(...(await make()));
      const kept = (await bot.h.db.select({ s: images.sha256 }).from(images)).length;
      const id = ticketNo(await report("报事 垃圾没人清", url));
      const [row] = await settled(id);
      expect(row?.status).toBe("failed");
      // Nothing half-written: no image kept, no bytes left on the row.
      expect(row?.sha256).toBeNull();
      expect(row?.inline).toBeNull();
      expect((await bot.h.db.select({ s: images.sha256 }).from(images)).length).toBe(kept);
      const events = await bot.h.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, id));
      expect(events.find((e) => e.kind === "photo_failed")?.text).toBe(why);
      const notice = await waitFor(async () => bot.fake.sent(bot.hook.key).find((c) => JSON.stringify(c.body).includes(`工单 #${id} 的照片没能保存`)));
      expect(JSON.stringify(notice.body)).toContain(why);
      expect(notice.body.msgtype).not.toBe("image");
    });
  }

  it("a link that keeps failing is given up once its five minutes are over", async () => {
    const url = media.host(await plainPng(), { failFirst: 1_000 });
    const id = ticketNo(await report("报事 护栏松了", url));
    await waitFor(async () => media.gets(url) >= 2);
    skewMs += 6 * 60_000;
    const [row] = await settled(id);
    expect(row?.status).toBe("failed");
    expect(row?.error).toBe("expired");
  });
});
