/**
 * A 通知's photos through the simulator pipeline and the real photo job: sent with the notice (or alone right after
 * it), kept without EXIF or GPS, and posted to every group of the notice once, after its text, as a JPEG a WeCom
 * 消息推送 takes (at most 2 MB, 99110) — even when the photo as sent is larger. A photo that cannot be kept is named
 * to the sender privately; the groups keep the text.
 */
import { randomBytes } from "node:crypto";
import { asc, eq, like } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleIncoming } from "../src/bot/pipeline.js";
import { circularEvents, circulars, media, outbox, ticketMedia } from "../src/db/schema/index.js";
import { createHarness, type Harness, waitFor } from "./helpers/harness.js";
import { adminDashboard, gpsPhoto, metadataLeft } from "./helpers/photos.js";

let h: Harness;
let now = new Date("2026-05-06T02:00:00Z");
const clock = () => now;

async function postWith(chatId: string, userId: string, text: string, images: Buffer[]) {
  const res = await h.app.request("/sim/messages", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ chatId, userId, text, attachments: images.map((b, i) => ({ kind: "image", fileName: `p${i}.jpg`, dataBase64: b.toString("base64") })) }),
  });
  return ((await res.json()) as { replies: { text: string }[] }).replies.map((r) => r.text).join("\n");
}
const photoRows = (circularId: number) => h.db.select().from(outbox).where(like(outbox.dedupeKey, `circular-${circularId}-%-photo-%`)).orderBy(asc(outbox.id));
/** Noise does not compress: a PNG of it is several MB, more than a group message takes. */
const bigPhoto = () => sharp(randomBytes(1000 * 1000 * 3), { raw: { width: 1000, height: 1000, channels: 3 } }).png().toBuffer();

beforeAll(async () => {
  h = await createHarness({ clock });
});
afterAll(async () => {
  await h.close();
});

describe("通知 with photos", () => {
  it("a photo with the notice is kept clean and posted to each group once, after the text, within 2 MB", async () => {
    const big = await bigPhoto();
    expect(big.length).toBeGreaterThan(2 * 1024 * 1024);
    const reply = await postWith("cv", "vo1", "通知 村口道路改道\n下周一起村口封闭施工，请绕行。", [await gpsPhoto(), big]);
    expect(reply).toContain("通知 #1「村口道路改道」已发往 3 个群");
    expect(reply).toContain("📷 收到图片 2 张，保存后随通知发到各群（在文字之后）。");
    const rows = await waitFor(async () => {
      const r = await photoRows(1);
      return r.length === 6 ? r : null;
    }, 90_000);
    expect(new Set(rows.map((r) => r.dedupeKey)).size).toBe(6);
    for (const chat of ["c1", "c2", "cv"]) expect(rows.filter((r) => r.chatId === chat)).toHaveLength(2);
    const shas = [...new Set(rows.map((r) => r.payload.image?.sha256 as string))];
    expect(shas).toHaveLength(2);
    for (const sha of shas) {
      const [img] = await h.db.select().from(media).where(eq(media.sha256, sha));
      expect(img?.mime).toBe("image/jpeg");
      expect(img?.data.length).toBeLessThanOrEqual(2 * 1024 * 1024);
      expect(metadataLeft(img?.data as Buffer)).toEqual({ exif: false, gps: false, place: false });
    }
    const [c] = await h.db.select().from(circulars);
    expect(c?.photos).toBe(2);
    // Each group's log: the text, then the two pictures, each once.
    for (const chat of ["c1", "c2", "cv"]) {
      const lines = await waitFor(async () => {
        // What the outbox posted (in cv the bot's answer to the official names the notice too).
        const log = (await h.chatLog(chat)).filter((m) => m.from === "bot" && /^📢 通知 #1(：| 的附图)/u.test(m.text));
        return log.length === 3 ? log : null;
      }, 60_000);
      expect(lines[0]?.text).toContain("📢 通知 #1：村口道路改道");
      for (const sha of shas) expect(lines.filter((l) => l.text.endsWith(`[图片 ${sha}]`))).toHaveLength(1);
    }
  }, 240_000);

  it("a photo sent alone within 10 minutes after the notice goes with it; later it is an ordinary photo", async () => {
    now = new Date(now.getTime() + 5 * 60_000);
    const r = await handleIncoming(h.runtime.pipeline, {
      platform: "sim",
      messageId: "lone-1",
      chatExternalId: null,
      senderExternalId: "vo1",
      text: "",
      receivedAt: now,
      attachments: [{ kind: "image", source: { platform: "sim" }, data: await gpsPhoto(80, 60, "#27ae60"), validMs: 3_600_000 }],
    });
    expect(r.replies.map((x) => x.text)).toEqual(["📷 已附到通知 #1，保存后发到各群。"]);
    await waitFor(async () => ((await photoRows(1)).length === 9 ? true : null));
    now = new Date(now.getTime() + 11 * 60_000);
    expect(await postWith("cv", "vo1", "", [await gpsPhoto(40, 40, "#8e44ad")])).toContain("要用这张照片报事吗？");
    expect(await photoRows(1)).toHaveLength(9);
  });

  it("a file that is no picture is not posted: the sender is told privately, the groups have the text", async () => {
    const reply = await postWith("cv", "vo1", "通知 秋收安全\n注意农机安全。", [Buffer.from("%PDF-1.4 not a picture")]);
    expect(reply).toContain("通知 #2");
    const dm = await waitFor(async () => (await h.chatLog("dm-vo1")).find((m) => m.text.includes("通知 #2 的一张图片没能发出"))?.text);
    expect(dm).toContain("文件不是图片");
    expect(await photoRows(2)).toEqual([]);
    const failed = await h.db.select().from(circularEvents).where(eq(circularEvents.kind, "photo_failed"));
    expect(failed.map((e) => e.circularId)).toEqual([2]);
    // A notice's photo is never taken for a held report photo, nor swept as one.
    const rows = await h.db.select().from(ticketMedia).where(eq(ticketMedia.circularId, 1));
    expect(rows.map((x) => x.status)).toEqual(["stored", "stored", "stored"]);
  });

  it("the dashboard's notice page shows the photos to whoever may see the notice", async () => {
    const dash = await adminDashboard(h.runtime);
    const html = await (await dash.app.request("/dashboard/circulars/1", { headers: { cookie: dash.cookie } })).text();
    const ids = [...html.matchAll(/src="\/dashboard\/circulars\/1\/photos\/(\d+)\?size=thumb"/g)].map((m) => m[1]);
    expect(ids).toHaveLength(3);
    const full = await dash.app.request(`/dashboard/circulars/1/photos/${ids[0]}`, { headers: { cookie: dash.cookie } });
    expect(full.status).toBe(200);
    expect(metadataLeft(Buffer.from(await full.arrayBuffer()))).toEqual({ exif: false, gps: false, place: false });
    expect((await dash.app.request(`/dashboard/circulars/2/photos/${ids[0]}`, { headers: { cookie: dash.cookie } })).status).toBe(404);
  });
});
