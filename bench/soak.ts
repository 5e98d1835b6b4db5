/**
 * soak (`npm run soak`) — a bounded run at a steady rate with a realistic mix of commands from many WeCom groups
 * and users against TWO bot processes (`node --import tsx src/index.ts`) sharing their own PostgreSQL and Redis,
 * while faults happen: Redis is flushed and restarted, PostgreSQL is restarted, one bot is SIGKILLed and
 * restarted, and 5% of callbacks are delivered again (same msgid). Escalation clocks are short, so many
 * escalations fall inside the run. At the end it checks (see bench/soak/checks.ts) and prints one verdict line:
 *
 *   - messages accepted (distinct msgids answered 200) = inbound rows; accepted reports = tickets, each once
 *   - escalations due (replayed from the 台账) = escalations done, each once
 *   - outbox rows for groups created = delivered at the fake WeCom; every extra copy is explained by the README's
 *     delivery guarantee (an earlier copy's sender was SIGKILLed, or never got WeCom's answer, before it) or the run
 *     fails; each duplicate is printed with its copies' arrival times and senders next to the fault timeline
 *   - no group-visible text holds a phone number, house number/address or household tag
 *   - RSS of the bots did not keep growing
 *
 * Env: SOAK_SECONDS (default 600), SOAK_RATE (callbacks/s, default 8), SOAK_POOLER=pgbouncer (the bots reach
 * PostgreSQL through PgBouncer in transaction mode with 8 server connections for their two pools of 10, and run with
 * DATABASE_POOLER=transaction; the PostgreSQL restart then happens behind the pooler). Loopback only; everything
 * started here is stopped at the end, on error and on Ctrl-C. Exit code 0 only on PASS.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { callContent, checkEscalations, checkOutbox, failedSends, memoryTrend, privacyViolations } from "./soak/checks.js";
import { onStop, sleep, stopAll } from "./soak/services.js";
import { agent, groupText, msgId, openReply, post, prepare } from "./soak/wecom-client.js";
import { Bot, type Group, startStage } from "./soak/world.js";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const RATE = Number(process.env.SOAK_RATE ?? 8);
const DURATION_MS = SECONDS * 1000;
// Clocks scale with the run so escalations (邻 → 组 → 村 → 镇, then re-pings) happen many times within it.
const ANSWER_MS = Math.round(Math.min(30_000, Math.max(5_000, DURATION_MS / 12)));
const CLOCKS = { answerMs: ANSWER_MS, resolveMs: 3 * ANSWER_MS, repingMs: 4 * ANSWER_MS };
/** How late an escalation may be and still count (a Redis flush is caught by the 30 s reconciler + 15 s grace). */
const GRACE_MS = 75_000;
const REDELIVER = 0.05;
const POOLER = process.env.SOAK_POOLER ?? "";
if (POOLER !== "" && POOLER !== "pgbouncer") throw new Error(`SOAK_POOLER: "pgbouncer" or unset, not "${POOLER}"`);
/** PgBouncer's server connections when SOAK_POOLER=pgbouncer: fewer than the bots' 2 × 10 client connections. */
const POOLER_SERVER_CONNECTIONS = 8;

