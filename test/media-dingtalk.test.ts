/**
 * DingTalk photos end to end: `picture` and `richText` robot messages over the real Stream client and WebSocket, the
 * photo job exchanging each downloadCode at the robot message-file download API (the fake checks the token and the
 * robotCode) and fetching the temporary link, and the dashboard showing the photo without its GPS. A refused code,
 * a lapsed link and a non-image leave the ticket open with the reason on its 台账.
 */
import { Writable } from "node:stream";
import { eq } from "drizzle-orm";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { createApp } from "../src/app.js";
import { DingTalkBot } from "../src/bot/dingtalk/index.js";
import { chats, identities, inboundMessages, media as images, ticketEvents, ticketMedia } from "../src/db/schema/index.js";
import { ignoredCallbacks } from "../src/lib/metrics.js";
import { FakeDingTalk, fakeConfig } from "./fakes/dingtalk.js";
import { FakeDingTalkMedia } from "./fakes/dingtalk-media.js";
import { createHarness, type Harness, waitFor } from "./helpers/harness.js";
import { adminDashboard, gpsPhoto, imageSize, metadataLeft, plainPng } from "./helpers/photos.js";
import { leaks } from "./helpers/personal-oracle.js";

const GROUP = "cidDongCunYiZuPhotos==";
let fake: FakeDingTalk;
let files: FakeDingTalkMedia;
let bot: DingTalkBot;
let h: Harness;
let dashboard: ReturnType<typeof createApp>;
let cookie = "";
/** What the DingTalk adapter logs. */
const logLines: string[] = [];

beforeAll(async () => {
  fake = await FakeDingTalk.start();
  files = await FakeDingTalkMedia.attach(fake);
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  bot = new DingTalkBot(fakeConfig(fake), pino({ level: "trace" }, sink));
  h = await createHarness({ senders: [bot.sender], fetchers: [bot.mediaFetcher] });
  await h.db.insert(chats).values({ id: "dt-g1", platform: "dingtalk", externalId: GROUP, unitId: "g1", name: "东村一组钉钉群", meta: { openConversationId: GROUP } });
  await h.db.insert(identities).values({ platform: "dingtalk", externalId: "staff-r1", personId: "r1" });
  bot.start(h.runtime.pipeline);
  await waitFor(async () => bot.state()?.status === "connected");
  ({ app: dashboard, cookie } = await adminDashboard(h.runtime));
});
afterAll(async () => {
  await bot?.stop();
  await h?.close();
  await files?.close();
  await fake?.close();
});

const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
const settled = (ticketId: number, n = 1) =>
  waitFor(async () => {
    const rows = await h.db.select().from(ticketMedia).where(eq(ticketMedia.ticketId, ticketId)).orderBy(ticketMedia.id);
    return rows.length >= n && rows.every((r) => r.status !== "pending") ? rows : null;
  }, 30_000);

/** Push a robot message of another type (built on the fake's text message) and wait for the bot's reply. */
async function push(staffId: string, shape: Record<string, unknown>) {
  const before = fake.sessionPosts.length;
  const { text: _text, ...base } = fake.robotMessage({ text: "", staffId, group: GROUP });
  fake.pushRobot({ ...base, ...shape });
  const post = await waitFor(async () => fake.sessionPosts[before]);
  return (post.body.text as { content: string }).content;
}
const richText = (text: string, code: string) => ({
  msgtype: "richText",
  content: { richText: [{ text }, { type: "picture", downloadCode: code, pictureDownloadCode: `${code}-pic` }] },
});

