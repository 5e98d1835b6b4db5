/**
 * The DingTalk side of `npm run bench`, in its own process: a fake DingTalk (Stream gateway, WebSocket and session
 * webhook — test/fakes/dingtalk.ts) that the bot connects to. It prints `{"url": …}`, then runs each job it reads
 * from stdin (one JSON line): robot messages (`@好邻 报事 …` from residents in groups) pushed over the bot's Stream
 * connection, each finished when its reply reaches the session webhook; one result line per job on stdout.
 */
import { createInterface } from "node:readline";
import { FakeDingTalk } from "../test/fakes/dingtalk.js";
import { type LoadResult, summary } from "./lib.js";

export type DingTalkGroup = { conversationId: string; residents: string[] };
export type DingTalkJob =
  | { mode: "closed"; groups: DingTalkGroup[]; concurrency: number; durationMs: number; maxCount: number }
  | { mode: "open"; groups: DingTalkGroup[]; rate: number; durationMs: number };

const TEXTS = ["村口路灯坏了", "水沟堵了，下雨就漫到路上", "垃圾桶满了没人清", "楼道灯不亮", "邻居装修噪音太大", "自来水发黄"];
const OPENED = /已登记(紧急)?工单[\s\S]*#\d+/;

const fake = await FakeDingTalk.start();
// Acks come first in the bot, but a loaded machine must not turn a slow ack into a redelivery.
fake.redeliverMs = 30_000;
const waiting = new Map<string, (text: string) => void>();
fake.onSessionPost = (session, body) => {
  const text = (body.text as { content?: string } | undefined)?.content ?? "";
  waiting.get(session)?.(text);
  waiting.delete(session);
};

let n = 0;
/** Push one report; resolves with the reply's text (or "" after 10 s). */
function send(groups: DingTalkGroup[]): Promise<string> {
  const i = n++;
  const g = groups[i % groups.length] as DingTalkGroup;
  const staffId = g.residents[Math.floor(i / groups.length) % g.residents.length] as string;
  const data = fake.robotMessage({ text: `@好邻 报事 ${TEXTS[i % TEXTS.length]}（d${i}）`, staffId, group: g.conversationId });
  const session = new URL(data.sessionWebhook).searchParams.get("session") ?? "";
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(session);
      resolve("");
    }, 10_000);
    waiting.set(session, (text) => {
      clearTimeout(timer);
      resolve(text);
    });
    fake.pushRobot(data);
  });
}

function result(mode: DingTalkJob["mode"], lat: number[], texts: string[], failed: number, elapsedMs: number): LoadResult {
  const verified = texts.filter((t) => OPENED.test(t)).length;
  return summary(mode, lat, failed, elapsedMs, verified, texts.length - verified);
}

async function run(job: DingTalkJob): Promise<LoadResult> {
  while (fake.openCount() === 0) await new Promise((r) => setTimeout(r, 50));
  const lat: number[] = [];
  const texts: string[] = [];
  let failed = 0;
  const one = async (t0: number) => {
    const text = await send(job.groups);
    if (text === "") failed++;
    else {
      lat.push(performance.now() - t0);
      if (texts.length < 2000) texts.push(text);
    }
  };
  const start = performance.now();
  if (job.mode === "closed") {
    let sent = 0;
    const end = start + job.durationMs;
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (performance.now() < end && sent++ < job.maxCount) await one(performance.now());
      }),
    );
  } else {
    const total = Math.round((job.rate * job.durationMs) / 1000);
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / job.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inflight.push(one(due));
    }
    await Promise.all(inflight);
  }
  return result(job.mode, lat, texts, failed, performance.now() - start);
}

console.log(JSON.stringify({ url: fake.url }));
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  console.log(JSON.stringify(await run(JSON.parse(line) as DingTalkJob)));
}
await fake.close();