const log = (msg: string) => console.log(`[${((Date.now() - T0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);
const T0 = Date.now();

type Known = { id: number; chat: Group; reporter: string; resolved: boolean };

async function main() {
  const via = POOLER ? `, through PgBouncer (transaction pooling, ${POOLER_SERVER_CONNECTIONS} server connections)` : "";
  console.log(
    `soak — ${SECONDS} s at ${RATE} callbacks/s, 2 bots, own PostgreSQL + Redis${via}; clocks: answer ${CLOCKS.answerMs / 1000} s, ` +
      `resolve ${CLOCKS.resolveMs / 1000} s, re-ping ${CLOCKS.repingMs / 1000} s`,
  );
  const { tmp, pg, redis, databaseUrl, bot, creds, fake, world } = await startStage(
    "haolin-soak-",
    {
      villages: 6,
      groupsPerVillage: 10,
      neighborhoodsPerGroup: 3,
      householdsPerNeighborhood: 4,
      settings: { answerDeadline: `${CLOCKS.answerMs / 1000}s`, resolveDeadline: `${CLOCKS.resolveMs / 1000}s`, repingInterval: `${CLOCKS.repingMs / 1000}s` },
    },
    { pooler: POOLER ? POOLER_SERVER_CONNECTIONS : undefined },
  );
  log(`directory: ${world.chats} WeCom groups, ${world.people} people, ${world.households} households`);
  const botOpts = { databaseUrl: bot.databaseUrl, env: bot.env, redisUrl: redis.url, creds, webhookBase: fake.url, logDir: tmp };
  const bots = [await Bot.start({ name: "bot-a", ...botOpts }), await Bot.start({ name: "bot-b", ...botOpts })];
  log(`bots up: ${bots.map((b) => `${b.opts.name} pid ${b.pid} :${b.port}`).join(", ")}`);
  const sampler = setInterval(() => {
    for (const b of bots) b.sample();
  }, 2000);
  onStop(async () => clearInterval(sampler));

  // ───────── the load: WeCom's side, retrying like WeCom until accepted ─────────
  const ag = agent(128);
  const stats = { sent: 0, attempts: 0, unavailable: 0, neterr: 0, redelivered: 0, redeliveryMismatch: 0, gaveUp: 0 };
  const accepted = new Map<string, string>(); // msgid → reply content
  const reportMarks = new Map<string, string>(); // msgid → the unique mark in the report's text
  const replyTexts: string[] = [];
  const known: Known[] = [];
  let rr = 0;
  const retryUntil = () => T0 + DURATION_MS + 120_000;

  /** Deliver one callback (new nonce/timestamp per attempt, same msgid) to any live bot until it is accepted. */
  async function deliver(plain: ReturnType<typeof groupText>): Promise<string | null> {
    for (let attempt = 0; Date.now() < retryUntil(); attempt++) {
      const live = bots.filter((b) => b.alive);
      const bot = live[rr++ % Math.max(1, live.length)] ?? bots[0];
      const p = prepare(creds, plain);
      stats.attempts++;
      const a = await post((bot as Bot).callbackUrl, p, ag, 5000);
      if (a.status === 200) {
        const content = openReply(creds, a.body, p.nonce);
        return content;
      }
      if (typeof a.status === "number" && a.status >= 500) stats.unavailable++;
      else if (typeof a.status === "number") throw new Error(`callback refused with ${a.status}: ${a.body}`);
      else stats.neterr++;
      await sleep(Math.min(2000, 200 * 2 ** Math.min(attempt, 4)));
    }
    stats.gaveUp++;
    return null;
  }

  async function send(chat: Group, user: string, content: string, mark?: string): Promise<string | null> {
    const plain = groupText(creds, chat.chatId, user, `@好邻 ${content}`, msgId("s"));
    stats.sent++;
    const reply = await deliver(plain);
    if (reply === null) return null;
    accepted.set(plain.msgid, reply);
    replyTexts.push(reply);
    if (mark) reportMarks.set(plain.msgid, mark);
    if (Math.random() < REDELIVER) {
      // WeCom delivers the same message again: the same answer, nothing created twice.
      await sleep(Math.random() * 2000);
      stats.redelivered++;
      const again = await deliver(plain);
      if (again !== null && again !== reply) stats.redeliveryMismatch++;
    }
    return reply;
  }

  const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
  const TEXTS = ["村口路灯坏了", "水沟堵了，下雨就漫到路上", "垃圾桶满了没人清", "楼道灯不亮", "自来水发黄", "路边大树枝要断了"];
  // Residents sometimes type personal data into reports: group messages must never repeat it.
  const PERSONAL = ["联系电话13912345678", "我家住5号楼", "家里是孤寡老人", "座机0571-88886666", ""];
  let marks = 0;

  async function oneCommand(): Promise<void> {
    const g = pick(world.groups);
    const leader = g.leaders[0] as string; // the 组长 leads every ticket of the group
    const mine = known.filter((k) => k.chat === g);
    const t = mine.length ? pick(mine) : null;
    const r = Math.random();
    if (r < 0.4 || !t) {
      const mark = `s${++marks}`;
      const reporter = pick(g.residents);
      const reply = await send(g, reporter, `报事 ${pick(TEXTS)}${pick(PERSONAL)}（${mark}）`, mark);
      const id = Number(/#(\d+)/.exec(reply ?? "")?.[1]);
      if (id) known.push({ id, chat: g, reporter, resolved: false });
    } else if (r < 0.52) await send(g, t.reporter, `进度 #${t.id}`);
    else if (r < 0.65) await send(g, leader, `认领 #${t.id}`);
    else if (r < 0.72) await send(g, leader, `回复 #${t.id} 已安排人员，明天上门`);
    else if (r < 0.8) {
      await send(g, leader, `办结 #${t.id} 已处理完毕`);
      t.resolved = true;
    } else if (r < 0.86 && t.resolved) await send(g, t.reporter, `满意 #${t.id}`);
    else if (r < 0.9) await send(g, leader, `上报 #${t.id} 需要村里协调`);
    else if (r < 0.95) await send(g, Math.random() < 0.5 ? leader : t.reporter, "待办");
    else await send(g, pick(g.residents), "帮助");
  }

  // ───────── the faults ─────────
  const faults: { at: number; name: string; run: () => Promise<void> }[] = [
    {
      at: 0.2,
      name: "Redis FLUSHALL + restart",
      run: async () => {
        await redis.flush();
        await redis.restart(1000);
      },
    },
    { at: 0.4, name: "PostgreSQL restart (fast shutdown, 2 s down)", run: () => pg.restart(2000) },
    {
      at: 0.6,
      name: "SIGKILL bot-b, restart after 2 s",
      run: async () => {
        const b = bots[1] as Bot;
        b.kill9();
        await sleep(2000);
        await b.restart();
      },
    },
  ];
  const faultLog: string[] = [];
  const timeline: string[] = [];
  const faultRuns = faults.map(async (f) => {
    await sleep(f.at * DURATION_MS);
    const t = Date.now();
    log(`fault: ${f.name}`);
    await f.run();
    faultLog.push(`${f.name} @${Math.round((t - T0) / 1000)} s`);
    timeline.push(`${((t - T0) / 1000).toFixed(1)}–${((Date.now() - T0) / 1000).toFixed(1)} s  ${f.name}`);
    log(`fault done: ${f.name} (${Date.now() - t} ms)`);
  });

  // ───────── steady rate for the duration ─────────
  const loadStart = Date.now();
  const inflight = new Set<Promise<void>>();
  let n = 0;
  let errors = 0;
  while (Date.now() - loadStart < DURATION_MS) {
    const due = loadStart + (n * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    n++;
    const p: Promise<void> = oneCommand()
      .catch((err) => {
        errors++;
        if (errors <= 3) console.error("command failed:", (err as Error).message);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (n % (RATE * 30) === 0) log(`${stats.sent} sent, ${accepted.size} accepted, ${known.length} tickets seen, ${inflight.size} in flight`);
  }
  await Promise.all(faultRuns);
  await Promise.all(inflight);
  log(`load done: ${stats.sent} callbacks, ${accepted.size} accepted; leaders now finish every open ticket`);

  // ───────── drain: leaders resolve what is left (no clock keeps running), the outbox empties ─────────
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  onStop(() => sql.end({ timeout: 5 }));
  const open = await sql<{ id: number; chat: string }[]>`
    select t.id, c.external_id as chat from tickets t join chats c on c.id = t.chat_id where t.status in ('open', 'answered')`;
  const groupsByChat = new Map(world.groups.map((g) => [g.chatId, g]));
  for (let i = 0; i < open.length; i += 20) {
    await Promise.all(
      open.slice(i, i + 20).map(async (t) => {
        const g = groupsByChat.get(t.chat) as Group;
        await send(g, g.leaders[0] as string, `办结 #${t.id} 已处理完毕`);
      }),
    );
  }
  const drainUntil = Date.now() + 180_000;
  let pending = -1;
  while (Date.now() < drainUntil) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from outbox where chat_id is not null and status in ('pending', 'sending')`;
    const [running] = await sql<{ n: number }[]>`select count(*)::int as n from tickets where status in ('open', 'answered')`;
    pending = (row?.n ?? 0) + (running?.n ?? 0);
    if (pending === 0) break;
    await sleep(1000);
  }
  log(`drained (${pending} outstanding); stopping the bots`);
  clearInterval(sampler);
  for (const b of bots) await b.stop();
  const end = new Date();

  // ───────── checks ─────────
  const [inbound] = await sql<{ n: number }[]>`select count(*)::int as n from inbound_messages`;
  const ticketRows = await sql<{ text: string }[]>`select text from tickets`;
  const marksInTickets = new Map<string, number>();
  for (const t of ticketRows) {
    const m = /（(s\d+)）$/.exec(t.text)?.[1];
    if (m) marksInTickets.set(m, (marksInTickets.get(m) ?? 0) + 1);
  }
  const acceptedReports = [...reportMarks.values()];
  const lost = acceptedReports.filter((m) => !marksInTickets.has(m)).length;
  const dupTickets = [...marksInTickets.values()].filter((c) => c > 1).length;
  const messagesOk = lost === 0 && dupTickets === 0 && ticketRows.length === acceptedReports.length && inbound?.n === accepted.size && stats.redeliveryMismatch === 0 && stats.gaveUp === 0;

  const esc = await checkEscalations(sql, CLOCKS, end, GRACE_MS);
  const escOk = esc.missed === 0 && esc.early === 0 && esc.stateMismatch === 0 && esc.done > 0;
  // Who sent each copy: the bots' processes (pid, start, SIGKILL) and the sends their logs report as failed.
  const lives = bots.flatMap((b) => b.lives.map((l) => ({ bot: b.opts.name, ...l })));
  const failed = bots.flatMap((b) => failedSends(readFileSync(join(tmp, `${b.opts.name}.log`), "utf8")));
  const out = await checkOutbox(sql, fake.calls, { lives, failed, t0: T0 });
  const outOk =
    out.chatNotSent === 0 &&
    out.unexplained === 0 &&
    out.unmatched === 0 &&
    out.stray === 0 &&
    out.webhookAccepted === out.chatSent + out.duplicates &&
    out.personRows === out.personUndeliverable;
  const groupTexts = [...fake.calls.filter((c) => c.errcode === 0).map(callContent), ...replyTexts];
  const privacy = privacyViolations(groupTexts);
  const mem = bots.map((b) => {
    const byPid = new Map<number, { rssMb: number }[]>();
    for (const s of b.samples) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
    // The longest-lived process of each bot (bot-b's first life ends at the SIGKILL).
    const longest = [...byPid.values()].sort((x, y) => y.length - x.length)[0] ?? [];
    return { name: b.opts.name, trend: memoryTrend(longest), peak: Math.round(Math.max(0, ...b.samples.map((s) => s.rssMb))) };
  });
  const memOk = mem.every((m) => m.trend === null || m.trend.ok);

  console.log("\nChecks");
  const line = (ok: boolean, text: string) => console.log(`  ${ok ? "ok  " : "FAIL"}  ${text}`);
  line(
    messagesOk,
    `messages: ${accepted.size} accepted (distinct msgids) = ${inbound?.n} inbound rows; ${acceptedReports.length} accepted reports = ${ticketRows.length} tickets ` +
      `(lost ${lost}, duplicated ${dupTickets}); ${stats.redelivered} redeliveries, ${stats.redeliveryMismatch} answered differently; ` +
      `${stats.unavailable} answers 5xx and ${stats.neterr} connection errors retried; gave up ${stats.gaveUp}`,
  );
  line(
    escOk,
    `escalations: due ${esc.due} = done ${esc.done - esc.early} (early/duplicate ${esc.early}, missed ${esc.missed}, replay ≠ row ${esc.stateMismatch}); ` +
      `lateness p50 ${esc.latenessP50} ms, p99 ${esc.latenessP99} ms, max ${esc.latenessMax} ms`,
  );
  line(
    outOk,
    `outbox: ${out.chatCreated} group messages created = ${out.chatSent} sent; ${out.webhookAccepted} copies received by WeCom ` +
      `(${out.duplicates} extra: explained duplicates: ${out.explained}, unexplained ${out.unexplained}), ${out.unmatched} never received, ` +
      `${out.stray} stray, ${out.webhookRefused} sends refused (rate limit/errors); ` +
      `${out.personRows} direct messages have no WeCom channel (marked undeliverable: ${out.personUndeliverable})`,
  );
  line(privacy.count === 0, `privacy: ${groupTexts.length} group-visible texts, ${privacy.count} with a phone, house number or tag${privacy.example ? ` (e.g. "${privacy.example}")` : ""}`);
  line(memOk, `memory: ${mem.map((m) => `${m.name} middle ${m.trend?.middle ?? "?"} MB → last ${m.trend?.last ?? "?"} MB (peak ${m.peak} MB)`).join("; ")}`);
  for (const e of [...esc.examples, ...out.examples]) console.log(`        ${e}`);
  if (out.duplicateLines.length) {
    console.log("\nDuplicates (arrival since start, sender), next to the fault timeline:");
    for (const t of timeline) console.log(`  fault   ${t}`);
    for (const l of lives) console.log(`  process ${l.bot} pid ${l.pid} started ${((l.startedAt - T0) / 1000).toFixed(1)} s${l.killedAt ? `, SIGKILLed ${((l.killedAt - T0) / 1000).toFixed(1)} s` : ""}`);
    for (const d of out.duplicateLines) console.log(`  ${d}`);
  }
  if (errors) console.log(`  (${errors} commands failed in the generator)`);

  const pass = messagesOk && escOk && outOk && privacy.count === 0 && memOk && errors === 0;
  await stopAll();
  console.log(
    `\nSOAK ${pass ? "PASS" : "FAIL"}: ${SECONDS} s at ${RATE}/s, 2 bots${POOLER ? " through PgBouncer (transaction pooling)" : ""}, faults [${faultLog.join("; ")}, ${stats.redelivered} redeliveries]; ` +
      `accepted ${accepted.size} msgs, reports ${acceptedReports.length} = tickets ${ticketRows.length}; ` +
      `escalations due ${esc.due} = done ${esc.done - esc.early} (dup ${esc.early}, missed ${esc.missed}, p99 late ${esc.latenessP99} ms); ` +
      `group messages ${out.chatCreated} = delivered ${out.chatSent} (explained duplicates: ${out.explained}, unexplained ${out.unexplained}); privacy hits ${privacy.count}; ` +
      `RSS ${mem.map((m) => `${m.name} ${m.trend?.middle ?? "?"}→${m.trend?.last ?? "?"} MB`).join(", ")}; ${Math.round((Date.now() - T0) / 1000)} s total`,
  );
  process.exit(pass ? 0 : 1);
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
