/**
 * 矛盾调解 through the simulator pipeline on a real database: a case opened in a group is recorded privately (the
 * group reads only "已记录一件调解"), climbs 邻 → 组 → 村 → 镇 on 调解不成 with the next leaders told privately, ends
 * as 已调解 or 调解不成, is counted (numbers only) in the monthly report, and shows on the dashboard only to the
 * leaders responsible for it and above. Privacy is judged by the oracle and by reading every group-bound outbox row,
 * group reply and log line for the case's words — never by the masker.
 */
import { Writable } from "node:stream";
import { asc, isNotNull, like } from "drizzle-orm";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleIncoming } from "../src/bot/pipeline.js";
import { mediationEvents, mediations, outbox } from "../src/db/schema/index.js";
import { fanOutMonthlyReports } from "../src/workflows/digests/index.js";
import { leaderCookie, page } from "./helpers/dashboard.js";
import { createHarness, type Harness, waitFor } from "./helpers/harness.js";
import { leaks, personalIn, type Secret } from "./helpers/personal-oracle.js";
import { adminDashboard } from "./helpers/photos.js";

const sh = (local: string) => new Date(`${local}+08:00`);
let now = sh("2026-04-10T10:00:00");
const clock = () => now;

const PHONE = "13912345678";
/** Every word of the cases that must never reach a group or a log: parties, matters, reasons, results. */
const WORDS = ["钱大富", "孙小红", "宅基地", "排水沟", "不肯让步", "组里也调不下来", "村里也不行", "镇里也不行", "赔偿", "道歉", "鸡舍"];
const SECRETS: Secret[] = [{ kind: "number", value: PHONE }, ...WORDS.map((value) => ({ kind: "word" as const, value }))];

let h: Harness;
const logLines: string[] = [];
/** Every reply the bot gave in a group, as the group read it. */
const groupReplies: string[] = [];
let seq = 0;

async function inGroup(chat: string, who: string, text: string) {
  const r = await h.say(chat, who, text);
  groupReplies.push(r.text);
  return r.text;
}
const direct = async (who: string, text: string) =>
  (
    await handleIncoming(h.runtime.pipeline, { platform: "sim", messageId: `m-${++seq}`, chatExternalId: null, senderExternalId: who, text, receivedAt: now })
  ).replies
    .map((r) => r.text)
    .join("\n");
const dm = (who: string, needle: string) => waitFor(async () => (await h.chatLog(`dm-${who}`)).find((m) => m.text.includes(needle))?.text);
const cases = () => h.db.select().from(mediations).orderBy(asc(mediations.id));

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  h = await createHarness({ clock, logger: pino({ level: "trace" }, sink) });
});
afterAll(async () => {
  await h.close();
});

describe("调解 in a group: recorded privately", () => {
  it("a 邻长 opens a case in the group: the group reads one fixed sentence, the details go to the 邻长 privately", async () => {
    const typed = `@好邻 调解 钱大富和孙小红因宅基地边界起争执，孙小红电话${PHONE}`;
    const first = await h.post("c1", "nl1", typed, "mediation-msg-1");
    expect(first.body.replies.map((r) => r.text)).toEqual(["✅ 已记录一件调解，详情已私信发给你。"]);
    // The platform delivers it again: the same answer, nothing twice (and the redelivery is logged, by id only).
    const again = await h.post("c1", "nl1", typed, "mediation-msg-1");
    expect(again.body.replies).toEqual(first.body.replies);
    groupReplies.push(...first.body.replies.map((r) => r.text), ...again.body.replies.map((r) => r.text));
    const [m] = await cases();
    expect(await cases()).toHaveLength(1);
    expect(m).toMatchObject({ id: 1, openerId: "nl1", unitId: "n1", holderUnitId: "n1", level: "neighborhood", status: "mediating", chatId: "c1" });
    expect(m?.summary).toContain("宅基地");
    const detail = await dm("nl1", "调解 #1");
    expect(detail).toContain("已登记调解 #1（调解中 · 邻级）");
    expect(detail).toContain("钱大富和孙小红因宅基地边界起争执");
  });

  it("a resident may not open one, and the refusal repeats none of their words; a number alone asks about cases", async () => {
    const reply = await inGroup("c1", "r1", "调解 钱大富家的鸡舍占了我家地");
    expect(reply).toBe("调解由邻长等负责人登记。家里有矛盾纠纷，可以私下告诉你的邻长。");
    expect(await cases()).toHaveLength(1);
    expect(await direct("nl1", "调解 #1")).toContain("要查看正在调解的矛盾纠纷请发「待调解」");
    expect(await cases()).toHaveLength(1);
  });

  it("someone beside the case (another group's leaders) learns nothing about it", async () => {
    expect(await inGroup("c2", "nl3", "调解成功 #1 已和好")).toBe("找不到调解 #1，或它不在你负责的范围内，请核对编号。");
    expect(await inGroup("c2", "gl2", "调解不成 #1 不行")).toBe("找不到调解 #1，或它不在你负责的范围内，请核对编号。");
    expect((await cases())[0]?.status).toBe("mediating");
  });
});

