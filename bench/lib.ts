/** Shared bits for the benchmarks: scratch databases, percentiles, table printing. */
import type { Database } from "../src/db/client.js";
import { scratchPostgres } from "../test/helpers/db.js";

export const BASE_DB = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A fresh PostgreSQL database next to BASE_DB, migrated; dropped by `drop()`. */
export async function scratchDatabase(poolSize = 20): Promise<{ database: Database; url: string; drop: () => Promise<void> }> {
  const database = await scratchPostgres(BASE_DB, { prefix: "haolin_bench_", poolSize });
  return { database, url: database.url, drop: database.close };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  console.log(`\n${title}`);
  for (const [n, r] of cells.entries()) {
    console.log(`  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")}`);
    if (n === 0) console.log(`  ${widths.map((w) => "-".repeat(w)).join("  ")}`);
  }
}

/** One line per target (met / MISSED) under `title`; true when every target is met. */
export function printVerdicts(title: string, targets: readonly (readonly [string, boolean])[]): boolean {
  console.log(`\n${title}`);
  for (const [text, ok] of targets) console.log(`  ${ok ? "met   " : "MISSED"}  ${text}`);
  return targets.every(([, ok]) => ok);
}

/** What one load phase measured: accepted messages, latencies, and replies opened and checked. */
export type LoadResult = {
  mode: "closed" | "open" | "baseline";
  ok: number;
  failed: number;
  elapsedMs: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** Replies opened and checked (a ticket number in each). */
  verified: number;
  badReplies: number;
};

export function summary(mode: LoadResult["mode"], lat: number[], failed: number, elapsedMs: number, verified = 0, badReplies = 0): LoadResult {
  const s = [...lat].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    mode,
    ok: lat.length,
    failed,
    elapsedMs: Math.round(elapsedMs),
    perSecond: Math.round((lat.length / elapsedMs) * 1000),
    p50: r(percentile(s, 50)),
    p99: r(percentile(s, 99)),
    max: r(s.at(-1) ?? Number.NaN),
    verified,
    badReplies,
  };
}
