/**
 * The soak's duplicate accounting (bench/soak/checks.ts) on a real database: an extra copy is explained only when
 * the process that sent an earlier copy was SIGKILLed before the extra copy arrived (even before the fake read its own
 * copy: a bot killed with its request written), or never got the platform's answer between the copies — each such
 * event explaining one copy — and anything else is reported unexplained (which fails the soak).
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FailedSend, checkOutbox, failedSends, type Life } from "../bench/soak/checks.js";
import { importDirectory } from "../src/db/directory-import.js";
import { chats, outbox } from "../src/db/schema/index.js";
import type { WebhookCall } from "./fakes/wecom.js";
import { type ScratchDatabase, scratchPostgres } from "./helpers/db.js";
import { FIXTURE } from "./helpers/harness.js";

const BASE = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const KEY = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";
let t: ScratchDatabase;
let sql: postgres.Sql;
beforeAll(async () => {
  t = await scratchPostgres(BASE);
  await importDirectory(t.db, FIXTURE);
  await t.db.insert(chats).values({ id: "w1", platform: "wecom", externalId: "wrSoak1", unitId: "g1", name: "企微群", webhookUrl: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${KEY}` });
  const sent = (dedupeKey: string, text: string) => ({ dedupeKey, chatId: "w1", kind: "ping" as const, payload: { text, mentions: [] }, status: "sent" as const });
  await t.db.insert(outbox).values([sent("k-kill", "消息一"), sent("k-none", "消息二"), sent("k-lost", "消息三"), sent("k-twice", "消息四"), sent("k-same-a", "同样的话"), sent("k-same-b", "同样的话"), sent("k-inflight", "消息五"), sent("k-late", "消息六")]);
  sql = postgres(t.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await sql?.end();
  await t?.close();
});

const T0 = 1_000_000;
const copy = (text: string, at: number, pid: number): WebhookCall => ({ key: KEY, body: { msgtype: "text", text: { content: text } }, errcode: 0, at: T0 + at, replica: `host:${pid}` });
const lives: Life[] = [
  { bot: "bot-a", pid: 100, startedAt: T0 },
  { bot: "bot-b", pid: 200, startedAt: T0, killedAt: T0 + 2000 },
  { bot: "bot-b", pid: 201, startedAt: T0 + 4000 },
  { bot: "bot-c", pid: 300, startedAt: T0, killedAt: T0 + 7000 },
  { bot: "bot-d", pid: 400, startedAt: T0, killedAt: T0 + 3000 },
];

describe("duplicate accounting", () => {
  it("explains a copy after a SIGKILL of the earlier copy's sender, or a lost answer; nothing else; one copy per event", async () => {
    const ids = new Map((await sql<{ id: number; dedupe_key: string }[]>`select id, dedupe_key from outbox`).map((r) => [r.dedupe_key, r.id]));
    const failed: FailedSend[] = [
      { pid: 100, outboxId: ids.get("k-lost") as number, at: T0 + 1500, error: "webhook request failed (TimeoutError)" },
      // A refusal is not a lost answer: the platform said no, so it did not take the message.
      { pid: 100, outboxId: ids.get("k-none") as number, at: T0 + 1500, error: "webhook errcode 45009" },
    ];
    const calls = [
      copy("消息一", 1000, 200), copy("消息一", 5000, 201), // bot-b killed at 2 s between the copies: explained
      copy("消息二", 1000, 100), copy("消息二", 3000, 200), // no kill of pid 100, only a refusal: unexplained
      copy("消息三", 1000, 100), copy("消息三", 3000, 201), // pid 100 never got the answer: explained
      copy("消息四", 1000, 200), copy("消息四", 4500, 201), copy("消息四", 6000, 100), // one kill explains one copy only
      copy("同样的话", 1000, 100), copy("同样的话", 1200, 100), // two rows, same text: two copies, no duplicate
      copy("消息五", 3050, 400), copy("消息五", 6000, 100), // bot-d killed at 3 s with its request written (read at 3.05 s): explained
      copy("消息六", 1000, 300), copy("消息六", 5000, 100), // bot-c killed at 7 s, after the second copy: unexplained
    ];
    const r = await checkOutbox(sql, calls, { lives, failed, t0: T0 });
    expect(r).toMatchObject({ chatSent: 8, webhookAccepted: 15, duplicates: 7, explained: 4, unexplained: 3, unmatched: 0, stray: 0 });
    const line = (key: string) => r.duplicateLines.filter((l) => l.includes(`(${key})`));
    expect(line("k-kill")).toEqual([expect.stringContaining("explained: bot-b pid 200 was SIGKILLed at 2.0 s")]);
    expect(line("k-none")).toEqual([expect.stringContaining("UNEXPLAINED")]);
    expect(line("k-lost")).toEqual([expect.stringContaining("explained: pid 100 never got WeCom's answer")]);
    expect(line("k-twice").map((l) => l.endsWith("UNEXPLAINED"))).toEqual([false, true]);
    expect(line("k-kill")[0]).toContain("1.0 s by bot-b pid 200; 5.0 s by bot-b pid 201");
    expect(line("k-inflight")).toEqual([expect.stringContaining("explained: bot-d pid 400 was SIGKILLed at 3.0 s")]);
    expect(line("k-late")).toEqual([expect.stringContaining("UNEXPLAINED")]);
  });

  it("a copy nobody sent a row for is stray, and a sent row never received is unmatched", async () => {
    const r = await checkOutbox(sql, [copy("消息一", 1000, 100), copy("没有这条", 1000, 100)], { lives, failed: [], t0: T0 });
    expect(r.stray).toBe(1);
    expect(r.unmatched).toBe(7); // 消息二 to 消息六 and the two 同样的话
  });

  it("reads the failed sends from a bot's JSON log", () => {
    const log = [
      '{"level":40,"time":1700000000000,"pid":4242,"outboxId":7,"platform":"wecom","attempts":1,"permanent":false,"error":"webhook request failed (TimeoutError)","msg":"send failed"}',
      '{"level":40,"time":1700000000001,"pid":4242,"msg":"something else"}',
      "not json",
    ].join("\n");
    expect(failedSends(log)).toEqual([{ pid: 4242, outboxId: 7, at: 1700000000000, error: "webhook request failed (TimeoutError)" }]);
  });
});