describe("调解不成 climbs the ladder like a ticket", () => {
  it("邻 → 组: the 组长 is told privately with the 事由 and the reason; the group reads the fixed sentence", async () => {
    now = sh("2026-04-10T15:00:00");
    expect(await inGroup("c1", "nl1", "调解不成 #1 钱大富不肯让步")).toBe("✅ 已记录一件调解，详情已私信发给你。");
    expect((await cases())[0]).toMatchObject({ holderUnitId: "g1", level: "group", status: "mediating", escalationCount: 1 });
    const handed = await dm("gl1", "调解 #1 从邻级上报到组级");
    expect(handed).toContain("事由：钱大富和孙小红因宅基地边界起争执");
    expect(handed).toContain("邻级调解不成的原因：钱大富不肯让步");
    expect(handed).toContain("登记人：王邻长");
    expect(await dm("nl1", "已上报到组级")).toContain("由 张组长 接手调解");
    // Its opener no longer acts on it.
    expect(await inGroup("c1", "nl1", "调解成功 #1 和好了")).toBe("调解 #1 已上报，由上一级负责人接手调解。");
  });

  it("组 → 村 → 镇, each level's leaders told; at the top 调解不成 ends it, and the opener hears each step", async () => {
    now = sh("2026-04-11T10:00:00");
    expect(await inGroup("c1", "gl1", "调解不成 #1 组里也调不下来")).toBe("✅ 已记录一件调解，详情已私信发给你。");
    for (const vo of ["vo1", "vo2"]) expect(await dm(vo, "调解 #1 从组级上报到村级")).toContain("组级调解不成的原因：组里也调不下来");
    expect(await dm("nl1", "你登记的调解 #1")).toContain("已上报到");
    expect(await inGroup("cv", "vo1", "调解不成 #1 村里也不行")).toBe("✅ 已记录一件调解，详情已私信发给你。");
    expect(await dm("to1", "调解 #1 从村级上报到镇级")).toContain("村级调解不成的原因：村里也不行");
    const end = await direct("to1", "调解不成 #1 镇里也不行");
    expect(end).toContain("调解 #1 记为调解不成（已到镇级）");
    expect((await cases())[0]).toMatchObject({ status: "failed", holderUnitId: "t", level: "town", escalationCount: 3, result: "镇里也不行" });
    expect(await dm("nl1", "记为调解不成")).toContain("你登记的调解 #1");
    expect(await direct("to1", "调解成功 #1 又和好了")).toBe("调解 #1 已结束（调解不成），不需要再操作。");
    const kinds = (await h.db.select().from(mediationEvents).orderBy(asc(mediationEvents.id))).map((e) => [e.kind, e.level, e.actorId]);
    expect(kinds).toEqual([
      ["opened", "neighborhood", "nl1"],
      ["escalated", "neighborhood", "nl1"],
      ["escalated", "group", "gl1"],
      ["escalated", "village", "vo1"],
      ["failed", "town", "to1"],
    ]);
  });

  it("a leader above may settle a case held below; 已调解 ends it and the opener is told privately", async () => {
    now = sh("2026-04-12T09:00:00");
    expect(await inGroup("c1", "gl1", "调解 钱大富与孙小红为排水沟吵架")).toBe("✅ 已记录一件调解，详情已私信发给你。");
    // Opened by the 组长 in his group's chat: it arose in the 组 and the 组 mediates it.
    expect((await cases())[1]).toMatchObject({ id: 2, unitId: "g1", holderUnitId: "g1", level: "group" });
    expect(await inGroup("cv", "vo1", "已调解 #2 双方和解，钱大富道歉")).toBe("✅ 已记录一件调解，详情已私信发给你。");
    expect((await cases())[1]).toMatchObject({ status: "settled", result: "双方和解，钱大富道歉" });
    expect(await dm("gl1", "你登记的调解 #2")).toContain("已调解（陈村干）：双方和解，钱大富道歉");
    expect(await inGroup("c2", "nl3", "调解 孙小红与钱大富的鸡舍纠纷，待双方到场")).toBe("✅ 已记录一件调解，详情已私信发给你。");
  });

  it("待调解 in a group says how many; the list goes privately", async () => {
    expect(await inGroup("cv", "vo1", "待调解")).toBe("正在调解的矛盾纠纷 1 件，清单已私信发给你。");
    expect(await dm("vo1", "正在调解的矛盾纠纷 1 件")).toContain("#3 邻级");
    expect(await direct("nl1", "待调解")).toBe("你负责的范围内没有正在调解的矛盾纠纷。");
  });
});

