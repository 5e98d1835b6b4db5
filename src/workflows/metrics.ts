/** Operational gauges for /metrics: is the scheduler keeping up, is the outbox draining. */
import { type Db, queryRows, sql } from "../db/client.js";

export type Gauges = {
  ticketsOpen: number;
  ticketsAnswered: number;
  oldestOverdueSeconds: number;
  outboxPending: number;
  outboxFailed: number;
  oldestPendingOutboxSeconds: number;
};

export async function gauges(db: Db, now: Date): Promise<Gauges> {
  const [row] = await queryRows<Record<keyof Gauges, number | null>>(
    db,
    sql`select
      (select count(*) from tickets where status = 'open')::int as "ticketsOpen",
      (select count(*) from tickets where status = 'answered')::int as "ticketsAnswered",
      (select extract(epoch from (${now.toISOString()}::timestamptz - min(due)))::float8 from (
         select answer_due_at as due from tickets where status = 'open' and answer_due_at < ${now.toISOString()}::timestamptz
         union all
         select resolve_due_at from tickets where status = 'answered' and resolve_due_at < ${now.toISOString()}::timestamptz) d) as "oldestOverdueSeconds",
      (select count(*) from outbox where status in ('pending', 'sending'))::int as "outboxPending",
      (select count(*) from outbox where status = 'failed')::int as "outboxFailed",
      (select extract(epoch from (${now.toISOString()}::timestamptz - min(not_before)))::float8 from outbox
         where status in ('pending', 'sending') and not_before < ${now.toISOString()}::timestamptz) as "oldestPendingOutboxSeconds"`,
  );
  const n = (v: number | null | undefined) => Math.max(0, Number(v ?? 0));
  return {
    ticketsOpen: n(row?.ticketsOpen),
    ticketsAnswered: n(row?.ticketsAnswered),
    oldestOverdueSeconds: n(row?.oldestOverdueSeconds),
    outboxPending: n(row?.outboxPending),
    outboxFailed: n(row?.outboxFailed),
    oldestPendingOutboxSeconds: n(row?.oldestPendingOutboxSeconds),
  };
}

const HELP: Record<keyof Gauges, string> = {
  ticketsOpen: "Tickets waiting for a first answer at their current level",
  ticketsAnswered: "Tickets answered and being handled",
  oldestOverdueSeconds: "Age of the oldest lapsed deadline not yet applied (grows when the scheduler stalls)",
  outboxPending: "Outgoing messages not yet delivered",
  outboxFailed: "Outgoing messages that failed for good",
  oldestPendingOutboxSeconds: "Age of the oldest deliverable message still waiting",
};

/** Prometheus text exposition format. */
export function renderMetrics(g: Gauges): string {
  return Object.entries(g)
    .map(([k, v]) => {
      const name = `haolin_${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
      return `# HELP ${name} ${HELP[k as keyof Gauges]}\n# TYPE ${name} gauge\n${name} ${v}`;
    })
    .join("\n")
    .concat("\n");
}
