/**
 * DingTalk with several replicas, the product's answer to the fire-and-forget reading of the Stream protocol
 * (dingtalk.md §1.5): each replica holds its own Stream connection and the gateway gives each message to one of
 * them. One replica's connection is cut (and cannot come back for a while): its /readyz and /metrics say so, and
 * the other keeps receiving and answering everything. Run against both re-push answers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { DingTalkBot } from "../src/bot/dingtalk/index.js";
import { chats, identities } from "../src/db/schema/index.js";
import { FakeDingTalk, fakeConfig, REPUSH_MODES } from "./fakes/dingtalk.js";
import { createHarness, type Harness, silent, waitFor } from "./helpers/harness.js";

const GROUP = "cidReplicaGroup==";
const GATEWAY = "/v1.0/gateway/connections/open";

describe.each(REPUSH_MODES)("two replicas, each with a Stream connection, on a gateway that $mode", ({ redeliver }) => {
  let fake: FakeDingTalk;
  let a: { h: Harness; bot: DingTalkBot };
  let b: { h: Harness; bot: DingTalkBot };

  beforeAll(async () => {
    fake = await FakeDingTalk.start({ redeliver });
    const ha = await createHarness({ scheduler: "bullmq" });
    await ha.db.insert(chats).values({ id: "rp-g1", platform: "dingtalk", externalId: GROUP, unitId: "g1", name: "东村一组钉钉群", meta: {} });
    await ha.db.insert(identities).values({ platform: "dingtalk", externalId: "staff-r1", personId: "r1" });
    const hb = await createHarness({ scheduler: "bullmq", database: ha.database, prefix: ha.prefix });
    a = { h: ha, bot: new DingTalkBot(fakeConfig(fake), silent) };
    b = { h: hb, bot: new DingTalkBot(fakeConfig(fake), silent) };
    // A connects first, so the fake's oldest connection is A's.
    a.bot.start(a.h.runtime.pipeline);
    await waitFor(async () => a.bot.state()?.status === "connected" && fake.openCount() === 1);
    b.bot.start(b.h.runtime.pipeline);
    await waitFor(async () => b.bot.state()?.status === "connected" && fake.openCount() === 2);
  });
  afterAll(async () => {
    await a?.bot.stop();
    await b?.bot.stop();
    await b?.h.close();
    await a?.h.close();
    await fake?.close();
  });

  const readyz = async (r: { h: Harness; bot: DingTalkBot }) => {
    const app = createApp({ runtime: r.h.runtime, logger: silent, sim: false, readiness: [() => r.bot.readiness()] });
    const body = (await (await app.request("/readyz")).json()) as { checks: { dingtalk: { live: boolean; status: string } } };
    return body.checks.dingtalk;
  };
  const streamsLive = async () => {
    const app = createApp({ runtime: a.h.runtime, logger: silent, sim: false });
    const line = (await (await app.request("/metrics")).text()).split("\n").find((l) => l.startsWith("haolin_dingtalk_streams_live "));
    return Number(line?.split(" ")[1]);
  };
  /** Push `n` group messages and wait until each has its answer; returns the connections that acked them. */
  const burst = async (tag: string, n: number) => {
    const before = fake.sessionPosts.length;
    const frames = Array.from({ length: n }, (_, i) => fake.pushRobot(fake.robotMessage({ text: `帮助 ${tag}${i}`, staffId: "staff-r1", group: GROUP })));
    await waitFor(async () => fake.sessionPosts.length >= before + n);
    return frames.map((f) => fake.acked(f)[0]?.conn);
  };

  it("both replicas receive: the gateway spreads messages over the connections", async () => {
    const [connA, connB] = fake.connectionIds();
    const conns = await burst("both", 6);
    expect(new Set(conns)).toEqual(new Set([connA, connB]));
    expect((await readyz(a)).live).toBe(true);
    expect((await readyz(b)).live).toBe(true);
    expect(await streamsLive()).toBe(2);
  });

  it("replica A's connection is killed: A says it has no live connection, B keeps receiving every message", async () => {
    const [connA, connB] = fake.connectionIds();
    // The gateway will not give A a new ticket for now, so A stays without a connection.
    fake.failNext(GATEWAY, { status: 503, body: { code: "ServiceUnavailable" } }, 10_000);
    fake.dropConnection(connA as number);
    await waitFor(async () => (await readyz(a)).live === false);
    expect((await readyz(a)).status).toBe("reconnecting");
    expect((await readyz(b)).live).toBe(true);
    expect(await streamsLive()).toBe(1);
    const lostBefore = fake.lost.length;
    const conns = await burst("onlyB", 5);
    expect(new Set(conns)).toEqual(new Set([connB]));
    // Nothing was lost while one replica was down: the other holds a connection.
    expect(fake.lost.length).toBe(lostBefore);
  });

  it("the gateway comes back: A reconnects and receives again", async () => {
    fake.clearFailures(GATEWAY);
    await waitFor(async () => (await readyz(a)).live === true && fake.openCount() === 2);
    expect(await streamsLive()).toBe(2);
    const conns = await burst("again", 6);
    expect(new Set(conns).size).toBe(2);
  });
});
