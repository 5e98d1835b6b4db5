/**
 * The benches' load generator, a separate process so its CPU is not the bot's: reads one JSON job on stdin
 * (bench/load-process.ts sends it), prints one JSON result line on stdout.
 *
 *   closed   — `concurrency` callers back to back for `durationMs`: throughput of the WeCom callback path
 *   open     — a fixed `rate` of callbacks per second for `durationMs`: latency measured from each callback's
 *              scheduled send time (no coordinated omission)
 *   baseline — the floor with the same clients (postgres.js pool, BullMQ producer as BullScheduler makes it):
 *              a single-row INSERT … RETURNING, then a delayed Queue.add with a job id, `concurrency` at a time
 *   burst    — a flood day (`npm run bench:burst`): a steady trickle of reports (the normal load) throughout, and
 *              `count` more from many groups offered evenly within `windowMs` after `beforeMs`; every request's
 *              send offset, latency (from its scheduled send time) and the ticket number its reply names
 *
 * Every callback is prepared (signed and encrypted, as WeCom does) before the clock starts; replies are opened
 * and checked after it stops. Two marker lines on stdout, `{"phase":"start"}` and `{"phase":"stop"}`, bound the
 * measured part, so the bench samples every process's CPU over exactly that window.
 */
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import postgres from "postgres";
import { type LoadResult, summary } from "./lib.js";
import { agent, groupText, msgId, openReply, type Prepared, post, prepare } from "./soak/wecom-client.js";
import type { Group, WecomCreds } from "./soak/world.js";

export type LoadJob =
  | { mode: "closed"; url: string; creds: WecomCreds; groups: Group[]; concurrency: number; durationMs: number; maxCount: number }
  | { mode: "open"; url: string; creds: WecomCreds; groups: Group[]; rate: number; durationMs: number }
  | { mode: "baseline"; databaseUrl: string; redisUrl: string; poolSize: number; concurrency: number; durationMs: number }
  | {
      mode: "burst";
      url: string;
      creds: WecomCreds;
      groups: Group[];
      /** Marks this run's messages: ids `<tag>B-<i>` (burst) and `<tag>T-<i>` (trickle), and the same in the text. */
      tag: string;
      count: number;
      windowMs: number;
      trickleRate: number;
      beforeMs: number;
      afterMs: number;
    };

/**
 * One request of a burst job: kind, index, send offset (ms from the start), latency ms (null: failed), ticket named,
 * and how late this process itself was to send it (ms after its scheduled time: the load generator's own lag).
 */
export type BurstRecord = ["B" | "T", number, number, number | null, number | null, number];
export type BurstResult = { ok: number; failed: number; badReplies: number; records: BurstRecord[] };

export type { LoadResult } from "./lib.js";

const TEXTS = ["村口路灯坏了", "水沟堵了，下雨就漫到路上", "垃圾桶满了没人清", "楼道灯不亮", "井盖松动有隐患", "邻居装修噪音太大", "自来水发黄"];

/**
 * Marks the start or the end of the measured part (see the header); a burst job also marks its burst's first send and
 * its last burst reply, with the replies received in between (every process's CPU per message of the burst itself).
 */
const phase = (name: "start" | "stop" | "burst-start" | "burst-end", messages?: number) =>
  process.stdout.write(`${JSON.stringify({ phase: name, ...(messages === undefined ? {} : { messages }) })}\n`);

/** The i-th report: from the i-th group in turn, each group's residents in turn; `mark` names it in the text. */
function report(job: { creds: WecomCreds; groups: Group[] }, i: number, mark: string, id: string): Prepared {
  const g = job.groups[i % job.groups.length] as Group;
  const user = g.residents[Math.floor(i / job.groups.length) % g.residents.length] as string;
  return prepare(job.creds, groupText(job.creds, g.chatId, user, `@好邻 报事 ${TEXTS[i % TEXTS.length]}（${mark}）`, id));
}

function reports(job: { creds: WecomCreds; groups: Group[] }, n: number): Prepared[] {
  return Array.from({ length: n }, (_, i) => report(job, i, String(i), msgId("b")));
}


/** The ticket number a reply names, opened as WeCom would; null for a reply that is not a registered report. */
function ticketOf(creds: WecomCreds, p: Prepared, body: string, bad: { n: number }): number | null {
  try {
    const text = openReply(creds, body, p.nonce);
    const m = /已登记(?:紧急)?工单[\s\S]*?#(\d+)/.exec(text);
    if (m) return Number(m[1]);
    if (bad.n < 3) console.error(`bad reply: ${text.slice(0, 200)}`);
  } catch {}
  bad.n++;
  return null;
}

function check(creds: WecomCreds, answers: { p: Prepared; body: string }[]): { verified: number; bad: number } {
  const bad = { n: 0 };
  const verified = answers.filter((a) => ticketOf(creds, a.p, a.body, bad) !== null).length;
  return { verified, bad: bad.n };
}

async function closed(job: Extract<LoadJob, { mode: "closed" }>): Promise<LoadResult> {
  const prepared = reports(job, job.maxCount);
  const ag = agent(job.concurrency);
  const lat: number[] = [];
  const kept: { p: Prepared; body: string }[] = [];
  let failed = 0;
  let next = 0;
  phase("start");
  const start = performance.now();
  const end = start + job.durationMs;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (performance.now() < end && next < prepared.length) {
        const p = prepared[next++] as Prepared;
        const t0 = performance.now();
        const a = await post(job.url, p, ag, 10_000);
        if (a.status === 200) {
          lat.push(performance.now() - t0);
          if (kept.length < 2000) kept.push({ p, body: a.body });
        } else failed++;
      }
    }),
  );
  const elapsed = performance.now() - start;
  phase("stop");
  ag.destroy();
  const c = check(job.creds, kept);
  return summary("closed", lat, failed, elapsed, c.verified, c.bad);
}

