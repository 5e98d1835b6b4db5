/**
 * The directory on the dashboard over HTTP, on the real runtime and database: a 邻 handover (tickets, visit duties,
 * the group's notice), deactivating a person (history kept, every look-up passes them over), the history page, and
 * the refusals (another village's official, a leader who keeps no directory, a non-admin and the upload).
 */
import { fileURLToPath } from "node:url";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { Signer } from "../src/dashboard/auth.js";
import { importDirectory } from "../src/db/directory-import.js";
import { circularEvents, circularRecipients, directoryChanges, outbox, people, ticketEvents, tickets } from "../src/db/schema/index.js";
import { findPerson } from "../src/workflows/directory.js";
import { queueMessage } from "../src/workflows/outbox.js";
import { caretakers } from "../src/workflows/visits/scope.js";
import { runVisitReminders } from "../src/workflows/visits/reminders.js";
import { createHarness, type Harness, silent, waitFor } from "./helpers/harness.js";
import { leaks } from "./helpers/personal-oracle.js";

const TOKEN = "roster-admin-token-0123456789";
const SECRET = "r".repeat(40);
const SECOND = fileURLToPath(new URL("./fixtures/second-village.yaml", import.meta.url));
let h: Harness;
let app: ReturnType<typeof createApp>;
const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);

