/**
 * A WeCom-only town with a 自建应用: every private message the DingTalk path sends privately reaches the member
 * through application messages, over real HTTP to the fake WeCom server API (test/fakes/wecom-app.ts), with the
 * group side through the real callback and webhooks (test/fakes/wecom-bot.ts). No simulator sender.
 */
import { fileURLToPath } from "node:url";
import { and, eq, isNotNull, like } from "drizzle-orm";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WecomAppApi } from "../src/bot/wecom/app-api.js";
import { createWecomSender } from "../src/bot/wecom/sender.js";
import { identities, outbox, tickets } from "../src/db/schema/index.js";
import { EnvError, loadEnv, wecomAppConfig } from "../src/env.js";
import { deliverOutbox } from "../src/workflows/delivery.js";
import { fanOutMonthlyReports } from "../src/workflows/digests/index.js";
import { queueMessage } from "../src/workflows/outbox.js";
import { runVisitReminders } from "../src/workflows/visits/reminders.js";
import { FakeWecomApp } from "./fakes/wecom-app.js";
import { BOT_ID, CHATID, startWecomBot } from "./fakes/wecom-bot.js";
import { groupText } from "./fakes/wecom.js";
import { waitFor } from "./helpers/harness.js";

const TOWN = fileURLToPath(new URL("./fixtures/wecom-town.yaml", import.meta.url));
const silent = pino({ level: "silent" });
/** Local Asia/Shanghai time. */
const sh = (local: string) => new Date(`${local}+08:00`);

/** The business clock: set to a local time, then running with the wall clock (the outbox's pacing needs time to pass). */
let base = sh("2025-06-02T10:00:00").getTime();
let t0 = Date.now();
const clock = () => new Date(base + Date.now() - t0);
const setNow = (local: string) => {
  base = sh(local).getTime();
  t0 = Date.now();
};

const MEMBERS = ["WangLZ", "zhangzz", "ChenCG", "liyi"]; // 刘镇干 (LiuZG) is outside the app's visible range

function appApi(fake: FakeWecomApp) {
  return new WecomAppApi({ corpId: fake.corpId, secret: fake.secret, agentId: fake.agentId, apiBase: fake.url }, silent);
}

describe("configuration", () => {
  it("the three variables together turn the application on; one or two alone name what is missing", () => {
    expect(wecomAppConfig(loadEnv({}))).toBeNull();
    expect(wecomAppConfig(loadEnv({ WECOM_CORP_ID: "ww1234", WECOM_APP_SECRET: "s3cret", WECOM_AGENT_ID: "1000002" }))).toMatchObject({
      corpId: "ww1234",
      agentId: 1000002,
      apiBase: "https://qyapi.weixin.qq.com",
    });
    const missing = () => wecomAppConfig(loadEnv({ WECOM_CORP_ID: "ww1234" }));
    expect(missing).toThrow(EnvError);
    expect(missing).toThrow(/WECOM_APP_SECRET[\s\S]*WECOM_AGENT_ID/);
    expect(() => wecomAppConfig(loadEnv({ WECOM_CORP_ID: "ww1234", WECOM_AGENT_ID: "7" }))).toThrow(/WECOM_APP_SECRET/);
    expect(() => loadEnv({ WECOM_AGENT_ID: "abc" })).toThrow(/WECOM_AGENT_ID/);
  });
});

