/**
 * Messages that arrive together share one transaction (group commit), and the directory cache behind them:
 * through the simulator API and the pipeline of the real app, on a real database.
 */
import { count, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleIncoming } from "../src/bot/pipeline.js";
import type { IncomingMessage } from "../src/bot/types.js";
import { chats, inboundMessages, people, tickets } from "../src/db/schema/index.js";
import { GroupCommit } from "../src/lib/group-commit.js";
import { findSender, unitPathWithLeaders } from "../src/workflows/directory.js";
import { Effects } from "../src/workflows/effects.js";
import { createHarness, type Harness } from "./helpers/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const ticketNo = (text: string) => Number(/#(\d+)/.exec(text)?.[1]);
const message = (messageId: string, text: string, senderExternalId = "r1"): IncomingMessage => ({
  platform: "sim",
  messageId,
  chatExternalId: "c1",
  senderExternalId,
  text,
  receivedAt: new Date(),
});

describe("group commit", () => {
  it("60 reports at once, 10 of them delivered twice in the same burst: 60 tickets, the copies answered alike", async () => {
    const before = (await h.db.select({ n: count() }).from(tickets))[0]?.n ?? 0;
    const sends = Array.from({ length: 60 }, (_, i) => ({ id: `burst-${i}`, text: `报事 路灯坏了（${i}）`, user: i % 2 ? "r1" : "r2" }));
    const copies = sends.slice(0, 10);
    const answers = await Promise.all(
      [...sends, ...copies].map((s) => h.post("c1", s.user, s.text, s.id).then((r) => ({ id: s.id, ...r }))),
    );
    for (const a of answers) expect(a.status).toBe(200);
    const byId = new Map<string, string[]>();
    for (const a of answers) byId.set(a.id, [...(byId.get(a.id) ?? []), a.body.replies.map((r) => r.text).join("\n")]);
    const numbers = new Set<number>();
    for (const [id, texts] of byId) {
      expect(texts[0], id).toMatch(/已登记工单 #\d+/);
      // Every copy of a message got the first copy's answer word for word.
      for (const t of texts) expect(t).toBe(texts[0]);
      numbers.add(ticketNo(texts[0] as string));
    }
    expect(numbers.size).toBe(60);
    const after = (await h.db.select({ n: count() }).from(tickets))[0]?.n ?? 0;
    expect(after - before).toBe(60);
    const rows = await h.db.select().from(inboundMessages).where(inArray(inboundMessages.messageId, sends.map((s) => s.id)));
    expect(rows).toHaveLength(60);
    for (const r of rows) expect(r.replies[0]?.text).toMatch(/已登记工单 #\d+/);
    // The texts are each in their own ticket.
    const opened = await h.db.select({ text: tickets.text }).from(tickets).where(inArray(tickets.id, [...numbers]));
    expect(new Set(opened.map((t) => t.text)).size).toBe(60);
  });

  it("one message that fails does not take the rest of its batch down, and leaves no trace", async () => {
    const pipeline = h.runtime.pipeline;
    const good = Array.from({ length: 12 }, (_, i) => message(`mixed-${i}`, `报事 井盖松动（${i}）`));
    const bad = message("mixed-bad", "报事 这一条的记录写不进去");
    const failing = async () => {
      throw new Error("transcript store failed");
    };
    const outcomes = await Promise.allSettled([
      ...good.slice(0, 6).map((m) => handleIncoming(pipeline, m)),
      handleIncoming(pipeline, bad, failing),
      ...good.slice(6).map((m) => handleIncoming(pipeline, m)),
    ]);
    const failed = outcomes.filter((o) => o.status === "rejected");
    expect(failed).toHaveLength(1);
    expect(String((failed[0] as PromiseRejectedResult).reason)).toContain("transcript store failed");
    for (const o of outcomes.filter((x) => x.status === "fulfilled")) {
      expect((o as PromiseFulfilledResult<{ replies: { text: string }[] }>).value.replies[0]?.text).toMatch(/已登记工单 #\d+/);
    }
    const stored = await h.db.select().from(inboundMessages).where(eq(inboundMessages.messageId, "mixed-bad"));
    expect(stored).toHaveLength(0);
    expect(await h.db.select().from(tickets).where(eq(tickets.text, "这一条的记录写不进去"))).toHaveLength(0);
    // Delivered again (as WeCom would after the 503), it goes through like any new message.
    const again = await handleIncoming(pipeline, bad);
    expect(again.replies[0]?.text).toMatch(/已登记工单 #\d+/);
    expect(await h.db.select().from(tickets).where(eq(tickets.text, "这一条的记录写不进去"))).toHaveLength(1);
  });

  it("batches form under load and stay within their size", async () => {
    const sizes: number[] = [];
    let running = 0;
    let most = 0;
    const gc = new GroupCommit<number, number>(
      async (items) => {
        sizes.push(items.length);
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setImmediate(r)); // the batch's work is asynchronous
        running -= 1;
        return items.map((x) => ({ ok: true as const, value: x * 2 }));
      },
      { maxInFlight: 2, maxBatch: 10 },
    );
    const out = await Promise.all(Array.from({ length: 45 }, (_, i) => gc.submit(i)));
    expect(out).toEqual(Array.from({ length: 45 }, (_, i) => i * 2));
    // All 45 are submitted at once: the first two go alone (light load), the rest wait and go ten at a time.
    expect(sizes).toEqual([1, 1, 10, 10, 10, 10, 3]);
    expect(most).toBe(2);
  });

  it("a batch that never settles fails after the time limit and frees its slot: the next batches still run", async () => {
    let calls = 0;
    const gc = new GroupCommit<number, number>(
      async (items) => {
        calls += 1;
        // The first batch hangs for good, as a transaction on a killed connection can.
        if (calls === 1) return new Promise<never>(() => {});
        return items.map((x) => ({ ok: true as const, value: x + 1 }));
      },
      { maxInFlight: 1, maxBatch: 10, timeoutMs: 200 },
    );
    const started = Date.now();
    const stuck = gc.submit(1);
    const next = gc.submit(2); // waits behind the stuck batch (one in flight)
    await expect(stuck).rejects.toThrow(/ran longer than 200 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(await next).toBe(3);
    expect(await gc.submit(3)).toBe(4);
  });
});

describe("directory cache", () => {
  it("senders and ladders looked up together (a flood day's first messages): each message gets its own chat, person, household and ladder", async () => {
    // Side by side on one connection, the look-ups go out together (findSender coalesces them).
    const [a, b, stranger, nowhere, again] = await Promise.all([
      findSender(h.db, "sim", "c1", "r1"),
      findSender(h.db, "sim", "c2", "r3"),
      findSender(h.db, "sim", "c1", "nobody-here"),
      findSender(h.db, "sim", "no-such-chat", "r1"),
      findSender(h.db, "sim", "c2", "r1"),
    ]);
    expect([a?.chat.id, a?.person?.id, a?.household?.id]).toEqual(["c1", "r1", "h1"]);
    expect([b?.chat.id, b?.person?.id, b?.household?.id]).toEqual(["c2", "r3", "h3"]);
    expect([stranger?.chat.id, stranger?.person, stranger?.household]).toEqual(["c1", null, null]);
    expect(nowhere).toBeNull();
    expect([again?.chat.id, again?.person?.id]).toEqual(["c2", "r1"]);
    // The same for the units' ladders the reports climb: paths and leaders looked up together, each its own.
    const [n1, n3, g2, unknown, n1again] = await Promise.all(["n1", "n3", "g2", "no-such-unit", "n1"].map((u) => unitPathWithLeaders(h.db, u)));
    expect(n1?.path.map((u) => u.id)).toEqual(["n1", "g1", "v", "t"]);
    expect(n1?.leaders.get("n1")?.map((p) => p.id)).toEqual(["nl1"]);
    expect(n1?.leaders.get("g1")?.map((p) => p.id)).toEqual(["gl1"]);
    expect(n3?.path.map((u) => u.id)).toEqual(["n3", "g2", "v", "t"]);
    expect(n3?.leaders.get("n3")?.map((p) => p.id)).toEqual(["nl3"]);
    expect(g2?.path.map((u) => u.id)).toEqual(["g2", "v", "t"]);
    expect(unknown?.path).toEqual([]);
    expect(n1again?.path.map((u) => u.id)).toEqual(["n1", "g1", "v", "t"]);
    // Through the pipeline, many at once from different people and chats: each ticket is the sender's own.
    const sends = [
      { chat: "c2", user: "r3", household: "h3" },
      { chat: "c1", user: "r2", household: "h2" },
      { chat: "c1", user: "r1", household: "h1" },
      { chat: "c2", user: "nl3", household: null },
    ].flatMap((s, i) => [0, 1, 2].map((k) => ({ ...s, id: `who-${i}-${k}`, text: `报事 门口积水（${s.user}-${k}）` })));
    const answers = await Promise.all(sends.map((s) => h.post(s.chat, s.user, s.text, s.id)));
    for (const [i, s] of sends.entries()) {
      const no = ticketNo(answers[i]?.body.replies[0]?.text ?? "");
      const [t] = await h.db.select().from(tickets).where(eq(tickets.id, no));
      expect([t?.reporterId, t?.householdId, t?.chatId, t?.text], s.id).toEqual([s.user, s.household, s.chat, s.text.slice(3)]);
    }
  });

  it("a chat registered after its first message is recognised on the next one", async () => {
    const first = await h.post("c-late", "r1", "报事 路边垃圾桶满了", "late-1");
    expect(first.body.replies[0]?.text).toContain("还没有登记到好邻");
    await h.db.insert(chats).values({ id: "c-late", platform: "sim", externalId: "c-late", unitId: "g1", name: "东村一组二群" });
    const second = await h.say("c-late", "r1", "报事 路边垃圾桶满了", "late-2");
    expect(second.text).toMatch(/已登记工单 #\d+/);
  });

  it("a role changed in the directory counts from the next message", async () => {
    const id = ticketNo((await h.say("c1", "r1", "报事 楼道灯不亮")).text);
    expect((await h.say("c1", "r2", `认领 #${id}`)).text).toContain("负责人");
    await h.db.update(people).set({ role: "neighbor_leader", unitId: "n1" }).where(eq(people.id, "r2"));
    try {
      expect((await h.say("c1", "r2", `认领 #${id}`)).text).toContain(`已认领工单 #${id}`);
    } finally {
      await h.db.update(people).set({ role: "resident", unitId: "n2" }).where(eq(people.id, "r2"));
    }
    // And back: a resident again is refused again.
    const next = ticketNo((await h.say("c1", "r1", "报事 楼道灯又坏了")).text);
    expect((await h.say("c1", "r2", `认领 #${next}`)).text).toContain("负责人");
  });
});

describe("effects of a batch", () => {
  const at = new Date("2026-01-01T00:00:00Z");
  it("each wake-up slot is set once for the batch; every outbox row is kept", () => {
    const a = new Effects();
    a.timers.push({ jobId: "wake-1", runAt: at }, { jobId: "wake-2", runAt: at });
    a.outbox.push({ id: 7, notBefore: at });
    const b = new Effects();
    b.timers.push({ jobId: "wake-1", runAt: at });
    b.outbox.push({ id: 8, notBefore: at });
    const m = Effects.merge([a, b]);
    expect(m.timers.map((t) => t.jobId).sort()).toEqual(["wake-1", "wake-2"]);
    expect(m.outbox.map((o) => o.id)).toEqual([7, 8]);
  });
});
