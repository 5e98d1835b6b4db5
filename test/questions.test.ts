/**
 * One store of pending questions (src/workflows/questions.ts) and one way of answering them (src/bot/questions.ts),
 * through the simulator pipeline on a real database: what 是 / 不用 / a number answers when several of the bot's
 * questions wait for the same person — the newest that takes that answer, the reply saying which and that the other
 * still waits — and the migration that moved the questions waiting at deploy time into the store.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../src/db/client.js";
import { importDirectory } from "../src/db/directory-import.js";
import { migrateDatabase, migrationsFolder } from "../src/db/migrate.js";
import { households, pendingQuestions, ticketMedia, tickets } from "../src/db/schema/index.js";
import { CONFIRM_TTL_MS } from "../src/workflows/pending-reports.js";
import { createTestDatabase } from "./helpers/db.js";
import { createHarness, FIXTURE, type Harness } from "./helpers/harness.js";
import { plainPng } from "./helpers/photos.js";

let h: Harness;
let now = new Date("2026-03-02T02:00:00Z");
let photo: Buffer;
let seq = 0;

beforeAll(async () => {
  h = await createHarness({ clock: () => now });
  photo = await plainPng(16, 16);
});
afterAll(async () => {
  await h.close();
});

const later = (ms: number) => {
  now = new Date(now.getTime() + ms);
};
async function send(chatId: string, userId: string, text: string, withPhoto = false) {
  const res = await h.app.request("/sim/messages", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      chatId,
      userId,
      text,
      messageId: `q-${++seq}`,
      ...(withPhoto ? { attachments: [{ kind: "image", dataBase64: photo.toString("base64") }] } : {}),
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { replies: { text: string }[] }).replies.map((r) => r.text).join("\n");
}
const ticketNo = (text: string) => Number(/工单 #(\d+)/.exec(text)?.[1]);
const ticketText = async (id: number) => (await h.db.select({ text: tickets.text }).from(tickets).where(eq(tickets.id, id)))[0]?.text;
const photosOf = async (id: number) => (await h.db.select().from(ticketMedia).where(eq(ticketMedia.ticketId, id))).length;
const count = async () => (await h.db.select({ id: tickets.id }).from(tickets)).length;
const waiting = async (personKey: string) =>
  (await h.db.select({ kind: pendingQuestions.kind }).from(pendingQuestions).where(eq(pendingQuestions.personKey, personKey))).map((q) => q.kind).sort();

const ASKED_PHOTO = "要用刚才的照片报事吗？";
const ASKED_REPORT = "要把刚才说的事登记为报事吗？";

describe("two questions for the same person", () => {
  it("a problem told without 报事, then a photo alone: 是 answers the photo (the newest) and says the other still waits; a second 是 answers that", async () => {
    expect(await send("c1", "r1", "@好邻 村口路灯坏了好几天了")).toContain("要把这件事登记为报事吗？");
    expect(await send("c1", "r1", "", true)).toContain("要用这张照片报事吗？");
    expect(await waiting("r1")).toEqual(["photo", "report"]);
    const before = await count();

    const first = await send("c1", "r1", "@好邻 是");
    expect(first).toContain("已登记工单");
    expect(first).toContain("收到照片 1 张");
    expect(first).toContain(`这条回复答的是“${ASKED_PHOTO}”；“${ASKED_REPORT}”还在等你回复。`);
    const a = ticketNo(first);
    expect(await ticketText(a)).toBe("（见照片）");
    expect(await photosOf(a)).toBe(1);
    expect(await waiting("r1")).toEqual(["report"]);

    const second = await send("c1", "r1", "@好邻 是");
    expect(second).toContain("已登记工单");
    expect(second).not.toContain("这条回复答的是");
    const b = ticketNo(second);
    expect(await ticketText(b)).toBe("村口路灯坏了好几天了");
    expect(await photosOf(b)).toBe(0);

    // Nothing waits any more: a third yes opens nothing.
    expect(await send("c1", "r1", "@好邻 是")).toContain("没太明白");
    expect(await count()).toBe(before + 2);
  });

  it("the other order, and 不用: the newest question (the report) is declined, the photo still waits for its 是", async () => {
    later(11 * 60_000);
    expect(await send("c1", "r1", "", true)).toContain("要用这张照片报事吗？");
    expect(await send("c1", "r1", "@好邻 河边的护栏断了")).toContain("要把这件事登记为报事吗？");
    const before = await count();
    const no = await send("c1", "r1", "@好邻 不用");
    expect(no).toContain("好的，这件事不登记。");
    expect(no).toContain(`这条回复答的是“${ASKED_REPORT}”；“${ASKED_PHOTO}”还在等你回复。`);
    expect(await count()).toBe(before);
    const yes = await send("c1", "r1", "@好邻 是");
    expect(await ticketText(ticketNo(yes))).toBe("（见照片）");
    expect(yes).not.toContain("这条回复答的是");
    expect(await count()).toBe(before + 1);
  });

  it("a question that has lapsed is not the one answered: after 5 minutes the report question is gone, the photo's 10 still run", async () => {
    later(11 * 60_000);
    await send("c1", "r1", "@好邻 水渠堵了");
    later(60_000);
    await send("c1", "r1", "", true);
    later(CONFIRM_TTL_MS);
    const yes = await send("c1", "r1", "@好邻 是");
    expect(await ticketText(ticketNo(yes))).toBe("（见照片）");
    expect(yes).not.toContain("这条回复答的是");
    expect(await send("c1", "r1", "@好邻 是")).not.toContain("已登记");
  });

  it("a number only ever picks from a list and a 是 only answers a yes-or-no question: a leader with both open gets each right", async () => {
    later(11 * 60_000);
    await h.db.insert(households).values({ id: "h9", unitId: "n1", headName: "李一", members: ["李一"], houseNo: "9号" });
    try {
      expect(await send("c1", "nl1", "代报 李一 化粪池满了")).toContain("找到 2 户符合");
      expect(await send("c1", "nl1", "桥下有垃圾", true)).toContain("要用这张照片报事吗？");
      expect(await waiting("nl1")).toEqual(["photo", "pick"]);
      // Off the list: the list still waits.
      expect(await send("c1", "nl1", "@好邻 3")).toBe("请回复 1–2 之间的序号。");
      const yes = await send("c1", "nl1", "@好邻 是");
      expect(await ticketText(ticketNo(yes))).toBe("桥下有垃圾");
      // The list takes no yes, so nothing else was waiting for this answer: no note.
      expect(yes).not.toContain("这条回复答的是");
      const picked = await send("c1", "nl1", "@好邻 1");
      expect(picked).toContain("诉求户：李一家，王邻长代报");
      const t = (await h.db.select().from(tickets).where(eq(tickets.id, ticketNo(picked))))[0];
      expect(t).toMatchObject({ householdId: "h1", onBehalf: true, text: "化粪池满了" });
      expect(await waiting("nl1")).toEqual([]);
    } finally {
      await h.db.update(households).set({ headName: "李九", members: ["李九"] }).where(eq(households.id, "h9"));
    }
  });

  it("two yeses at once (a double tap, two replicas' batches): one report, the other is ordinary chat", async () => {
    later(11 * 60_000);
    await send("c1", "gl1", "@好邻 祠堂屋顶漏雨了");
    const before = await count();
    const answers = await Promise.all([send("c1", "gl1", "@好邻 是"), send("c1", "gl1", "@好邻 是")]);
    expect(answers.filter((a) => a.includes("已登记工单"))).toHaveLength(1);
    expect(await count()).toBe(before + 1);
  });

  it("someone else's 是, or the same person's in another chat, answers nothing", async () => {
    later(11 * 60_000);
    await send("c1", "r1", "@好邻 路口的井盖松了");
    const before = await count();
    expect(await send("c1", "r2", "@好邻 是")).not.toContain("已登记");
    expect(await send("c2", "r1", "@好邻 是")).not.toContain("已登记");
    expect(await count()).toBe(before);
    expect(await send("c1", "r1", "@好邻 是")).toContain("已登记工单");
  });
});

describe("the migration to one store", () => {
  // Two databases' worth of migrations and a bot: slow on a loaded machine, so a longer limit than the default.
  it("moves the questions waiting at deploy time (a report to confirm, a household pick, held photos) and they are answered as before", { timeout: 240_000 }, async () => {
    // A database at the migration before the store, with one question of each old kind waiting.
    const folder = mkdtempSync(join(tmpdir(), "haolin-migrations-"));
    cpSync(migrationsFolder, folder, { recursive: true });
    const journalPath = join(folder, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
    const at = journal.entries.findIndex((e) => e.tag === "0016_pending_questions");
    expect(at).toBeGreaterThan(0);
    writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
    const database = await createTestDatabase(folder);
    try {
      await importDirectory(database.db, FIXTURE);
      const soon = new Date(Date.now() + 4 * 60_000).toISOString();
      const recent = new Date(Date.now() - 60_000).toISOString();
      for (const statement of [
        `insert into pending_reports (person_key, chat_id, text, expires_at, created_at) values
          ('r1', 'c1', '村口路灯坏了', '${soon}', '${recent}'),
          ('r2', 'c1', '早就过期了', '${recent}', '${recent}')`,
        `insert into visit_choices (person_id, scope, chat_id, purpose, kind, channel, query, note, candidates, expires_at, created_at)
          values ('nl1', 'c1', 'c1', 'report', 'visit', 'other', '李一', '化粪池满了', '["h4", "h1"]', '${soon}', '${recent}')`,
        `insert into ticket_media (ticket_id, role, status, source, chat_id, sender_external_id, caption, not_after, created_at) values
          (null, 'report', 'pending', '{"platform": "sim"}', 'c2', 'r3', '', '${soon}', '${recent}'),
          (null, 'report', 'pending', '{"platform": "sim"}', 'c2', 'r3', '桥头护栏断了', '${soon}', '${recent}')`,
      ])
        await database.db.execute(sql.raw(statement));
      await migrateDatabase(database, database.url);

      const rows = await queryRows<{ person_key: string; scope: string; kind: string; about: unknown }>(
        database.db,
        sql`select person_key, scope, kind, about from pending_questions order by kind, person_key`,
      );
      expect(rows.map((r) => [r.kind, r.person_key, r.scope])).toEqual([
        ["photo", "r3", "c2"],
        ["pick", "nl1", "c1"],
        ["report", "r1", "c1"],
      ]);
      const about = (kind: string) => {
        const a = rows.find((r) => r.kind === kind)?.about;
        return typeof a === "string" ? JSON.parse(a) : a;
      };
      expect(about("photo")).toEqual({ mediaIds: [1, 2], caption: "桥头护栏断了" });
      expect(about("pick")).toEqual({ purpose: "report", visitKind: "visit", channel: "other", query: "李一", note: "化粪池满了", candidates: ["h4", "h1"] });

      // The migrated questions are answered through the pipeline like new ones.
      const m = await createHarness({ database, start: false });
      try {
        expect((await m.say("c1", "r1", "@好邻 是")).text).toContain("已登记工单");
        expect((await m.say("c1", "nl1", "@好邻 2")).text).toContain("诉求户：李一家，王邻长代报");
        const photoYes = await m.say("c2", "r3", "@好邻 是");
        expect(photoYes.text).toContain("收到照片 2 张");
        const [t] = await m.db.select().from(tickets).where(eq(tickets.id, ticketNo(photoYes.text)));
        expect(t?.text).toBe("桥头护栏断了");
      } finally {
        await m.close();
      }
    } finally {
      await database.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
