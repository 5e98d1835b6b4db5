/**
 * The bench's load generator, a separate process so its CPU is not the bot's: reads one JSON job from
 * LOADGEN_JOB, prints one JSON result line on stdout.
 *
 *   closed   — `concurrency` callers back to back for `durationMs`: throughput of the WeCom callback path
 *   open     — a fixed `rate` of callbacks per second for `durationMs`: latency measured from each callback's
 *              scheduled send time (no coordinated omission)
 *   baseline — the floor with the same clients (postgres.js pool, BullMQ producer as BullScheduler makes it):
 *              a single-row INSERT … RETURNING, then a delayed Queue.add with a job id, `concurrency` at a time
 *
 * Every callback is prepared (signed and encrypted, as WeCom does) before the clock starts; replies are opened
 * and checked after it stops. Two marker lines on stdout, `{"phase":"start"}` and `{"phase":"stop"}`, bound the
 * measured part, so the bench samples every process's CPU over exactly that window.
 */
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import postgres from "postgres";
import { type LoadResult, summary } from "./lib.js";
import { agent, groupText, msgId, openReply, post, type Prepared, prepare } from "./soak/wecom-client.js";
import type { Group, WecomCreds } from "./soak/world.js";

export type LoadJob =
  | { mode: "closed"; url: string; creds: WecomCreds; groups: Group[]; concurrency: number; durationMs: number; maxCount: number }
  | { mode: "open"; url: string; creds: WecomCreds; groups: Group[]; rate: number; durationMs: number }
  | { mode: "baseline"; databaseUrl: string; redisUrl: string; poolSize: number; concurrency: number; durationMs: number };

export type { LoadResult } from "./lib.js";

const TEXTS = ["村口路灯坏了", "水沟堵了，下雨就漫到路上", "垃圾桶满了没人清", "楼道灯不亮", "井盖松动有隐患", "邻居装修噪音太大", "自来水发黄"];

/** Marks the start or the end of the measured part (see the header). */
const phase = (name: "start" | "stop") => process.stdout.write(`${JSON.stringify({ phase: name })}\n`);

function reports(job: { creds: WecomCreds; groups: Group[] }, n: number): Prepared[] {
  const out: Prepared[] = [];
  for (let i = 0; i < n; i++) {
    const g = job.groups[i % job.groups.length] as Group;
    const user = g.residents[Math.floor(i / job.groups.length) % g.residents.length] as string;
    const content = `@好邻 报事 ${TEXTS[i % TEXTS.length]}（${i}）`;
    out.push(prepare(job.creds, groupText(job.creds, g.chatId, user, content, msgId("b"))));
  }
  return out;
}


function check(creds: WecomCreds, answers: { p: Prepared; body: string }[]): { verified: number; bad: number } {
  let verified = 0;
  let bad = 0;
  for (const a of answers) {
    try {
      const text = openReply(creds, a.body, a.p.nonce);
      if (/已登记(紧急)?工单[\s\S]*#\d+/.test(text)) verified++;
      else {
        if (bad < 3) console.error(`bad reply: ${text.slice(0, 200)}`);
        bad++;
      }
    } catch {
      bad++;
    }
  }
  return { verified, bad };
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
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
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
  const job = JSON.parse(process.env.LOADGEN_JOB ?? "null") as LoadJob | null;
  if (!job) throw new Error("LOADGEN_JOB is not set");
  const result = job.mode === "closed" ? await closed(job) : job.mode === "open" ? await open(job) : await baseline(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
