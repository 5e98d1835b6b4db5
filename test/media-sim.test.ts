/**
 * Photos through the simulator: POST /sim/messages with attachments, the durable photo job, the media table, and the
 * dashboard serving them (scoped like the ticket), with the rules for which ticket a photo belongs to and every bad
 * input answered without harm.
 */
import { Writable } from "node:stream";
import { eq, sql } from "drizzle-orm";
import { pino } from "pino";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { queryRows } from "../src/db/client.js";
import { media, ticketEvents, ticketMedia } from "../src/db/schema/index.js";
import { Signer } from "../src/dashboard/auth.js";
import { createHarness, type Harness, silent, waitFor } from "./helpers/harness.js";
import { gpsPhoto, imageSize, metadataLeft, plainPng } from "./helpers/photos.js";
import { digestFigures, UnitTree } from "../src/workflows/digests/index.js";
import { formatWeeklyDigest } from "../src/workflows/digests/format.js";
import type { WeeklyFigures } from "../src/workflows/digests/weekly.js";
import { leaks, type Secret } from "./helpers/personal-oracle.js";

const TOKEN = "test-admin-token-0123456789";
const SECRET = "s".repeat(40);
let h: Harness;
let app: ReturnType<typeof createApp>;
let photo: Buffer;
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);

beforeAll(async () => {
  h = await createHarness();
  app = createApp({ runtime: h.runtime, logger: silent, sim: true, dashboard: { adminToken: TOKEN, sessionSecret: SECRET } });
  photo = await gpsPhoto(640, 480);
});
afterAll(async () => {
  await h.close();
});

