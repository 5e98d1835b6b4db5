/**
 * 好邻 recognition and the meetings on the dashboard: on the report day each village gets its 好邻 list from the
 * monthly scorecards, kept once and posted to the village chat once (through the outbox and the simulator), and the
 * dashboard shows the history; a meeting shows with its agenda, minutes and decision tickets, within the viewer's scope.
 */
import { eq, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { Signer } from "../src/dashboard/auth.js";
import { DingTalkBot } from "../src/bot/dingtalk/index.js";
import { handleIncoming } from "../src/bot/pipeline.js";
import { chats, goodNeighborLists, media, outbox } from "../src/db/schema/index.js";
import { renderPoster } from "../src/lib/poster.js";
import { cleanImage } from "../src/workflows/media/image.js";
import { queueMessage } from "../src/workflows/outbox.js";
import { FakeDingTalk, fakeConfig } from "./fakes/dingtalk.js";
import { deliverOutbox } from "../src/workflows/delivery.js";
import { fanOutGoodNeighbors } from "../src/workflows/good-neighbors.js";
import { createHarness, type Harness, silent } from "./helpers/harness.js";
import { personalIn } from "./helpers/personal-oracle.js";

const sh = (local: string) => new Date(`${local}+08:00`);
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
const TOKEN = "test-admin-token-0123456789";
const SECRET = "s".repeat(40);

describe("好邻 of the month and the meetings on the dashboard", () => {
  let h: Harness;
  let app: ReturnType<typeof createApp>;
  let now = sh("2025-12-01T10:00:00");
  beforeAll(async () => {
    h = await createHarness({ clock: () => now, start: false });
    app = createApp({ runtime: h.runtime, logger: silent, sim: true, dashboard: { adminToken: TOKEN, sessionSecret: SECRET } });
  });
  afterAll(async () => {
    await h.close();
  });

  async function cookieOf(personId: string | null): Promise<string> {
    const res = personId
      ? await app.request(`/dashboard/login/link?k=${new Signer(SECRET, undefined).sign("link", { sub: personId, exp: Date.now() + 60_000 })}`)
      : await app.request("/dashboard/login", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ token: TOKEN }).toString(),
        });
    return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  }
  const page = async (path: string, cookie: string) => {
    const res = await app.request(path, { headers: { cookie } });
    return { status: res.status, html: await res.text() };
  };

  let decision = 0;
  it("好邻榜 before any list says when it comes", async () => {
    expect((await h.say("cv", "r1", "好邻榜")).text).toBe("东村还没有评出好邻。每月 28 日按邻长履职评议自动评出，发到村群里。");
  });

  it("the village's list: the top scorer with their figures, kept once and posted to the village chat once", async () => {
    // 王邻长 (一邻) answers at once, solves it in the 邻, the reporter is satisfied; 吴邻长 (三邻) never answers.
    const a = ticketNo((await h.say("c1", "r1", "报事 村口路灯坏了")).text);
    now = sh("2025-12-01T10:30:00");
    await h.say("c1", "nl1", `认领 #${a}`);
    await h.say("c1", "nl1", `办结 #${a} 已换新灯泡`);
    await h.say("c1", "r1", `满意 #${a}`);
    await h.say("c2", "r3", "报事 三邻水管漏水");
    now = sh("2025-12-20T19:00:00");
    expect((await h.say("c1", "gl1", "恳谈会 12月21日 19:00 村部会议室")).text).toContain("通知");
    now = sh("2025-12-21T21:00:00");
    await h.say("c1", "gl1", "纪要 到会 15 人，路灯问题已解决");
    decision = ticketNo((await h.say("c1", "gl1", "议定 清理一组水渠，王邻长负责，月底前")).text);
    await h.say("c1", "nl1", `认领 #${decision}`);
    now = sh("2025-12-24T10:00:00");
    await h.say("c1", "nl1", `办结 #${decision} 水渠已清理`);
    await h.say("c1", "nl1", "走访 周奶奶 身体不错");
    await h.say("c1", "nl1", "走访 李一 一切都好");

    now = sh("2025-12-28T07:59:00");
    expect(await h.runtime.transact((ctx) => fanOutGoodNeighbors(ctx))).toEqual({ villages: 0, made: 0, queued: 0, existing: 0, posters: 0 });
    now = sh("2025-12-28T08:00:00");
    expect(await h.runtime.transact((ctx) => fanOutGoodNeighbors(ctx))).toEqual({ villages: 1, made: 1, queued: 1, existing: 0, posters: 1 });
    now = sh("2025-12-28T08:05:00");
    expect(await h.runtime.transact((ctx) => fanOutGoodNeighbors(ctx))).toEqual({ villages: 1, made: 0, queued: 0, existing: 1, posters: 0 });

    const [list] = await h.db.select().from(goodNeighborLists);
    expect(list).toMatchObject({ month: "2025-12", villageId: "v" });
    expect(list?.entries.map((e) => [e.personId, e.name, e.unitName])).toEqual([["nl1", "王邻长", "一邻"]]);
    expect(list?.entries[0]).toMatchObject({ score: 100, tickets: 2, answeredInTime: 2, answerDecided: 2, satisfied: 1, rated: 1, visited: 2, visitsDue: 2 });

    const rows = await h.db.select().from(outbox).where(like(outbox.dedupeKey, "good-cv-%"));
    expect(rows.map((r) => [r.dedupeKey, r.chatId])).toEqual([["good-cv-2025-12", "cv"]]);
    expect(await deliverOutbox(h.runtime.delivery, rows[0]?.id as number)).toBe("sent");
    expect(await deliverOutbox(h.runtime.delivery, rows[0]?.id as number)).toBe("gone");
    const posted = (await h.chatLog("cv")).filter((m) => m.from === "bot" && m.text.startsWith("🏅")).map((m) => m.text);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toContain("🏅 东村 · 12月好邻（11月28日—12月27日）");
    expect(posted[0]).toContain("1. 王邻长（一邻）综合 100 分 · 4小时内答复 2/2 · 满意 1/1 · 走访按时 2/2");
    expect(posted[0]).not.toContain("吴邻长");
    expect(personalIn(posted[0] as string)).toEqual([]);
    // The poster follows as a picture: a PNG drawn with the project's own CJK font, kept once, shown in the simulator.
    const [posterRow] = await h.db.select().from(outbox).where(eq(outbox.dedupeKey, "good-poster-cv-2025-12"));
    const sha = posterRow?.payload.image?.sha256 as string;
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    const [img] = await h.db.select().from(media).where(eq(media.sha256, sha));
    expect(img?.mime).toBe("image/png");
    expect(img?.width).toBe(750);
    expect(await deliverOutbox(h.runtime.delivery, posterRow?.id as number)).toBe("sent");
    const pictures = (await h.chatLog("cv")).filter((m) => m.text.endsWith(`[图片 ${sha}]`));
    expect(pictures).toHaveLength(1);
    const served = await app.request(`/sim/media/${sha}`);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await served.arrayBuffer()).subarray(1, 4).toString()).toBe("PNG");
    // A photo no message posted is not served there.
    expect((await app.request(`/sim/media/${"0".repeat(64)}`)).status).toBe(404);
    // Asked for in any chat of the village, or privately by someone of the village: the same list.
    expect((await h.say("c2", "r3", "好邻榜")).text).toBe(posted[0]);
    const privately = await handleIncoming(h.runtime.pipeline, { platform: "sim", messageId: "gn-dm-1", chatExternalId: null, senderExternalId: "r3", text: "好邻榜", receivedAt: now });
    expect(privately.replies.map((r) => r.text)).toEqual([posted[0]]);
  });

  it("the dashboard keeps the 好邻 history and shows each meeting; a leader sees their village's list but not another group's meeting", async () => {
    const admin = await cookieOf(null);
    const good = await page("/dashboard/good-neighbors", admin);
    expect(good.status).toBe(200);
    expect(good.html).toContain("累计表彰 1 人（1 人次）");
    expect(good.html).toContain("2025-12 · 东村");
    expect(good.html).toContain("王邻长");
    const poster = await app.request("/dashboard/good-neighbors/2025-12/v/poster.png", { headers: { cookie: admin } });
    expect(poster.status).toBe(200);
    expect(poster.headers.get("content-type")).toBe("image/png");
    expect((await app.request("/dashboard/good-neighbors/2025-11/v/poster.png", { headers: { cookie: admin } })).status).toBe(404);

    const list = await page("/dashboard/meetings", admin);
    expect(list.html).toContain("民情恳谈会");
    expect(list.html).toContain("东村一组");
    expect(list.html).toContain("12月21日（周日）19:00");
    const id = Number(/href="\/dashboard\/meetings\/(\d+)"/.exec(list.html)?.[1]);
    const one = await page(`/dashboard/meetings/${id}`, admin);
    expect(one.status).toBe(200);
    expect(one.html).toContain("到会 15 人，路灯问题已解决");
    expect(one.html).toContain(`href="/dashboard/tickets/${decision}"`);
    expect(one.html).toContain("清理一组水渠，王邻长负责，月底前");

    const wu = await cookieOf("nl3"); // 三邻, under 东村二组
    expect((await page("/dashboard/good-neighbors", wu)).html).toContain("王邻长");
    expect((await page("/dashboard/meetings", wu)).html).not.toContain("东村一组");
    expect((await page(`/dashboard/meetings/${id}`, wu)).status).toBe(404);
    const wang = await cookieOf("gl1");
    expect((await page(`/dashboard/meetings/${id}`, wang)).status).toBe(200);
    const [row] = await h.db.select().from(outbox).where(eq(outbox.dedupeKey, "good-cv-2025-12"));
    expect(row?.status).toBe("sent");
  });
});

