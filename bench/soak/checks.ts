/**
 * The soak's end-of-run checks, from PostgreSQL (the truth) and the fake WeCom's record of what reached groups.
 *
 * Escalations are checked by replaying the clock rules over each ticket's 台账 (ticket_events): after opened /
 * escalated / repinged / reopened the answer clock runs (answerMs; the top-of-ladder re-ping uses repingMs), after
 * the first answer (claimed, or replied while open) the resolution clock runs, resolved / rated stop it. Every
 * timer-driven event (escalated by timeout or resolve_timeout, repinged) must come at or after the clock it
 * answers (an early one is a duplicate); a clock that lapsed more than `graceMs` before the next human event or
 * before the end, with no timer event, is a missed escalation.
 */
import type postgres from "postgres";
import { webhookKey } from "../../src/bot/wecom/webhook.js";
import type { WebhookCall } from "../../test/fakes/wecom.js";
import { personalIn } from "../../test/helpers/personal-oracle.js";

export type Clocks = { answerMs: number; resolveMs: number; repingMs: number };

type EventRow = { ticket_id: number; at: Date; kind: string; from_status: string | null; data: Record<string, unknown> | null };
type TicketRow = { id: number; text: string; status: string; answer_due_at: Date | null; resolve_due_at: Date | null };

export type EscalationReport = {
  due: number;
  done: number;
  early: number;
  missed: number;
  stateMismatch: number;
  latenessP50: number;
  latenessP99: number;
  latenessMax: number;
  examples: string[];
};

const TIMER = (e: EventRow) => e.kind === "repinged" || (e.kind === "escalated" && e.data?.reason !== "manual");
const TOLERANCE_MS = 5;

export async function checkEscalations(sql: postgres.Sql, clocks: Clocks, end: Date, graceMs: number): Promise<EscalationReport> {
  const events = await sql<EventRow[]>`select ticket_id, at, kind, from_status, data from ticket_events order by ticket_id, at, id`;
  const tickets = await sql<TicketRow[]>`select id, text, status, answer_due_at, resolve_due_at from tickets`;
  const byTicket = new Map<number, EventRow[]>();
  for (const e of events) byTicket.set(e.ticket_id, [...(byTicket.get(e.ticket_id) ?? []), e]);
  const r: EscalationReport = { due: 0, done: 0, early: 0, missed: 0, stateMismatch: 0, latenessP50: 0, latenessP99: 0, latenessMax: 0, examples: [] };
  const lateness: number[] = [];
  for (const t of tickets) {
    let due: number | null = null;
    let kind: "answer" | "resolve" | null = null;
    let status = "open";
    for (const e of byTicket.get(t.id) ?? []) {
      const at = e.at.getTime();
      if (TIMER(e)) {
        r.done++;
        if (due === null || at < due - TOLERANCE_MS) {
          r.early++;
          if (r.examples.length < 5) r.examples.push(`ticket ${t.id}: ${e.kind} at ${e.at.toISOString()} with clock ${due === null ? "stopped" : new Date(due).toISOString()}`);
        } else {
          r.due++;
          lateness.push(at - due);
        }
      } else if (due !== null && at > due + graceMs) {
        r.missed++;
        r.due++;
        if (r.examples.length < 5) r.examples.push(`ticket ${t.id}: clock lapsed ${new Date(due).toISOString()}, next was ${e.kind} at ${e.at.toISOString()}`);
      }
      // The clock after this event.
      switch (e.kind) {
        case "opened":
        case "escalated":
        case "reopened":
          due = at + clocks.answerMs;
          kind = "answer";
          status = "open";
          break;
        case "repinged":
          due = at + clocks.repingMs;
          kind = "answer";
          status = "open";
          break;
        case "claimed":
          due = at + clocks.resolveMs;
          kind = "resolve";
          status = "answered";
          break;
        case "replied":
          if (status === "open") {
            due = at + clocks.resolveMs;
            kind = "resolve";
            status = "answered";
          }
          break;
        case "resolved":
        case "rated":
          due = null;
          kind = null;
          status = e.kind === "resolved" ? "resolved" : "closed";
          break;
      }
    }
    if (due !== null && due < end.getTime() - graceMs) {
      r.missed++;
      r.due++;
      if (r.examples.length < 5) r.examples.push(`ticket ${t.id}: clock lapsed ${new Date(due).toISOString()}, nothing happened by the end`);
    }
    // The replay must agree with the ticket row (else the rules above, or the 台账, are wrong).
    const dbDue = t.status === "open" ? t.answer_due_at : t.status === "answered" ? t.resolve_due_at : null;
    const dbKind = t.status === "open" ? "answer" : t.status === "answered" ? "resolve" : null;
    if ((dbDue?.getTime() ?? null) !== due || dbKind !== kind || t.status !== status) {
      r.stateMismatch++;
      if (r.examples.length < 5) r.examples.push(`ticket ${t.id}: replay says ${status}/${due} but the row is ${t.status}/${dbDue?.getTime() ?? null}`);
    }
  }
  const s = lateness.sort((a, b) => a - b);
  const pick = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
  r.latenessP50 = pick(50);
  r.latenessP99 = pick(99);
  r.latenessMax = s.at(-1) ?? 0;
  return r;
}

