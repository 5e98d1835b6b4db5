/**
 * A 调解 left lying: a case that stays 调解中 at one level for 14 days with nothing recorded is named privately to the
 * leaders of that level, once per stay — through the pipeline (the case opened and handed up by commands), the
 * periodic task as the scheduler runs it, on an injected clock, with two runs at once. Nothing of it reaches a group.
 */
import { like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleIncoming } from "../src/bot/pipeline.js";
import { outbox } from "../src/db/schema/index.js";
import { mediationTasks } from "../src/workflows/mediations/tasks.js";
import { page } from "./helpers/dashboard.js";
import { createHarness, type Harness } from "./helpers/harness.js";
import { adminDashboard } from "./helpers/photos.js";

const sh = (local: string) => new Date(`${local}+08:00`);
let now = sh("2026-05-04T10:00:00");
const DAY = 24 * 3600_000;
let h: Harness;
let seq = 0;

const direct = async (who: string, text: string) =>
  (await handleIncoming(h.runtime.pipeline, { platform: "sim", messageId: `mr-${++seq}`, chatExternalId: null, senderExternalId: who, text, receivedAt: now })).replies
    .map((r) => r.text)
    .join("\n");
const [task] = mediationTasks;
const run = () => task?.run(h.runtime);
const reminders = (id: number) => h.db.select().from(outbox).where(like(outbox.dedupeKey, `mediation-stale-${id}-%`));

beforeAll(async () => {
  h = await createHarness({ clock: () => now });
});
afterAll(async () => {
  await h.close();
});

describe("a case left 调解中", () => {
  let id = 0;
  const opened = sh("2026-05-04T10:00:00");

  it("is named to its level's leaders privately after 14 days, once however often the task runs", async () => {
    id = Number(/调解 #(\d+)/.exec(await direct("nl1", "调解 两家为鸡舍占道起争执"))?.[1]);
    expect(id).toBeGreaterThan(0);
    now = new Date(opened.getTime() + 13 * DAY);
    await run();
    expect(await reminders(id)).toEqual([]);

    now = new Date(opened.getTime() + 14 * DAY);
    await Promise.all([run(), run()]);
    await run();
    const rows = await reminders(id);
    expect(rows.map((r) => [r.personId, r.chatId])).toEqual([["nl1", null]]);
    expect(rows[0]?.payload.text).toContain(`调解 #${id} 在邻级已经 14 天没有进展`);
    expect(rows[0]?.payload.text).toContain("事由：两家为鸡舍占道起争执");

    now = new Date(opened.getTime() + 30 * DAY);
    await run();
    expect(await reminders(id)).toHaveLength(1);
  });

  it("handed up, the next level gets its own reminder only if it too lets it lie 14 days", async () => {
    const handedAt = now;
    expect(await direct("nl1", `调解不成 #${id} 双方都不肯让`)).toContain("已上报到组级");
    now = new Date(handedAt.getTime() + 13 * DAY);
    await run();
    expect((await reminders(id)).map((r) => r.personId)).toEqual(["nl1"]);
    now = new Date(handedAt.getTime() + 14 * DAY);
    await run();
    expect((await reminders(id)).map((r) => r.personId)).toEqual(["nl1", "gl1"]);
  });

  it("a settled case is not reminded; nothing of any case went to a group; the dashboard's 台账 shows the reminders", async () => {
    const other = Number(/调解 #(\d+)/.exec(await direct("nl1", "调解 两户为排水沟吵架"))?.[1]);
    expect(await direct("nl1", `调解成功 #${other} 说开了`)).toContain("已调解");
    now = new Date(now.getTime() + 20 * DAY);
    await run();
    expect(await reminders(other)).toEqual([]);
    const groupRows = await h.db.select().from(outbox).where(like(outbox.dedupeKey, "mediation-%"));
    expect(groupRows.filter((r) => r.chatId !== null)).toEqual([]);
    const dash = await adminDashboard(h.runtime);
    const html = (await page(dash.app, dash.cookie, `/dashboard/mediations/${id}`)).html;
    expect(html.match(/久未进展，已私信提醒/g)).toHaveLength(2);
  });
});