async function send(body: Record<string, unknown>, to: ReturnType<typeof createApp> = app) {
  const res = await to.request("/sim/messages", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = (await res.json()) as { replies?: { text: string }[]; error?: string };
  return { status: res.status, text: (json.replies ?? []).map((r) => r.text).join("\n"), error: json.error };
}
const image = (b: Buffer, fileName?: string) => ({ kind: "image", dataBase64: b.toString("base64"), ...(fileName ? { fileName } : {}) });

async function cookieFor(sub: string | "admin") {
  if (sub === "admin") {
    const res = await app.request("/dashboard/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  }
  const k = new Signer(SECRET, TOKEN).sign("link", { sub, exp: Date.now() + 600_000 });
  const res = await app.request(`/dashboard/login/link?k=${encodeURIComponent(k)}`);
  return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
}

/** The ticket's photo rows once none is pending any more. */
const settled = (ticketId: number, n = 1) =>
  waitFor(async () => {
    const rows = await h.db.select().from(ticketMedia).where(eq(ticketMedia.ticketId, ticketId)).orderBy(ticketMedia.id);
    return rows.length >= n && rows.every((r) => r.status !== "pending") ? rows : null;
  });

describe("a report with a photo in the simulator", () => {
  it("opens the ticket at once, keeps the photo without its GPS, and the dashboard shows it to the right people only", async () => {
    expect(metadataLeft(photo)).toEqual({ exif: true, gps: true, place: true });
    const r = await send({ chatId: "c1", userId: "r1", text: "报事 桥边护栏断了", attachments: [image(photo, "IMG_0001.jpg")] });
    expect(r.status).toBe(200);
    expect(r.text).toContain("已登记工单");
    expect(r.text).toContain("收到照片 1 张");
    const id = ticketNo(r.text);
    const [row] = await settled(id);
    expect(row?.status).toBe("stored");

    const admin = await cookieFor("admin");
    const page = await (await app.request(`/dashboard/tickets/${id}`, { headers: { cookie: admin } })).text();
    const mediaId = row?.id as number;
    expect(page).toContain(`href="/dashboard/media/${mediaId}"`);
    expect(page).toContain(`src="/dashboard/media/${mediaId}?size=thumb"`);

    const full = await app.request(`/dashboard/media/${mediaId}`, { headers: { cookie: admin } });
    expect(full.status).toBe(200);
    expect(full.headers.get("content-type")).toBe("image/jpeg");
    const bytes = Buffer.from(await full.arrayBuffer());
    expect(metadataLeft(bytes)).toEqual({ exif: false, gps: false, place: false });
    expect(imageSize(bytes)).toEqual({ width: 640, height: 480 });
    const thumb = Buffer.from(await (await app.request(`/dashboard/media/${mediaId}?size=thumb`, { headers: { cookie: admin } })).arrayBuffer());
    expect(imageSize(thumb)).toEqual({ width: 320, height: 240 });
    expect(metadataLeft(thumb).exif).toBe(false);

    // The 一组 leader sees it; the 二组 leader does not (the same scoping as the ticket page); nobody signed out does.
    expect((await app.request(`/dashboard/media/${mediaId}`, { headers: { cookie: await cookieFor("gl1") } })).status).toBe(200);
    const other = await app.request(`/dashboard/media/${mediaId}`, { headers: { cookie: await cookieFor("gl2") } });
    expect(other.status).toBe(404);
    expect((await app.request(`/dashboard/tickets/${id}`, { headers: { cookie: await cookieFor("gl2") } })).status).toBe(404);
    expect((await app.request(`/dashboard/media/${mediaId}`)).status).toBe(303);

    // The 台账 has the photo line; the export counts it and links it.
    const events = await h.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, id));
    expect(events.map((e) => e.kind)).toEqual(["opened", "photo"]);
    const csv = await (await app.request("/dashboard/export.csv", { headers: { cookie: admin } })).text();
    const line = csv.split("\r\n").find((l) => l.startsWith(`"${id}"`) || l.startsWith(`${id},`));
    expect(line).toContain(`/dashboard/media/${mediaId}`);
    const header = csv.split("\r\n")[0] as string;
    expect(header).toContain("照片数");
  });

  it("the same photo twice is stored once (keyed by its sha256)", async () => {
    const a = ticketNo((await send({ chatId: "c1", userId: "r2", text: "报事 水管漏水", attachments: [image(photo)] })).text);
    await settled(a);
    const [n] = await queryRows<{ n: number }>(h.db, sql`select count(*)::int as n from media`);
    expect(Number(n?.n)).toBe(1);
    const rows = await h.db.select().from(ticketMedia).where(eq(ticketMedia.ticketId, a));
    expect(rows[0]?.status).toBe("stored");
    expect((await h.db.select({ s: media.sha256 }).from(media)).length).toBe(1);
  });
});

describe("which ticket a photo belongs to", () => {
  it("a photo alone within 10 minutes after the same person's report attaches to it; someone else's photo is asked about", async () => {
    const id = ticketNo((await send({ chatId: "c2", userId: "r3", text: "报事 路面塌了个坑" })).text);
    const png = await plainPng(30, 30);
    const alone = await send({ chatId: "c2", userId: "r3", attachments: [image(png)] });
    expect(alone.text).toContain(`已附到工单 #${id}`);
    const rows = await settled(id);
    expect(rows[0]?.role).toBe("report");

    const stranger = await send({ chatId: "c2", userId: "nl3", attachments: [image(png)] });
    expect(stranger.text).toContain("要用这张照片报事吗？回复「是」");
    // Nothing was attached anywhere without an answer.
    expect((await h.db.select().from(ticketMedia).where(eq(ticketMedia.ticketId, id))).length).toBe(1);
  });

  it("the 10 minutes are counted from the report: at 9 the photo attaches, at 11 it is asked about", async () => {
    let skewMs = 0;
    const e = await createHarness({ clock: () => new Date(Date.now() + skewMs) });
    try {
      const app2 = createApp({ runtime: e.runtime, logger: silent, sim: true });
      const id = ticketNo((await send({ chatId: "c1", userId: "r1", text: "报事 桥下积水" }, app2)).text);
      skewMs = 9 * 60_000;
      expect((await send({ chatId: "c1", userId: "r1", attachments: [image(await plainPng(14, 14))] }, app2)).text).toContain(`已附到工单 #${id}`);
      skewMs = 11 * 60_000;
      const late = await send({ chatId: "c1", userId: "r1", attachments: [image(await plainPng(15, 15))] }, app2);
      expect(late.text).not.toContain("已附到");
      expect(late.text).toContain("要用这张照片报事吗");
    } finally {
      await e.close();
    }
  });

  it("answering 是 reports with the held photo and its words; 不用 keeps nothing", async () => {
    const png = await plainPng(24, 24);
    const asked = await send({ chatId: "c1", userId: "nl1", text: "井盖丢了", attachments: [image(png)] });
    expect(asked.text).toContain("要用这张照片报事吗");
    const yes = await send({ chatId: "c1", userId: "nl1", text: "是" });
    expect(yes.text).toContain("已登记工单");
    const id = ticketNo(yes.text);
    const [t] = await queryRows<{ text: string }>(h.db, sql`select text from tickets where id = ${id}`);
    expect(t?.text).toBe("井盖丢了");
    expect((await settled(id))[0]?.status).toBe("stored");

    const again = await send({ chatId: "c1", userId: "gl1", attachments: [image(png)] });
    expect(again.text).toContain("要用这张照片报事吗");
    const no = await send({ chatId: "c1", userId: "gl1", text: "不用" });
    expect(no.text).toContain("照片不保存");
    const [held] = await queryRows<{ n: number }>(h.db, sql`select count(*)::int as n from ticket_media where sender_external_id = 'gl1' and ticket_id is null and status <> 'dropped'`);
    expect(Number(held?.n)).toBe(0);
  });

  it("a photo quoting a ticket message attaches to that ticket; with 办结 #n it is the result photo", async () => {
    const id = ticketNo((await send({ chatId: "c1", userId: "r1", text: "报事 垃圾桶满了" })).text);
    // Another report comes in between, so the quote (not the 10-minute rule) decides.
    await send({ chatId: "c1", userId: "r1", text: "报事 另一件事" });
    const png = await plainPng(28, 28);
    const quoted = await send({ chatId: "c1", userId: "r1", quote: { text: `✅ 已登记工单 #${id}（环境卫生）` }, attachments: [image(png)] });
    expect(quoted.text).toContain(`已附到工单 #${id}`);
    await send({ chatId: "c1", userId: "nl1", text: `认领 #${id}` });
    const done = await send({ chatId: "c1", userId: "nl1", text: `办结 #${id} 已清运`, attachments: [image(await plainPng(40, 30))] });
    expect(done.text).toContain("已办结");
    expect(done.text).toContain("办结照片");
    const rows = await settled(id, 2);
    expect(rows.map((r) => r.role)).toEqual(["report", "result"]);
    const admin = await cookieFor("admin");
    const page = await (await app.request(`/dashboard/tickets/${id}`, { headers: { cookie: admin } })).text();
    expect(page).toContain("办结照片");
    // The weekly digest counts tickets closed with a result photo (this is the only 办结 in 一组's chat); its window
    // here ends now, not at midnight, so today's 办结 is in it.
    const now = new Date();
    const tree = await UnitTree.load(h.db);
    const figures = await digestFigures(h.db, [{ id: "c1", unitId: "g1" }], { from: new Date(now.getTime() - 86_400_000), to: new Date(now.getTime() + 60_000) }, now, tree.policy("g1", {}));
    const f = figures.get("c1") as WeeklyFigures;
    expect([f.resolved, f.resolvedWithPhoto]).toEqual([1, 1]);
    expect(formatWeeklyDigest(f, "东村一组")).toContain("办结 1 件（附办结照片 1 件）");
  });

  it("a location sent right after a report gives the ticket a place, shown on the dashboard but not in the chat", async () => {
    const id = ticketNo((await send({ chatId: "c2", userId: "r3", text: "报事 河堤裂缝" })).text);
    const loc = await send({ chatId: "c2", userId: "r3", location: { latitude: 30.27412, longitude: 120.15515, name: "东村二组河堤北段" } });
    expect(loc.text).toContain(`已记下工单 #${id} 的位置`);
    expect(loc.text).not.toContain("河堤北段");
    const page = await (await app.request(`/dashboard/tickets/${id}`, { headers: { cookie: await cookieFor("admin") } })).text();
    expect(page).toContain("东村二组河堤北段");
    expect(page).toContain("30.27412");
  });
});

describe("a place is a resident's address", () => {
  it("reaches the ticket's dashboard page and nothing else: no reply, group message, ping or log line carries it", async () => {
    let skewMs = 0;
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const e = await createHarness({ clock: () => new Date(Date.now() + skewMs), logger: pino({ level: "trace" }, sink) });
    try {
      const app2 = createApp({ runtime: e.runtime, logger: pino({ level: "trace" }, sink), sim: true, dashboard: { adminToken: TOKEN, sessionSecret: SECRET } });
      const name = "村东王家老宅后门";
      const where = { latitude: 30.27412, longitude: 120.15515, name };
      const secrets: Secret[] = [
        { kind: "word", value: name },
        { kind: "number", value: "30.27412" },
        { kind: "number", value: "120.15515" },
      ];
      const said: string[] = [];
      const say = async (body: Record<string, unknown>) => {
        const r = await send(body, app2);
        said.push(r.text);
        return r.text;
      };
      const id = ticketNo(await say({ chatId: "c2", userId: "r3", text: "报事 河堤裂缝" }));
      // Someone else's place, right after: not theirs to place.
      expect(await say({ chatId: "c2", userId: "nl3", location: where })).toContain("请先发「报事 问题描述」");
      expect(await say({ chatId: "c2", userId: "r3", location: where })).toContain(`已记下工单 #${id} 的位置`);
      // Coordinates that are no place on earth are refused at the door.
      expect((await send({ chatId: "c2", userId: "r3", location: { latitude: 123, longitude: 0, name } }, app2)).status).toBe(400);

      const res = await app2.request("/dashboard/login", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: TOKEN }).toString(),
      });
      const admin = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
      const page = await (await app2.request(`/dashboard/tickets/${id}`, { headers: { cookie: admin } })).text();
      expect(page).toContain(`位置：${name}（30.27412, 120.15515）`);
      expect(page).toContain("https://uri.amap.com/marker?position=120.15515,30.27412");

      // Eleven minutes on, a place no longer goes to that report.
      skewMs = 11 * 60_000;
      expect(await say({ chatId: "c2", userId: "r3", location: { ...where, name: "别处" } })).toContain("请先发「报事 问题描述」");
      // Four more hours: the ticket escalates, and its ping goes to the group.
      skewMs = 5 * 3600_000;
      await e.runtime.reconcile();
      const group = await queryRows<{ payload: { text: string } | string }>(e.db, sql`select payload from outbox where chat_id is not null`);
      const texts = group.map((g) => (typeof g.payload === "string" ? (JSON.parse(g.payload) as { text: string }) : g.payload).text);
      expect(texts.some((t) => t.includes(`工单 #${id}`) && t.includes("上报"))).toBe(true);
      const botLines = (await e.chatLog("c2")).filter((m) => m.from === "bot").map((m) => m.text);
      for (const t of [...said, ...texts, ...botLines]) expect(leaks(t, secrets), t).toEqual([]);
      expect(lines.length).toBeGreaterThan(0);
      expect(leaks(lines.join(""), secrets)).toEqual([]);
    } finally {
      await e.close();
    }
  });
});