describe("never visible in a group, never in a log", () => {
  it("every group-bound outbox row, every group reply and every bot line in the groups is free of the cases' words", async () => {
    // The weekly digest a group can ask for says nothing of them either.
    groupReplies.push(await inGroup("c1", "r1", "周报"));
    const rows = await h.db.select().from(outbox).where(isNotNull(outbox.chatId));
    const botLines: string[] = [];
    for (const chat of ["c1", "c2", "cv"]) botLines.push(...(await h.chatLog(chat)).filter((m) => m.from === "bot").map((m) => m.text));
    const texts = [...rows.map((r) => r.payload.text), ...groupReplies, ...botLines];
    expect(groupReplies.length).toBeGreaterThanOrEqual(12);
    for (const t of texts) {
      expect(leaks(t, SECRETS), t).toEqual([]);
      expect(personalIn(t), t).toEqual([]);
    }
  });

  it("the log of the whole run holds none of the cases' words", async () => {
    const all = logLines.join("\n");
    // It did log about them: the redelivered message (by its id).
    expect(all).toContain("mediation-msg-1");
    expect(leaks(all, SECRETS)).toEqual([]);
  });
});

describe("the monthly report counts them, numbers only", () => {
  it("the 28th's report to the village and town says how many, and nothing of what", async () => {
    now = sh("2026-04-28T08:05:00");
    await h.runtime.transact((ctx) => fanOutMonthlyReports(ctx));
    const reports = await h.db.select().from(outbox).where(like(outbox.dedupeKey, "report-%-2026-04"));
    const village = reports.find((r) => r.personId === "vo1")?.payload.text ?? "";
    expect(village).toContain("- 矛盾调解：新登记 3 件，调解成功 1 件，调解不成 1 件，上报上一级 3 次，仍在调解 1 件");
    const town = reports.find((r) => r.personId === "to1")?.payload.text ?? "";
    expect(town).toContain("- 矛盾调解：新登记 3 件");
    for (const t of [village, town]) expect(leaks(t, SECRETS), t).toEqual([]);
  });
});

describe("the dashboard shows a case only to the leaders responsible for it and above", () => {
  let dash: Awaited<ReturnType<typeof adminDashboard>>;
  const seen = async (who: string) => {
    const cookie = who === "admin" ? dash.cookie : await leaderCookie(dash.app, dash.cookie, who);
    const list = (await page(dash.app, cookie, "/dashboard/mediations")).html;
    const ids = [...list.matchAll(/href="\/dashboard\/mediations\/(\d+)"/g)].map((m) => Number(m[1]));
    const detail = await Promise.all([1, 2, 3].map(async (id) => (await page(dash.app, cookie, `/dashboard/mediations/${id}`)).status));
    return { ids: ids.sort(), detail, list };
  };
  beforeAll(async () => {
    dash = await adminDashboard(h.runtime);
  });

  it("the admin sees every case with its 事由, outcome and 台账", async () => {
    const a = await seen("admin");
    expect(a.ids).toEqual([1, 2, 3]);
    expect(a.list).toContain("调解中 <strong>1</strong> 件 · 已调解 <strong>1</strong> 件 · 调解不成 <strong>1</strong> 件");
    const one = (await page(dash.app, dash.cookie, "/dashboard/mediations/1")).html;
    for (const step of ["登记", "调解不成，上报到组级", "调解不成（已到最高一级）", "钱大富不肯让步", "镇里也不行"]) expect(one).toContain(step);
  });

  it("each leader: the levels that held it and above, its opener and those who acted on it — and nobody beside it", async () => {
    // #1 ended at the town (opened by nl1, handled by gl1 and vo1); #2 held by 东村一组 (opened by gl1, settled by vo1);
    // #3 held by 三邻 (opened by nl3).
    const expected: Record<string, number[]> = {
      to1: [1, 2, 3],
      vo1: [1, 2, 3],
      vo2: [2, 3],
      gl1: [1, 2],
      nl1: [1],
      gl2: [3],
      nl3: [3],
    };
    for (const [who, ids] of Object.entries(expected)) {
      const s = await seen(who);
      expect(s.ids, who).toEqual(ids);
      expect(s.detail, who).toEqual([1, 2, 3].map((id) => (ids.includes(id) ? 200 : 404)));
    }
    const other = await seen("nl3");
    expect(other.list).not.toContain("宅基地");
  });

  it("the ticket pages know nothing of the cases", async () => {
    const tickets = (await page(dash.app, dash.cookie, "/dashboard/tickets")).html;
    for (const w of ["宅基地", "排水沟", "钱大富"]) expect(tickets).not.toContain(w);
  });
});
