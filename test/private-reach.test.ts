/**
 * A deployment with no private channel (WeCom group webhooks only): the bot must not claim it sent something
 * privately, and must not queue messages nobody can deliver.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../src/db/schema/index.js";
import { createHarness, type Harness } from "./helpers/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ senders: [] });
});
afterAll(async () => {
  await h.close();
});

describe("no private channel", () => {
  it("a visit logged in the group says nothing was sent privately, and queues nothing private", async () => {
    const r = await h.say("c1", "nl1", "走访 周奶奶 身体不错");
    expect(r.text).toBe("✅ 已记录 1 次走访。");
    const due = await h.say("c1", "nl1", "待走访");
    expect(due.text).toContain("私聊我发「待走访」可查看名单");
    expect(due.text).not.toContain("已私信");
    const privateRows = (await h.db.select().from(outbox)).filter((o) => o.personId !== null);
    expect(privateRows).toEqual([]);
  });
});