describe("voice and escalation", () => {
  it("a report made by voice is marked 语音 on the dashboard", async () => {
    const r = await send({ chatId: "c2", userId: "r3", text: "报事 路口的井盖松动了", voice: true });
    const id = ticketNo(r.text);
    const page = await (await app.request(`/dashboard/tickets/${id}`, { headers: { cookie: await cookieFor("admin") } })).text();
    expect(page).toContain("报事（语音）");
  });

  it("an escalation ping says how many photos there are and never reposts them", async () => {
    let skewMs = 0;
    const e = await createHarness({ clock: () => new Date(Date.now() + skewMs) });
    try {
      const app2 = createApp({ runtime: e.runtime, logger: silent, sim: true });
      const r = await send({ chatId: "c1", userId: "r1", text: "报事 村道塌方", attachments: [image(await plainPng(10, 10)), image(await plainPng(11, 11))] }, app2);
      const id = ticketNo(r.text);
      await waitFor(async () => {
        const rows = await e.db.select().from(ticketMedia).where(eq(ticketMedia.ticketId, id));
        return rows.length === 2 && rows.every((r) => r.status === "stored");
      });
      // The answer clock (4 hours) runs out; the reconciler applies the lapsed deadline.
      skewMs = 5 * 3600_000;
      expect((await e.runtime.reconcile()).applied).toBe(1);
      // The group's ping as queued (its delivery is due at the moved clock's time, hours from the real now).
      const pings = await queryRows<{ chat_id: string; payload: { text: string } | string }>(
        e.db,
        sql`select chat_id, payload from outbox where kind = 'ping' and chat_id is not null and (payload ->> 'ticketId')::int = ${id}`,
      );
      expect(pings.length).toBe(1);
      const p = pings[0]?.payload;
      const text = (typeof p === "string" ? JSON.parse(p) : p)?.text as string;
      expect(text).toContain(`工单 #${id} 已上报到组级`);
      expect(text).toContain("附照片 2 张（看板查看）");
      // Nothing of the photo itself goes out: no outbox row carries image data or a media link.
      const [leak] = await queryRows<{ n: number }>(e.db, sql`select count(*)::int as n from outbox where payload::text ~ '(base64|/dashboard/media/)'`);
      expect(Number(leak?.n)).toBe(0);
    } finally {
      await e.close();
    }
  });
});

