/**
 * bench:charts — what the overview's ECharts server-side rendering costs a dashboard process, in one run:
 * - loading ECharts (on the first chart, not at start-up): time and the process's RSS and heap growth;
 * - drawing the overview's four charts (src/dashboard/overview-charts.ts) with figures that change every time (no
 *   cache hit): CPU per overview;
 * - the same figures again (cache hits): CPU per overview;
 * - the baseline: the same figures written as an HTML table with the dashboard's own template (what the page would
 *   cost without charts);
 * - memory: the heap after 200 and after 2,000 distinct overviews (the cache keeps 200 charts; the rest must go).
 *   A disposed ECharts instance stays reachable until its animation timer (a setTimeout standing in for
 *   requestAnimationFrame) has fired once, so the loop lets timers run between batches, as a server does between
 *   requests; without that pause the heap grows by ~6 KB per chart for as long as the loop never yields.
 * Verdict: a cached overview costs at most 10% of a drawn one, and 1,800 more distinct overviews grow the heap by
 * at most 8 MB (no chart instance is kept; the cache stays bounded). Run with --expose-gc (npm run bench:charts).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { chartsRendered } from "../src/dashboard/charts.js";
import { type OverviewChartData, overviewCharts } from "../src/dashboard/overview-charts.js";
import { h } from "../src/dashboard/views.js";
import { printTable } from "./lib.js";

const WEEK = 7 * 86_400_000;
const monday = new Date("2026-09-14T16:00:00Z");

/** Overview figures; `seed` changes every number so no two seeds give the same chart. */
function figures(seed: number): OverviewChartData {
  const r = (k: number) => ((seed * 7919 + k * 104729) % 97) + 1;
  return {
    weeks: Array.from({ length: 12 }, (_, i) => ({ start: new Date(monday.getTime() - (11 - i) * WEEK), n: r(i), done: Math.floor(r(i) / 2) })),
    answers: ["<1h", "1–2h", "2–3h", "3–4h", "4–8h", "8–24h", "≥24h", "未答复"].map((label, i) => ({ label, n: r(20 + i), late: i >= 4 })),
    funnel: (["neighborhood", "group", "village", "town"] as const).map((level, i) => ({ level, n: 400 >> i })),
    coverage: Array.from({ length: 12 }, (_, i) => ({ name: `第${i + 1}村`, covered: r(40 + i), due: 100 })),
  };
}

/** The same figures as a plain HTML table (the page without charts). */
function table(d: OverviewChartData): string {
  return h`<table>${d.weeks.map((w) => h`<tr><td>${w.start.toISOString().slice(5, 10)}</td><td>${w.n}</td><td>${w.done}</td></tr>`)}
    ${d.answers.map((a) => h`<tr><td>${a.label}</td><td>${a.n}</td></tr>`)}${d.funnel.map((f) => h`<tr><td>${f.level}</td><td>${f.n}</td></tr>`)}
    ${d.coverage.map((c) => h`<tr><td>${c.name}</td><td>${c.covered}/${c.due}</td></tr>`)}</table>`.html;
}

const cpuMs = (work: () => void | Promise<void>) => async () => {
  const c0 = process.cpuUsage();
  await work();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};
/** The heap once pending timers have run (see the module comment) and garbage is collected. */
const heapMb = async () => {
  await sleep(100);
  global.gc?.();
  global.gc?.();
  return process.memoryUsage().heapUsed / 1e6;
};
/** Draws `n` distinct overviews from `seed` on, letting timers run every 20 (requests are not back to back). */
async function drawDistinct(n: number, seed: number) {
  for (let i = 0; i < n; i++) {
    await overviewCharts(figures(seed + i));
    if (i % 20 === 19) await sleep(20);
  }
}

async function main() {
  if (!global.gc) throw new Error("run with --expose-gc (npm run bench:charts)");
  console.log("bench:charts — the overview's four ECharts charts rendered to SVG on the server");
  const rss0 = process.memoryUsage().rss;
  const heap0 = await heapMb();
  const t0 = performance.now();
  const loadCpu = await cpuMs(async () => void (await overviewCharts(figures(0))))();
  const loadMs = performance.now() - t0;
  const rssLoad = (process.memoryUsage().rss - rss0) / 1e6;
  const heapLoad = (await heapMb()) - heap0;

  const N = 200;
  const drawn = (await cpuMs(() => drawDistinct(N, 1))()) / N;
  const heap200 = await heapMb();
  const same = figures(N);
  const M = 2000;
  const before = chartsRendered();
  const cached = (await cpuMs(async () => {
    for (let i = 0; i < M; i++) await overviewCharts(same);
  })()) / M;
  if (chartsRendered() !== before) throw new Error("the same figures were drawn again: the cache did not hit");
  const baseline = (await cpuMs(() => {
    for (let i = 0; i < M; i++) table(figures(i));
  })()) / M;
  await drawDistinct(1800, N + 1);
  const heap2000 = await heapMb();

  printTable("figures", ["what", "value"], [
    ["load ECharts (first overview)", `${loadMs.toFixed(0)} ms wall, ${loadCpu.toFixed(0)} ms CPU, RSS +${rssLoad.toFixed(1)} MB, heap +${heapLoad.toFixed(1)} MB`],
    ["overview drawn (4 charts)", `${drawn.toFixed(2)} ms CPU (${(drawn / 4).toFixed(2)} per chart)`],
    ["overview from the cache", `${cached.toFixed(3)} ms CPU`],
    ["baseline: same figures as an HTML table", `${baseline.toFixed(3)} ms CPU`],
    ["heap after 200 / 2,000 distinct overviews", `${heap200.toFixed(1)} / ${heap2000.toFixed(1)} MB`],
  ]);
  const cacheRatio = cached / drawn;
  const growth = heap2000 - heap200;
  printTable("ratios", ["ratio", "value", "limit"], [
    ["drawn / baseline table", `${(drawn / baseline).toFixed(0)}×`, "(shown)"],
    ["cached / drawn", `${(100 * cacheRatio).toFixed(1)}%`, "≤ 10%"],
    ["heap growth 200 → 2,000 overviews", `${growth.toFixed(1)} MB`, "≤ 8 MB"],
  ]);
  const ok = cacheRatio <= 0.1 && growth <= 8;
  console.log(`\nverdict: ${ok ? "PASS" : "FAIL"}`);
  process.exit(ok ? 0 : 1);
}

await main();