describe("every private message on a WeCom-only deployment", () => {
  let fake: FakeWecomApp;
  let bot: Awaited<ReturnType<typeof startWecomBot>>;
  const say = async (userid: string, text: string) => {
    const r = await bot.fake.callback(groupText(BOT_ID, CHATID, userid, `@好邻 ${text}`));
    return String((r.reply?.stream as { content?: string } | undefined)?.content ?? "");
  };
  const inbox = (userid: string, needle: string) => waitFor(async () => fake.inbox(userid).find((t) => t.includes(needle)), 15_000);

  beforeAll(async () => {
    setNow("2025-06-02T10:00:00"); // a Monday
    // WeCom's windows (duplicate check, member limit) on the same clock as the town's, which jumps days ahead.
    fake = await FakeWecomApp.start({ members: MEMBERS, now: () => clock().getTime(), openUserids: { woFAKEopen0001: "wanglz" } });
    bot = await startWecomBot({
      directory: TOWN,
      clock,
      sim: false,
      app: { api: appApi(fake), logger: silent, memberIntervalMs: 50 },
    });
  });
  afterAll(async () => {
    await bot?.close();
    await fake?.close();
  });

  it("a visit's details, the 待走访 list and the choices for an ambiguous name go to the 邻长 privately", async () => {
    expect(await say("WangLZ", "电联 周四 电话问候")).toBe("✅ 已记录 1 次联系，详情已私信发给你。");
    await inbox("wanglz", "周四");
    expect(await say("WangLZ", "待走访")).toContain("名单已私信发给你");
    expect(await inbox("wanglz", "📋 待走访")).toContain("王芳（6号）");
    expect(await say("WangLZ", "走访 王芳 家里都好")).toBe("找到 2 户符合，选项已私信发给你，请在本群回复序号（如 1）。");
    const choices = await inbox("wanglz", "“王芳”对应 2 户");
    expect(choices).toContain("1. 王芳（5号）");
    // None of it in the group.
    for (const c of bot.fake.sent()) expect(JSON.stringify(c.body)).not.toMatch(/王芳|周四|低保/);
  });

  it("a member the bot reports by open_userid is resolved through the application once, then known by it", async () => {
    const r = await bot.fake.callback(groupText(BOT_ID, CHATID, "woFAKEopen0001", "@好邻 待走访"));
    expect(String((r.reply?.stream as { content?: string } | undefined)?.content)).toContain("你负责的");
    const ids = await bot.h.db.select().from(identities).where(eq(identities.personId, "nl1"));
    expect(ids.map((i) => [i.externalId, i.kind]).sort()).toEqual([
      ["wanglz", "userid"],
      ["wofakeopen0001", "open_userid"],
    ]);
    // A WeChat user's external_userid from the directory file is kept as such, and nothing is sent to it.
    const [ext] = await bot.h.db.select().from(identities).where(eq(identities.externalId, "wmFAKEexternal0001"));
    expect(ext).toMatchObject({ platform: "wecom", personId: "r1", kind: "external_userid" });
  });

  it("the weekly-contact reminder and the 28th's visit list", async () => {
    setNow("2025-06-08T09:00:00");
    const first = await bot.h.runtime.transact((ctx) => runVisitReminders(ctx));
    expect(first.contact).toBeGreaterThan(0);
    await inbox("wanglz", "重点户 周四（4号） 已 6 天没有联系");
    setNow("2025-06-25T09:00:00");
    expect((await bot.h.runtime.transact((ctx) => runVisitReminders(ctx))).dueLists).toBeGreaterThan(0);
    expect(await inbox("wanglz", "6月28日是集中走访日")).toContain("王芳（6号）");
  });

  it("an escalation's private copy reaches the next leader, and its group ping @s them through the webhook", async () => {
    setNow("2025-06-26T10:00:00");
    expect(await say("LiYi", "报事 村口路灯坏了")).toContain("#");
    const [t] = await bot.h.db.select().from(tickets).orderBy(tickets.id);
    setNow("2025-06-26T14:30:00"); // past the 4 h answer clock
    await bot.h.runtime.reconcile(); // applies the lapsed clock (its timer may already have)
    expect(await inbox("zhangzz", `你有一条上报来的工单 #${t?.id}`)).toContain("村口路灯坏了");
    await waitFor(async () => bot.fake.mentions(bot.hook.key).includes("zhangzz"));
  });

  it("the monthly report goes to each village and town official as markdown; one outside the app's range is recorded, not retried", async () => {
    setNow("2025-06-28T09:00:00");
    expect((await bot.h.runtime.transact((ctx) => fanOutMonthlyReports(ctx))).queued).toBe(2);
    await inbox("chencg", "月度民情分析");
    expect(fake.delivered.find((d) => d.userid === "chencg" && d.content.includes("月度民情分析"))?.msgtype).toBe("markdown");
    const failed = await waitFor(async () => {
      const [row] = await bot.h.db.select().from(outbox).where(and(eq(outbox.personId, "to1"), eq(outbox.status, "failed")));
      return row;
    });
    expect(failed.lastError).toContain("visible range");
    expect(fake.sends.filter((s) => String(s.request.touser).toLowerCase() === "liuzg")).toHaveLength(1);
  });

  it("nothing private was skipped, cut off or dropped, and nothing came twice", async () => {
    // The last rows may still wait for their member's send slot.
    const rows = await waitFor(async () => {
      const all = await bot.h.db.select().from(outbox).where(isNotNull(outbox.personId));
      return all.every((r) => r.status === "sent" || r.status === "failed") && all;
    });
    expect(rows.filter((r) => r.status === "failed").map((r) => `${r.personId} ${r.lastError}`)).toEqual([expect.stringMatching(/^to1 /)]);
    expect(rows.filter((r) => r.status === "sent")).toHaveLength(rows.length - 1);
    expect(rows.filter((r) => r.status === "sent").every((r) => r.platform === "wecom")).toBe(true);
    expect(fake.delivered.filter((d) => d.truncated)).toEqual([]);
    // A drop is only ever WeCom's duplicate check on a text the member already has (two reminders that read the same).
    for (const d of fake.dropped) {
      expect(d.reason).toBe("duplicate");
      expect(fake.inbox(d.userid)).toContain(d.content);
    }
    // Each row went out once: one accepted message per sent row (all of these fit in one part).
    expect(fake.delivered.length + fake.dropped.length).toBe(rows.filter((r) => r.status === "sent").length);
    // Every call asked WeCom to drop a repeat, and carried the app's agentid.
    for (const s of fake.sends) expect(s.request).toMatchObject({ agentid: fake.agentId, enable_duplicate_check: 1, duplicate_check_interval: 14_400 });
    // WeCom's tokens lived 7,200 s of the town's clock, which jumped days: an expired one (42001) was fetched anew,
    // once for all the calls that met it at the same time.
    expect(new Set(fake.tokenRejections)).toEqual(new Set([42001]));
    expect(fake.tokenFetches).toBeGreaterThan(1);
    expect(fake.tokenFetches).toBeLessThanOrEqual(1 + fake.tokenRejections.length);
  });
});