async function open(job: Extract<LoadJob, { mode: "open" }>): Promise<LoadResult> {
  const n = Math.round((job.rate * job.durationMs) / 1000);
  const prepared = reports(job, n);
  const ag = agent(256);
  const lat: number[] = [];
  const kept: { p: Prepared; body: string }[] = [];
  let failed = 0;
  const inflight: Promise<void>[] = [];
  phase("start");
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / job.rate;
    await until(due);
    const p = prepared[i] as Prepared;
    inflight.push(
      post(job.url, p, ag, 10_000).then((a) => {
        if (a.status === 200) {
          lat.push(performance.now() - due);
          if (kept.length < 2000) kept.push({ p, body: a.body });
        } else failed++;
      }),
    );
  }
  await Promise.all(inflight);
  const elapsed = performance.now() - start;
  phase("stop");
  ag.destroy();
  const c = check(job.creds, kept);
  return summary("open", lat, failed, elapsed, c.verified, c.bad);
}

/** Sleeps until `due` (a performance.now() time) unless it is less than a millisecond away. */
async function until(due: number): Promise<void> {
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
}

async function burst(job: Extract<LoadJob, { mode: "burst" }>): Promise<BurstResult> {
  const total = job.beforeMs + job.windowMs + job.afterMs;
  type Send = { kind: "B" | "T"; i: number; at: number; p: Prepared };
  const sends: Send[] = [];
  for (let i = 0; i < Math.floor((job.trickleRate * total) / 1000); i++) {
    // The trickle walks the groups from the other end, so it is not the burst's own next message.
    const id = `${job.tag}T-${i}`;
    sends.push({ kind: "T", i, at: (i * 1000) / job.trickleRate, p: report(job, job.groups.length - 1 - (i % job.groups.length), id, id) });
  }
  for (let i = 0; i < job.count; i++) {
    const id = `${job.tag}B-${i}`;
    sends.push({ kind: "B", i, at: job.beforeMs + (i * job.windowMs) / job.count, p: report(job, i, id, id) });
  }
  sends.sort((a, b) => a.at - b.at);
  // As many connections as WeCom opens in a burst is unknown; enough that the bot, not this process, queues them.
  const ag = agent(1024);
  const answers: { s: Send; latency: number | null; body: string; lag: number }[] = [];
  phase("start");
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  // From the burst's first send to its last reply: how many replies came back (burst and trickle alike).
  let burstLeft = job.count;
  let repliesInBurst: number | null = null;
  for (const s of sends) {
    await until(start + s.at);
    if (s.kind === "B" && repliesInBurst === null) {
      phase("burst-start");
      repliesInBurst = 0;
    }
    const lag = performance.now() - start - s.at;
    inflight.push(
      post(job.url, s.p, ag, 30_000).then((a) => {
        const latency = a.status === 200 ? performance.now() - start - s.at : null;
        answers.push({ s, latency, body: a.body, lag });
        if (repliesInBurst === null || burstLeft === 0) return;
        repliesInBurst++;
        if (s.kind === "B" && --burstLeft === 0) phase("burst-end", repliesInBurst);
      }),
    );
  }
  await Promise.all(inflight);
  phase("stop");
  ag.destroy();
  const bad = { n: 0 };
  const tenth = (x: number) => Math.round(x * 10) / 10;
  const records = answers.map(({ s, latency, body, lag }): BurstRecord => {
    const ticket = latency === null ? null : ticketOf(job.creds, s.p, body, bad);
    return [s.kind, s.i, Math.round(s.at), latency === null ? null : tenth(latency), ticket, tenth(lag)];
  });
  const ok = records.filter((r) => r[3] !== null).length;
  return { ok, failed: records.length - ok, badReplies: bad.n, records };
}

async function baseline(job: Extract<LoadJob, { mode: "baseline" }>): Promise<LoadResult> {
  const sql = postgres(job.databaseUrl, { max: job.poolSize, onnotice: () => {}, connection: { application_name: "haolin-baseline" } });
  await sql`create table if not exists bench_baseline (id bigserial primary key, msgid text not null unique, at timestamptz not null)`;
  // The producer connection exactly as BullScheduler makes it.
  const producer = new Redis(job.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  await new Promise<void>((resolve) => producer.once("ready", () => resolve()));
  const queue = new Queue("deadlines", { connection: producer, prefix: "baseline", defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
  const one = async () => {
    const [row] = await sql<{ id: string }[]>`insert into bench_baseline (msgid, at) values (${msgId("bl")}, ${new Date()}) returning id`;
    await queue.add("deadlines", { ticketId: Number(row?.id) }, { jobId: `bl-${row?.id}-${Date.now()}`, delay: 4 * 3_600_000 });
  };
  for (let i = 0; i < 50; i++) await one(); // warm: connections open, statements prepared, scripts loaded
  const lat: number[] = [];
  let failed = 0;
  phase("start");
  const start = performance.now();
  const end = start + job.durationMs;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await one();
          lat.push(performance.now() - t0);
        } catch {
          failed++;
        }
      }
    }),
  );
  const elapsed = performance.now() - start;
  phase("stop");
  await queue.obliterate({ force: true });
  await queue.close();
  await producer.quit();
  await sql.end();
  return summary("baseline", lat, failed, elapsed);
}

async function main() {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const job = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null") as LoadJob | null;
  if (!job) throw new Error("no job on stdin");
  const run = { closed, open, baseline, burst } as const;
  const result = await (run[job.mode] as (j: LoadJob) => Promise<unknown>)(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