export type OutboxReport = {
  chatCreated: number;
  chatSent: number;
  chatNotSent: number;
  personRows: number;
  personUndeliverable: number;
  webhookAccepted: number;
  webhookRefused: number;
  /** Extra copies a group received beyond its rows. */
  duplicates: number;
  /** …of which the stated guarantee explains (an earlier copy's sender was SIGKILLed, or lost its answer, before it). */
  explained: number;
  unexplained: number;
  /** Sent rows the fake never received, and accepted copies that match no sent row. */
  unmatched: number;
  stray: number;
  examples: string[];
  /** Every duplicate, with each copy's arrival, its sender and the explanation (or none). */
  duplicateLines: string[];
};

type OutboxRow = { id: number; dedupe_key: string; chat_id: string | null; status: string; last_error: string | null; payload: { text: string; format?: string } };

/** The content the fake received for a call (text or markdown), without markdown's trailing <@userid> line. */
export const callContent = (c: WebhookCall) => {
  const type = c.body.msgtype as string;
  const content = String((c.body[type] as { content?: unknown } | undefined)?.content ?? "");
  return type === "markdown" ? content.replace(/\n(?:<@[^>]+>\s?)+$/, "") : content;
};

/** One bot process of the run: which bot, its pid, when it started and when (if) it was SIGKILLed. */
export type Life = { bot: string; pid: number; startedAt: number; killedAt?: number };
/** A "send failed" line from a bot's log: which process, which row, when, and the kind of failure. */
export type FailedSend = { pid: number; outboxId: number; at: number; error: string };

/** The "send failed" lines of a bot's JSON log (pino: pid, time, outboxId, error). */
export function failedSends(logText: string): FailedSend[] {
  const out: FailedSend[] = [];
  for (const line of logText.split("\n")) {
    if (!line.includes('"send failed"')) continue;
    try {
      const j = JSON.parse(line) as { pid?: number; time?: number; outboxId?: number; error?: string; msg?: string };
      if (j.msg === "send failed" && j.pid && j.time && j.outboxId) out.push({ pid: j.pid, outboxId: j.outboxId, at: j.time, error: j.error ?? "" });
    } catch {
      // not a log line
    }
  }
  return out;
}

/** A failed send whose answer never came back: the platform may have taken it (timeouts, dropped connections). */
const ANSWER_LOST = /request failed|timeout|abort|socket|ECONN|EPIPE|fetch failed/i;

/**
 * Every group row sent = received by the fake; every extra copy explained by the guarantee or not. Copies are matched
 * to rows by webhook key and text (rows with the same text to the same group form one set: n copies for k rows make
 * n − k extras). An extra copy is explained when an earlier copy's sending process was SIGKILLed before the extra one
 * arrived (it was alive when it sent its copy, so it died with that row in flight: had the row been recorded as sent,
 * no process would have sent it again), or logged a send of one of those rows as failed with its answer lost after
 * its copy arrived and before the extra one did; each such event explains at most one extra copy. The kill is not
 * required to come after the earlier copy's arrival: the fake records a copy when it has read the request, and a bot
 * killed with its request already written (the message in flight) dies before that.
 */