describe("DingTalk photos", () => {
  it("a richText report with a picture: the code is exchanged for a link, the photo kept without GPS and shown", async () => {
    const photo = await gpsPhoto(720, 540);
    const code = files.upload(photo);
    const text = await push("staff-r1", richText("报事 桥头路灯不亮", code));
    expect(text).toContain("已登记工单");
    expect(text).toContain("收到照片 1 张");
    const id = ticketNo(text);
    const [row] = await settled(id);
    expect(row?.status).toBe("stored");
    expect(files.exchanges.at(-1)).toEqual({ downloadCode: code, robotCode: fake.clientId });

    const page = await (await dashboard.request(`/dashboard/tickets/${id}`, { headers: { cookie } })).text();
    expect(page).toContain(`/dashboard/media/${row?.id}?size=thumb`);
    const bytes = Buffer.from(await (await dashboard.request(`/dashboard/media/${row?.id}`, { headers: { cookie } })).arrayBuffer());
    expect(imageSize(bytes)).toEqual({ width: 720, height: 540 });
    expect(metadataLeft(bytes)).toEqual({ exif: false, gps: false, place: false });
  });

  it("a picture message right after the same person's report attaches to it", async () => {
    const id = ticketNo(await push("staff-r1", { msgtype: "text", text: { content: " 报事 水渠堵了" } }));
    const code = files.upload(await plainPng(30, 20));
    const text = await push("staff-r1", { msgtype: "picture", content: { downloadCode: code, pictureDownloadCode: `${code}-pic` } });
    expect(text).toContain(`已附到工单 #${id}`);
    expect((await settled(id))[0]?.status).toBe("stored");
  });

  it("a file server that fails twice is retried with a fresh link", async () => {
    const code = files.upload(await plainPng(12, 12), { failFirst: 2 });
    const id = ticketNo(await push("staff-r1", richText("报事 树倒了", code)));
    expect((await settled(id))[0]?.status).toBe("stored");
    expect(files.exchanges.filter((e) => e.downloadCode === code).length).toBe(3);
  });

  const failures: [string, () => Promise<string>, string][] = [
    ["a code DingTalk refuses", async () => "dlcNeverUploaded", "平台拒绝了下载"],
    ["a link that has lapsed", async () => files.upload(await plainPng(), { linkValidMs: 0 }), "下载链接已过期"],
    ["a file that is not an image", async () => files.upload(Buffer.from("%PDF-1.4\n%%EOF\n")), "文件不是图片"],
    ["a file over 10 MB", async () => files.upload(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(10 * 1024 * 1024)])), "照片超过 10 MB"],
    ["a truncated JPEG", async () => files.upload((await gpsPhoto(300, 200)).subarray(0, 700)), "图片损坏或不完整"],
    ["an error answer instead of the file", async () => files.upload(await plainPng(), { errorAnswer: { code: "InvalidAuthentication" } }), "平台拒绝了下载"],
  ];
  for (const [name, make, why] of failures) {
    it(`${name}: the ticket opens, its 台账 says why, the group is told, nothing is kept`, async () => {
      const kept = (await h.db.select({ s: images.sha256 }).from(images)).length;
      const text = await push("staff-r1", richText("报事 墙皮脱落", await make()));
      expect(text).toContain("已登记工单");
      const id = ticketNo(text);
      const [row] = await settled(id);
      expect(row?.status).toBe("failed");
      expect(row?.sha256).toBeNull();
      expect((await h.db.select({ s: images.sha256 }).from(images)).length).toBe(kept);
      const events = await h.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, id));
      expect(events.find((e) => e.kind === "photo_failed")?.text).toBe(why);
      const told = await waitFor(async () =>
        [...fake.sessionPosts, ...fake.requests].find((r) => JSON.stringify(r.body).includes(`工单 #${id} 的照片没能保存`)),
      );
      expect(JSON.stringify(told.body)).toContain(why);
    });
  }

  it("a message type DingTalk does not document (a location): acked, counted, not answered, nothing stored or logged of it", async () => {
    // DingTalk's receive-message document lists text, richText, picture, audio, video and file only; this shape is
    // made up (no document defines one) to stand for any type a future client might send.
    const ignored = async () => (await ignoredCallbacks.get()).values.find((v) => v.labels.platform === "dingtalk" && v.labels.reason === "unknown_msgtype")?.value ?? 0;
    const before = await ignored();
    const posts = fake.sessionPosts.length;
    const { text: _text, ...base } = fake.robotMessage({ text: "", staffId: "staff-r1", group: GROUP });
    const place = "幸福路88号王家门口";
    const frame = fake.pushRobot({ ...base, msgtype: "location", content: { latitude: 30.27412, longitude: 120.15515, title: place } });
    await waitFor(async () => (await ignored()) === before + 1);
    expect(fake.acked(frame).map((a) => a.code)).toEqual([200]);
    expect(fake.sessionPosts.length).toBe(posts);
    expect(await h.db.select().from(inboundMessages).where(eq(inboundMessages.messageId, base.msgId))).toEqual([]);
    const logged = logLines.join("");
    expect(logged).toContain("unknown type ignored");
    expect(leaks(logged, [{ kind: "word", value: place }, { kind: "number", value: "30.27412" }, { kind: "number", value: "120.15515" }])).toEqual([]);
  });
});