beforeAll(async () => {
  h = await createHarness();
  await importDirectory(h.db, SECOND);
  app = createApp({ runtime: h.runtime, logger: silent, sim: true, dashboard: { adminToken: TOKEN, sessionSecret: SECRET } });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

/** A session cookie: the admin token, or a person's login link as the links page makes it. */
async function signIn(who: "admin" | string): Promise<string> {
  if (who === "admin") {
    const res = await app.request("/dashboard/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  }
  const [p] = await h.db.select().from(people).where(eq(people.id, who));
  const k = new Signer(SECRET, TOKEN).sign("link", { sub: who, exp: Date.now() + 600_000, v: p?.linkVersion ?? 0 });
  const res = await app.request(`/dashboard/login/link?k=${k}`);
  expect(res.status).toBe(303);
  return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
}
const get = (path: string, cookie: string) => app.request(path, { headers: { cookie } });
const post = (path: string, cookie: string, form: Record<string, string>) =>
  app.request(path, {
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
const person = async (id: string) => (await h.db.select().from(people).where(eq(people.id, id)))[0];

describe("a 邻 handover", () => {
  it("moves the outgoing 邻长's open tickets and visit duties to the new one in one step, and tells the group", async () => {
    // Two unfinished tickets of 一邻 with 王邻长: one claimed (answered), one still open.
    const lamp = ticketNo((await h.say("c1", "r1", "报事 村口路灯坏了，电话19900000101")).text);
    const ditch = ticketNo((await h.say("c1", "r1", "报事 水沟堵了")).text);
    await h.say("c1", "nl1", `认领 #${lamp}`);
    const before = await h.db.select().from(tickets).where(eq(tickets.assigneeId, "nl1"));
    expect(before.map((t) => t.id).sort()).toEqual([lamp, ditch].sort());
    expect((await caretakers(h.db, "t")).get("n1")?.map((p) => p.id)).toEqual(["nl1"]);
    // A due list for 王邻长 still waiting (quiet hours): it goes to whoever leads 一邻 by the time it is sent.
    await h.runtime.transact((ctx) =>
      queueMessage(ctx, {
        dedupeKey: "remind-due-nl1-test",
        to: { personId: "nl1" },
        kind: "reminder",
        payload: { text: "待走访：李一（1号）", mentions: [] },
        notBefore: new Date(Date.now() + 3_600_000),
      }),
    );

    // A notice 王邻长 has not yet confirmed passing on: his successor is to pass it on.
    const circular = Number(/通知 #(\d+)/.exec((await h.say("cv", "vo1", "通知 秋收防火\n不要焚烧秸秆")).text)?.[1]);
    expect(circular).toBeGreaterThan(0);
    const recipientsOf = async () =>
      (await h.db.select().from(circularRecipients).where(eq(circularRecipients.circularId, circular))).map((r) => r.personId).sort();
    expect(await recipientsOf()).toContain("nl1");

    const vo1 = await signIn("vo1");
    const form = await (await get("/dashboard/directory/units/n1/handover", vo1)).text();
    expect(form).toContain("王邻长（未办结工单 2 件）");
    expect(form).toMatch(/<option value="r1">李一/);
    const res = await post("/dashboard/directory/units/n1/handover", vo1, { outgoing: "nl1", incoming: "r1", outgoingBecomes: "resident" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/\/dashboard\/directory\/units\/n1\?handed=\d+&moved=2&told=1$/);

    // The tickets are 李一's now, each with its 台账 line naming who did it.
    const after = await h.db.select().from(tickets).where(eq(tickets.assigneeId, "r1"));
    expect(after.map((t) => t.id).sort()).toEqual([lamp, ditch].sort());
    const events = await h.db.select().from(ticketEvents).where(eq(ticketEvents.kind, "handed_over"));
    expect(events.map((e) => e.ticketId).sort()).toEqual([lamp, ditch].sort());
    for (const e of events) expect(e).toMatchObject({ actorId: "vo1", text: "一邻邻长交接：王邻长 → 李一", data: { from: "nl1", to: "r1" } });
    expect(await person("r1")).toMatchObject({ role: "neighbor_leader", unitId: "n1", active: true });
    expect(await person("nl1")).toMatchObject({ role: "resident", active: true });
    // Visit duties follow the role; the waiting reminder is the new 邻长's.
    expect((await caretakers(h.db, "t")).get("n1")?.map((p) => p.id)).toEqual(["r1"]);
    const [reminder] = await h.db.select().from(outbox).where(eq(outbox.dedupeKey, "remind-due-nl1-test"));
    expect(reminder?.personId).toBe("r1");

    // The group (一邻 has none of its own: 东村一组's) is told, with the new 邻长 @-mentioned and no phone number.
    const notice = await waitFor(async () => (await h.chatLog("c1")).find((m) => m.from === "bot" && m.text.includes("邻长交接")));
    expect(notice.text).toContain("一邻邻长交接：王邻长 → @李一");
    expect(notice.text).toContain(`#${lamp}`);
    expect(notice.mentions).toEqual(["r1"]);
    expect(leaks(notice.text, [{ kind: "number", value: "19900000101" }])).toEqual([]);
    // …and 李一 privately.
    const [dm] = await h.db.select().from(outbox).where(and(eq(outbox.personId, "r1"), eq(outbox.kind, "notice")));
    expect(dm?.payload.text).toContain("你已担任一邻邻长");
    expect(dm?.payload.text).toContain(`还没传达的通知 #${circular} 也由你转告联系户`);

    // The notice is 李一's to confirm now (the 传达率 still counts 一邻 once), with its 台账 line.
    const recipients = await recipientsOf();
    expect(recipients).toContain("r1");
    expect(recipients).not.toContain("nl1");
    const [moved] = await h.db.select().from(circularEvents).where(and(eq(circularEvents.circularId, circular), eq(circularEvents.kind, "handed_over")));
    expect(moved).toMatchObject({ actorId: "vo1", data: { personId: "r1", from: "nl1" } });
    expect((await h.say("c1", "nl1", `已传达 #${circular}`)).text).not.toContain("已确认传达");
    expect((await h.say("c1", "r1", `已传达 #${circular}`)).text).toContain("李一 已确认传达");

    // From the chat: the old 邻长 can no longer act on them, the new one can.
    expect((await h.say("c1", "nl1", `办结 #${lamp} 好了`)).text).not.toContain("已办结");
    expect((await h.say("c1", "r1", `办结 #${lamp} 已换新灯泡`)).text).toContain(`#${lamp}`);
    expect((await h.db.select().from(tickets).where(eq(tickets.id, lamp)))[0]?.status).toBe("resolved");

    // The due list before the 集中走访日 goes to the new 邻长, not the old one.
    const day26 = new Date("2030-05-26T02:00:00Z");
    await h.runtime.transact((ctx) => runVisitReminders({ ...ctx, now: day26 }));
    const due = await h.db.select({ personId: outbox.personId, key: outbox.dedupeKey }).from(outbox).where(eq(outbox.kind, "reminder"));
    expect(due.some((r) => r.key === "remind-due-r1-2030-05")).toBe(true);
    expect(due.some((r) => r.key === "remind-due-nl1-2030-05")).toBe(false);

    // Sent twice (a double click): refused, nothing moves twice, no second notice.
    const again = await post("/dashboard/directory/units/n1/handover", vo1, { outgoing: "nl1", incoming: "r1", outgoingBecomes: "resident" });
    expect(again.headers.get("location")).toContain("error=");
    expect(await h.db.select().from(ticketEvents).where(eq(ticketEvents.kind, "handed_over"))).toHaveLength(2);
    const history = await (await get("/dashboard/directory/history", vo1)).text();
    expect(history).toContain("一邻 邻长交接：王邻长 → 李一（2 件工单转交）");
    expect(history).toContain("陈村干（村干部）");
  });
});

describe("deactivating a person", () => {
  it("is refused while they hold unfinished tickets", async () => {
    const id = ticketNo((await h.say("c2", "r3", "报事 三邻路口积水")).text);
    expect((await h.db.select().from(tickets).where(eq(tickets.id, id)))[0]?.assigneeId).toBe("nl3");
    const admin = await signIn("admin");
    const res = await post("/dashboard/directory/people/nl3/active", admin, { active: "0" });
    expect(res.headers.get("location")).toBe("/dashboard/directory/people/nl3?error=open_tickets");
    expect((await person("nl3"))?.active).toBe(true);
  });

  it("keeps their history, and passes them over as sender, leader and dashboard user; 恢复 brings them back", async () => {
    const gl2Cookie = await signIn("gl2");
    expect((await get("/dashboard/tickets", gl2Cookie)).status).toBe(200);
    const admin = await signIn("admin");
    const res = await post("/dashboard/directory/people/gl2/active", admin, { active: "0" });
    expect(res.headers.get("location")).toBe("/dashboard/directory/people/gl2?done=deactivated");
    expect(await person("gl2")).toMatchObject({ active: false, role: "group_leader" });

    // No sender, no session, nobody to speak as in the simulator.
    expect(await findPerson(h.db, "sim", "gl2")).toBeNull();
    const sim = (await (await app.request("/sim/directory")).json()) as { people: { id: string }[] };
    expect(sim.people.map((p) => p.id)).not.toContain("gl2");
    expect(sim.people.map((p) => p.id)).toContain("gl1");
    expect((await get("/dashboard/tickets", gl2Cookie)).status).toBe(303);
    // No leader: 吴邻长's 上报 skips the vacant-by-deactivation 组 and reaches the village.
    const id = ticketNo((await h.say("c2", "r3", "报事 三邻的桥栏杆松了")).text);
    const up = await h.say("c2", "nl3", `上报 #${id} 需要村里协调`);
    expect(up.mentions).not.toContain("gl2");
    expect((await h.db.select().from(tickets).where(eq(tickets.id, id)))[0]?.level).toBe("village");
    // The record is kept: the person's page, and the list of deactivated people.
    const page = await (await get("/dashboard/directory/people/gl2", admin)).text();
    expect(page).toContain("已停用");
    expect(await (await get("/dashboard/directory/people?inactive=1", admin)).text()).toContain('data-person="gl2"');
    expect(await (await get("/dashboard/directory/people", admin)).text()).not.toContain('data-person="gl2"');

    expect((await post("/dashboard/directory/people/gl2/active", admin, { active: "1" })).headers.get("location")).toBe(
      "/dashboard/directory/people/gl2?done=reactivated",
    );
    expect(await findPerson(h.db, "sim", "gl2")).not.toBeNull();
    const kinds = (await h.db.select().from(directoryChanges).orderBy(directoryChanges.id))
      .filter((c) => c.data.personId === "gl2")
      .map((c) => c.kind);
    expect(kinds).toEqual(["deactivate", "reactivate"]);
  });
});

describe("the directory pages", () => {
  it("list each 邻 with its 邻长 and household count, flagging those outside 5–15", async () => {
    const admin = await signIn("admin");
    const html = await (await get("/dashboard/directory", admin)).text();
    // 一邻 has 2 households, 二邻 has no 邻长: both flagged; 西一邻 is in the other village.
    expect(html).toMatch(/data-unit="n1" class="flagged">.*?李一.*?<td>2<\/td>.*?少于 5 户/su);
    expect(html).toMatch(/data-unit="n2" class="flagged">.*?没有邻长/su);
    expect(html).toContain('data-unit="wn1"');
    const flagged = await (await get("/dashboard/directory?flagged=1&q=%E4%B8%80%E9%82%BB", admin)).text(); // q=一邻
    expect(flagged).toContain('data-unit="n1"');
    expect(flagged).not.toContain('data-unit="n3"');
    const found = await (await get("/dashboard/directory/households?q=%E5%91%A8%E5%A5%B6%E5%A5%B6", admin)).text(); // 周奶奶
    expect(found).toContain('data-household="h4"');
    expect(found).not.toContain('data-household="h1"');
  });
});

describe("refusals", () => {
  it("a village official cannot see or touch another village", async () => {
    const vw1 = await signIn("vw1");
    const list = await (await get("/dashboard/directory", vw1)).text();
    expect(list).toContain('data-unit="wn1"');
    expect(list).not.toContain('data-unit="n1"');
    expect((await get("/dashboard/directory/units/n3", vw1)).status).toBe(404);
    expect((await get("/dashboard/directory/people/r3", vw1)).status).toBe(404);
    expect(await (await get("/dashboard/directory/people?q=%E5%AD%99", vw1)).text()).not.toContain('data-person="r3"'); // 孙

    const before = await h.db.select().from(people).orderBy(people.id);
    const handover = await post("/dashboard/directory/units/n3/handover", vw1, { outgoing: "nl3", incoming: "r3", outgoingBecomes: "inactive" });
    expect(handover.status).toBe(404);
    // Not even by appointing someone of their own village to a 邻 of the other.
    expect((await post("/dashboard/directory/units/n2/handover", vw1, { incoming: "rw1", outgoingBecomes: "resident" })).status).toBe(404);
    expect((await post("/dashboard/directory/people/r3/active", vw1, { active: "0" })).status).toBe(404);
    expect(await h.db.select().from(people).orderBy(people.id)).toEqual(before);
    // Their own village works.
    expect((await get("/dashboard/directory/units/wn1/handover", vw1)).status).toBe(200);
  });

  it("a leader who keeps no directory gets a page with a way back, and cannot post", async () => {
    const gl1 = await signIn("gl1");
    const res = await get("/dashboard/directory", gl1);
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).toContain("名册只对管理员和村（社区）干部开放");
    expect(html).toContain('href="/dashboard"');
    expect((await post("/dashboard/directory/people/r2/active", gl1, { active: "0" })).status).toBe(403);
    expect((await person("r2"))?.active).toBe(true);
  });

  it("a non-admin cannot upload a workbook, download the directory or bind a group", async () => {
    const vo1 = await signIn("vo1");
    const page = await get("/dashboard/directory/import", vo1);
    expect(page.status).toBe(403);
    expect(await page.text()).toContain("这一页只对管理员开放");
    const body = new FormData();
    body.append("file", new File([new Uint8Array([80, 75, 5, 6])], "名册.xlsx"));
    const upload = await app.request("/dashboard/directory/import", { method: "POST", headers: { cookie: vo1 }, body });
    expect(upload.status).toBe(403);
    expect((await get("/dashboard/directory/export.xlsx", vo1)).status).toBe(403);
    expect((await get("/dashboard/directory/chats", vo1)).status).toBe(403);
    const bind = await post("/dashboard/directory/chats/bind", vo1, { platform: "sim", externalId: "c-x", unitId: "g1", name: "x" });
    expect(bind.status).toBe(403);
    expect(await h.db.select().from(directoryChanges).where(eq(directoryChanges.kind, "import"))).toHaveLength(0);
  });
});
