/**
 * This process's own metrics for /metrics (prom-client): traffic through the message pipeline, rejected callbacks,
 * deadlines and deliveries, plus Node's standard process metrics (CPU, memory, event-loop lag, GC). The database-wide
 * gauges (open tickets, overdue clocks, outbox backlog) are in workflows/metrics.ts and are the same on every replica;
 * these are per replica, so a dashboard sums them over replicas.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const messages = new Counter({
  name: "haolin_messages_total",
  help: "Messages through the pipeline, by platform and result (handled, duplicate, failed: to be retried, dead_letter: can never succeed, answered with an apology)",
  labelNames: ["platform", "result"] as const,
  registers: [registry],
});

export const messageSeconds = new Histogram({
  name: "haolin_message_duration_seconds",
  help: "From a message entering the pipeline to its replies being ready (its batch committed, its timers set)",
  labelNames: ["platform"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const batchMessages = new Histogram({
  name: "haolin_batch_messages",
  help: "Messages per pipeline transaction (1 under light load; grows with load, at most 64)",
  buckets: [1, 2, 4, 8, 16, 32, 64],
  registers: [registry],
});

export const rejectedCallbacks = new Counter({
  name: "haolin_callbacks_rejected_total",
  help: "Platform callbacks refused before the pipeline (bad signature, stale timestamp, malformed), by HTTP status",
  labelNames: ["platform", "status"] as const,
  registers: [registry],
});

export const deadlines = new Counter({
  name: "haolin_deadlines_total",
  help: "Ticket clocks handled when they lapsed, by outcome (escalated, repinged, stale when the ticket moved on, ...)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const deliveries = new Counter({
  name: "haolin_outbox_deliveries_total",
  help: "Outbox delivery attempts by result (sent, retry, failed, undeliverable)",
  labelNames: ["result"] as const,
  registers: [registry],
});

export const ignoredCallbacks = new Counter({
  name: "haolin_callbacks_ignored_total",
  help: "Authentic platform callbacks answered 200 (WeCom) or acked (DingTalk) and dropped (a type, event or shape the bot does not act on), by reason",
  labelNames: ["platform", "reason"] as const,
  registers: [registry],
});

export const cardResults = new Counter({
  name: "haolin_dingtalk_cards_total",
  help: "DingTalk escalation cards by outcome (delivered, delivered_on_retry, or replaced by text_with_at / text_without_at)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

/** Whether each DingTalk Stream connection of this process is live (read when /metrics is scraped). */
const streams = new Set<() => boolean>();

/** Count a Stream connection in haolin_dingtalk_streams_live; returns the function that stops counting it. */
export function countStream(live: () => boolean): () => void {
  streams.add(live);
  return () => streams.delete(live);
}

export const streamsLive = new Gauge({
  name: "haolin_dingtalk_streams_live",
  help: "DingTalk Stream connections of this process that are live (one per replica: 0 means this replica receives nothing from DingTalk)",
  registers: [registry],
  collect() {
    this.set([...streams].filter((live) => live()).length);
  },
});