export async function checkOutbox(
  sql: postgres.Sql,
  calls: WebhookCall[],
  who: { lives: Life[]; failed: FailedSend[]; t0: number },
): Promise<OutboxReport> {
  const rows = await sql<OutboxRow[]>`select id, dedupe_key, chat_id, status, last_error, payload from outbox order by id`;
  const chatRows = await sql<{ id: string; webhook_url: string | null }[]>`select id, webhook_url from chats`;
  const keyOfChat = new Map(chatRows.map((c) => [c.id, webhookKey(c.webhook_url) ?? ""]));
  const accepted = calls.filter((c) => c.errcode === 0);
  const group = (key: string, text: string) => `${key}\u0000${text}`;
  const copies = new Map<string, WebhookCall[]>();
  for (const c of accepted) {
    const g = group(c.key, callContent(c));
    copies.set(g, [...(copies.get(g) ?? []), c]);
  }
  const r: OutboxReport = {
    chatCreated: 0,
    chatSent: 0,
    chatNotSent: 0,
    personRows: 0,
    personUndeliverable: 0,
    webhookAccepted: accepted.length,
    webhookRefused: calls.length - accepted.length,
    duplicates: 0,
    explained: 0,
    unexplained: 0,
    unmatched: 0,
    stray: 0,
    examples: [],
    duplicateLines: [],
  };
  const sets = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    if (!row.chat_id) {
      r.personRows++;
      if (row.status === "skipped") r.personUndeliverable++;
      continue;
    }
    r.chatCreated++;
    if (row.status !== "sent") {
      r.chatNotSent++;
      if (r.examples.length < 5) r.examples.push(`outbox ${row.id} (${row.dedupe_key}) is ${row.status}: ${row.last_error ?? ""}`);
      continue;
    }
    r.chatSent++;
    const g = group(keyOfChat.get(row.chat_id) ?? "", row.payload.text);
    sets.set(g, [...(sets.get(g) ?? []), row]);
  }
  const pidOf = (c: WebhookCall) => Number(c.replica?.split(":").at(-1));
  const lifeOf = (pid: number) => who.lives.find((l) => l.pid === pid);
  const secs = (t: number) => `${((t - who.t0) / 1000).toFixed(1)} s`;
  const sender = (c: WebhookCall) => {
    const l = lifeOf(pidOf(c));
    return l ? `${l.bot} pid ${l.pid}` : `unknown sender (${c.replica ?? "no header"})`;
  };
  for (const [g, set] of sets) {
    const got = (copies.get(g) ?? []).sort((a, b) => a.at - b.at);
    copies.delete(g);
    if (got.length < set.length) {
      r.unmatched += set.length - got.length;
      if (r.examples.length < 5) r.examples.push(`outbox ${set.map((x) => x.id).join(",")} (${set[0]?.dedupe_key}) marked sent, received ${got.length} time(s)`);
      continue;
    }
    const ids = new Set(set.map((x) => x.id));
    const used = new Set<object>();
    for (let j = set.length; j < got.length; j++) {
      r.duplicates++;
      const extra = got[j] as WebhookCall;
      let why: string | null = null;
      for (const earlier of got.slice(0, j)) {
        const pid = pidOf(earlier);
        const life = lifeOf(pid);
        if (life?.killedAt && !used.has(life) && life.killedAt <= extra.at) {
          used.add(life);
          why = `${life.bot} pid ${pid} was SIGKILLed at ${secs(life.killedAt)}, with its copy sent and before another arrived`;
          break;
        }
        const lost = who.failed.find((f) => !used.has(f) && f.pid === pid && ids.has(f.outboxId) && f.at >= earlier.at && f.at <= extra.at && ANSWER_LOST.test(f.error));
        if (lost) {
          used.add(lost);
          why = `pid ${pid} never got WeCom's answer (${lost.error}) at ${secs(lost.at)}`;
          break;
        }
      }
      if (why) r.explained++;
      else r.unexplained++;
      const row = set[0] as OutboxRow;
      r.duplicateLines.push(
        `outbox ${[...ids].join(",")} (${row.dedupe_key}) copy ${j + 1}: ${got.map((c) => `${secs(c.at)} by ${sender(c)}`).join("; ")} — ${why ? `explained: ${why}` : "UNEXPLAINED"}`,
      );
    }
  }
  for (const [, stray] of copies) {
    r.stray += stray.length;
    if (r.examples.length < 5) r.examples.push(`received ${stray.length} copy(ies) matching no sent row: "${callContent(stray[0] as WebhookCall).slice(0, 60)}"`);
  }
  return r;
}

/**
 * Group-visible text (webhook messages and passive replies) holding a phone number, house number/address or
 * household tag, by the independent oracle (test/helpers/personal-oracle.ts), never by the masker itself.
 */
export function privacyViolations(texts: string[]): { count: number; example?: string } {
  const bad = texts.filter((t) => personalIn(t).length > 0);
  return { count: bad.length, example: bad[0]?.slice(0, 120) };
}

/** Memory is flat when the last third's average RSS is not much above the middle third's. */
export function memoryTrend(samples: { rssMb: number }[]): { middle: number; last: number; ok: boolean } | null {
  if (samples.length < 9) return null;
  const third = Math.floor(samples.length / 3);
  const avg = (xs: { rssMb: number }[]) => xs.reduce((n, s) => n + s.rssMb, 0) / xs.length;
  const middle = avg(samples.slice(third, 2 * third));
  const last = avg(samples.slice(2 * third));
  return { middle: Math.round(middle), last: Math.round(last), ok: last <= middle * 1.15 + 15 };
}