describe("photos nobody reported with", () => {
  it("a held photo left unanswered for 10 minutes is dropped and its image deleted", async () => {
    let skewMs = 0;
    const e = await createHarness({ clock: () => new Date(Date.now() + skewMs) });
    try {
      const app2 = createApp({ runtime: e.runtime, logger: silent, sim: true });
      const asked = await send({ chatId: "c2", userId: "r3", attachments: [image(await gpsPhoto(33, 33, "#123456"))] }, app2);
      expect(asked.text).toContain("要用这张照片报事吗");
      await waitFor(async () => (await e.db.select().from(ticketMedia)).find((r) => r.status === "stored"));
      expect((await e.db.select({ s: media.sha256 }).from(media)).length).toBe(1);
      skewMs = 11 * 60_000;
      await e.runtime.reconcile();
      const rows = await e.db.select().from(ticketMedia);
      expect(rows.map((r) => [r.status, r.sha256, r.ticketId])).toEqual([["dropped", null, null]]);
      expect((await e.db.select({ s: media.sha256 }).from(media)).length).toBe(0);
      // Too late to say yes: there is nothing held any more.
      expect((await send({ chatId: "c2", userId: "r3", text: "是" }, app2)).text).not.toContain("已登记工单");
    } finally {
      await e.close();
    }
  });
});