describe("the poster on DingTalk", () => {
  let fake: FakeDingTalk;
  let h: Harness;
  beforeAll(async () => {
    fake = await FakeDingTalk.start();
    const bot = new DingTalkBot(fakeConfig(fake), silent);
    h = await createHarness({ senders: [bot.sender], start: false });
    await h.db.insert(chats).values({ id: "dt-v", platform: "dingtalk", externalId: "cidDongCun==", unitId: "v", name: "东村钉钉群", meta: { openConversationId: "cidDongCun==" } });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it("goes to a village group as an uploaded picture (media/upload, then sampleImageMsg with its media_id)", async () => {
    const png = renderPoster({ title: "东村 · 12月好邻", subtitle: "测试", footer: "测试", people: [{ name: "王邻长", unit: "一邻", score: 96, lines: ["4小时内答复 2/2"] }] });
    const clean = await cleanImage(png);
    if ("rejected" in clean) throw new Error(clean.rejected);
    await h.db.insert(media).values({ sha256: clean.sha256, mime: clean.mime, width: clean.width, height: clean.height, size: clean.data.length, data: clean.data, thumb: clean.thumb });
    await h.runtime.transact((ctx) =>
      queueMessage(ctx, { dedupeKey: "good-poster-dt-v-2025-12", to: { chatId: "dt-v" }, kind: "notice", payload: { text: "🏅 东村 12月好邻海报", mentions: [], image: { sha256: clean.sha256 } } }),
    );
    const [row] = await h.db.select().from(outbox).where(eq(outbox.dedupeKey, "good-poster-dt-v-2025-12"));
    expect(await deliverOutbox(h.runtime.delivery, row?.id as number)).toBe("sent");
    const sent = fake.calls("/v1.0/robot/groupMessages/send").at(-1);
    expect(sent?.body).toMatchObject({ openConversationId: "cidDongCun==", msgKey: "sampleImageMsg" });
    const photo = (JSON.parse(String(sent?.body.msgParam)) as { photoURL: string }).photoURL;
    expect(fake.mediaIds.get(photo)?.bytes.equals(clean.data)).toBe(true);
  });
});