describe("the application-message API against the documented answers", () => {
  let fake: FakeWecomApp;
  beforeAll(async () => {
    fake = await FakeWecomApp.start({ members: MEMBERS });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("touser joined by |: a partial success reaches the valid ones once and names the others; all invalid is 81013", async () => {
    const api = appApi(fake);
    const r = await api.sendMessage(["WangLZ", "outsider", "zhangzz"], { msgtype: "text", text: { content: "测试一" } });
    expect(r.invalid).toEqual(["outsider"]);
    expect(fake.sends.at(-1)?.request.touser).toBe("WangLZ|outsider|zhangzz");
    expect(fake.inbox("wanglz")).toEqual(["测试一"]);
    expect(fake.inbox("zhangzz")).toEqual(["测试一"]);
    const none = await api.sendMessage(["nobody", "outsider"], { msgtype: "text", text: { content: "测试二" } });
    expect(fake.sends.at(-1)?.errcode).toBe(81013);
    expect(none.invalid).toEqual(["nobody", "outsider"]);
  });

  it("one token for concurrent calls; a token WeCom revoked early (42001) is fetched again once and the call goes through", async () => {
    const api = appApi(fake);
    await Promise.all([1, 2, 3, 4].map((i) => api.sendMessage(["ChenCG"], { msgtype: "text", text: { content: `并发 ${i}` } })));
    expect(api.tokenFetches).toBe(1);
    fake.revokeTokens();
    await api.sendMessage(["ChenCG"], { msgtype: "text", text: { content: "换了令牌" } });
    expect(api.tokenFetches).toBe(2);
    expect(fake.tokenRejections).toEqual([42001]);
    expect(fake.inbox("chencg").filter((t) => t === "换了令牌")).toHaveLength(1);
  });

  it("a wrong secret is a configuration error, not a retry loop", async () => {
    const api = new WecomAppApi({ corpId: fake.corpId, secret: "wrong", agentId: fake.agentId, apiBase: fake.url }, silent);
    await expect(api.sendMessage(["ChenCG"], { msgtype: "text", text: { content: "x" } })).rejects.toMatchObject({ kind: "config", errcode: 40001 });
  });
});

describe("pacing and duplicate checking through the outbox", () => {
  let fake: FakeWecomApp;
  let bot: Awaited<ReturnType<typeof startWecomBot>>;
  beforeAll(async () => {
    // A member may receive 3 messages in any 2 s here (WeCom: 30 a minute); the sender spaces them 0.7 s apart.
    fake = await FakeWecomApp.start({ members: MEMBERS, memberLimit: { count: 3, windowMs: 2000 } });
    bot = await startWecomBot({ directory: TOWN, sim: false, app: { api: appApi(fake), logger: silent, memberIntervalMs: 700 } });
  });
  afterAll(async () => {
    await bot?.close();
    await fake?.close();
  });

  const queue = (key: string, text: string) =>
    bot.h.runtime.transact((ctx) => queueMessage(ctx, { dedupeKey: key, to: { personId: "vo1" }, kind: "notice", payload: { text, mentions: [] } }));

  it("a burst to one member is spaced out, so WeCom drops none of it", async () => {
    for (const i of [1, 2, 3, 4]) await queue(`burst-${i}`, `第 ${i} 条`);
    await waitFor(async () => fake.inbox("chencg").length === 4);
    expect(fake.dropped).toEqual([]);
    // The spacing the outbox chose: each row's sentAt is when its send began, the send slot it took.
    const rows = await waitFor(async () => {
      const all = await bot.h.db.select().from(outbox).where(like(outbox.dedupeKey, "burst-%")).orderBy(outbox.sentAt);
      return all.every((r) => r.status === "sent") && all;
    });
    const at = rows.map((r) => r.sentAt?.getTime() ?? 0);
    for (let i = 1; i < at.length; i++) expect((at[i] ?? 0) - (at[i - 1] ?? 0)).toBeGreaterThanOrEqual(700);
  });

  it("a crash between send and record: the row is sent again when its lease lapses, and WeCom drops the repeat", async () => {
    const crashed = (duplicateCheckS?: number) =>
      createWecomSender({ webhookBase: bot.fake.url, logger: silent, onDeadWebhook: async () => {}, app: { api: appApi(fake), logger: silent, duplicateCheckS, memberIntervalMs: 0 } });
    for (const [key, duplicateCheckS, copies] of [
      ["crash-checked", undefined, 1],
      ["crash-unchecked", 0, 2],
    ] as const) {
      const text = `崩溃测试 ${key}`;
      // A worker claims the row, sends it, and dies before recording: its send never returns.
      const dying = crashed(duplicateCheckS);
      const hang = { ...dying, send: async (...a: Parameters<typeof dying.send>) => { await dying.send(...a); await new Promise(() => {}); } };
      await bot.h.db.insert(outbox).values({ dedupeKey: key, personId: "gl1", kind: "notice", payload: { text, mentions: [] }, notBefore: new Date(0) });
      const [row] = await bot.h.db.select().from(outbox).where(eq(outbox.dedupeKey, key));
      const id = Number(row?.id);
      void deliverOutbox({ ...bot.h.runtime.delivery, senders: [hang] }, id);
      await waitFor(async () => fake.inbox("zhangzz").includes(text));
      // The lease lapses; another worker (the same deployment, restarted) takes the row over.
      await bot.h.db.update(outbox).set({ leaseUntil: new Date(0) }).where(eq(outbox.id, id));
      expect(await deliverOutbox({ ...bot.h.runtime.delivery, senders: [crashed(duplicateCheckS)] }, id)).toBe("sent");
      expect(fake.sends.filter((s) => JSON.stringify(s.request).includes(text))).toHaveLength(2);
      expect(fake.inbox("zhangzz").filter((t) => t === text)).toHaveLength(copies);
    }
  });
});