describe("bad photos", () => {
  const cases: [string, () => Promise<Buffer>, string][] = [
    ["a file over 10 MB", async () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(10 * 1024 * 1024)]), "照片超过 10 MB"],
    ["a PDF named .jpg", async () => Buffer.from("%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"), "文件不是图片"],
    ["a truncated JPEG", async () => (await gpsPhoto(200, 150)).subarray(0, 600), "图片损坏或不完整"],
  ];
  for (const [name, make, why] of cases) {
    it(`${name}: the ticket opens, the chat is told, the 台账 says why, nothing is stored`, async () => {
      const before = await h.db.select({ s: media.sha256 }).from(media);
      const r = await send({ chatId: "c1", userId: "r2", text: "报事 路灯不亮", attachments: [image(await make(), "photo.jpg")] });
      expect(r.text).toContain("已登记工单");
      const id = ticketNo(r.text);
      const [row] = await settled(id);
      expect(row?.status).toBe("failed");
      expect(row?.inline).toBeNull();
      const events = await h.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, id));
      expect(events.find((e) => e.kind === "photo_failed")?.text).toBe(why);
      expect((await h.db.select({ s: media.sha256 }).from(media)).length).toBe(before.length);
      const log = await waitFor(async () => {
        const l = await h.chatLog("c1");
        return l.find((m) => m.from === "bot" && m.text.includes(`工单 #${id} 的照片没能保存`));
      });
      expect(log.text).toContain(why);
    });
  }

  it("a tenth photo on one ticket is refused with the reason; the nine are kept", async () => {
    const nine = await Promise.all(Array.from({ length: 9 }, (_, i) => plainPng(40 + i, 40)));
    const r = await send({ chatId: "c2", userId: "r3", text: "报事 河堤裂了好几处", attachments: nine.map((b) => image(b)) });
    const id = ticketNo(r.text);
    expect((await settled(id, 9)).map((m) => m.status)).toEqual(Array(9).fill("stored"));
    const tenth = await send({ chatId: "c2", userId: "r3", attachments: [image(await plainPng(60, 40))] });
    expect(tenth.text).toContain(`已附到工单 #${id}`);
    const rows = await settled(id, 10);
    expect(rows.map((m) => m.status)).toEqual([...Array(9).fill("stored"), "failed"]);
    expect(rows[9]?.inline).toBeNull();
    const events = await h.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, id));
    expect(events.filter((e) => e.kind === "photo_failed").map((e) => e.text)).toEqual(["每个工单最多保存 9 张照片"]);
    const told = await waitFor(async () => (await h.chatLog("c2")).find((m) => m.from === "bot" && m.text.includes(`工单 #${id} 的照片没能保存`)));
    expect(told.text).toContain("最多保存 9 张");
  });

  it("a message with neither text nor photo is refused with a reason", async () => {
    const r = await send({ chatId: "c1", userId: "r1", text: "" });
    expect(r.status).toBe(400);
    expect(r.error).toMatch(/text/);
  });
});

describe("pictures decode as what they claim", () => {
  it("a GIF is kept as a PNG of its first frame", async () => {
    const gif = await sharp({ create: { width: 12, height: 10, channels: 3, background: "#00ff00" } }).gif().toBuffer();
    const r = await send({ chatId: "c2", userId: "r3", text: "报事 墙上乱涂", attachments: [image(gif)] });
    const [row] = await settled(ticketNo(r.text));
    expect(row?.status).toBe("stored");
    const [m] = await h.db.select().from(media).where(eq(media.sha256, row?.sha256 as string));
    expect(m?.mime).toBe("image/png");
    expect(imageSize(m?.data as Buffer)).toEqual({ width: 12, height: 10 });
  });
});
