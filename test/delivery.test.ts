/**
 * The outbox's end states, driven through deliverOutbox on a real database: giving up after the last send attempt
 * (and not one attempt before it), and a row with no channel on this deployment marked skipped, never retried.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../src/db/schema/index.js";
import { Permanent } from "../src/scheduler/types.js";
import { deliverOutbox, pendingOutbox, type Sender } from "../src/workflows/delivery.js";
import { createHarness, type Harness } from "./helpers/harness.js";

let sends = 0;
/** A platform that is down for good: every send fails as a transient error would. */
const down: Sender = {
  platform: "sim",
  direct: true,
  async send() {
    sends++;
    throw new Error("platform down");
  },
};
/** A deployment whose only platform cannot message a person (like WeCom group webhooks). */
const groupsOnly: Sender = { platform: "wecom", direct: false, async send() {} };

let h: Harness;
let w: Harness;
beforeAll(async () => {
  h = await createHarness({ senders: [down], start: false });
  w = await createHarness({ senders: [groupsOnly], start: false });
});
afterAll(async () => {
  await h?.close();
  await w?.close();
});

const row = async (hh: Harness, id: number) => (await hh.db.select().from(outbox).where(eq(outbox.id, id)))[0];
async function insert(hh: Harness, values: Partial<typeof outbox.$inferInsert>) {
  const [r] = await hh.db
    .insert(outbox)
    .values({ dedupeKey: `delivery-test-${Math.random()}`, kind: "notice", payload: { text: "通知", mentions: [] }, ...values })
    .returning();
  return r?.id as number;
}

describe("giving up", () => {
  it("the tenth failed attempt fails the row for good; the ninth is retried", async () => {
    const ninth = await insert(h, { chatId: "c1", attempts: 8 });
    const before = sends;
    const retried = await deliverOutbox(h.runtime.delivery, ninth).catch((e: unknown) => e);
    expect(retried).toBeInstanceOf(Error);
    expect(retried).not.toBeInstanceOf(Permanent);
    expect(await row(h, ninth)).toMatchObject({ status: "pending", attempts: 9, lastError: "platform down", leaseUntil: null });

    const tenth = await deliverOutbox(h.runtime.delivery, ninth).catch((e: unknown) => e);
    expect(tenth).toBeInstanceOf(Permanent);
    expect(await row(h, ninth)).toMatchObject({ status: "failed", attempts: 10, lastError: "platform down" });
    expect(sends - before).toBe(2);
    // A failed row is done: delivering it again sends nothing, and the reconciler does not bring it back.
    expect(await deliverOutbox(h.runtime.delivery, ninth)).toBe("gone");
    expect(sends - before).toBe(2);
    expect((await pendingOutbox(h.db, new Date(), 60_000)).map((r) => r.id)).not.toContain(ninth);
  });
});

describe("skipped rows", () => {
  it("a direct message on a deployment that cannot send one is skipped at once, without a send, and never retried", async () => {
    const id = await insert(w, { personId: "gl1", kind: "ping" });
    expect(await deliverOutbox(w.runtime.delivery, id)).toBe("undeliverable");
    expect(await row(w, id)).toMatchObject({ status: "skipped", attempts: 0, lastError: "no way to reach this destination" });
    expect(await deliverOutbox(w.runtime.delivery, id)).toBe("gone");
    expect((await pendingOutbox(w.db, new Date(), 60_000)).map((r) => r.id)).not.toContain(id);
  });
});
