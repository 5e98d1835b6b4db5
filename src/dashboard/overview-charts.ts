/**
 * The overview's four charts as ECharts options (rendered by charts.ts): weekly volume, first-answer times, the
 * escalation funnel and visit coverage. Plain data in, SVG out, so bench/charts.ts renders exactly what the page does.
 * Text is 13–14 px at a 380 px width: on a phone the SVG is drawn at about that width, so the text stays that size.
 */
import type { UnitKind } from "../db/schema/index.js";
import { localParts } from "../lib/time.js";
import { LEVEL_ZH } from "../workflows/roles.js";
import { CHART_TEXT, chartSvg } from "./charts.js";
import { h, type Raw } from "./views.js";

export type OverviewChartData = {
  /** Each week's Monday (local midnight), its new tickets and how many of them are resolved now. */
  weeks: { start: Date; n: number; done: number }[];
  /** First-answer buckets; `late` ones are past the answer clock. */
  answers: { label: string; n: number; late: boolean }[];
  funnel: { level: UnitKind; n: number }[];
  coverage: { name: string; covered: number; due: number }[];
};

const GREEN = "#1f6f50";
const LIGHT = "#9fd3bd";
const LATE = "#d97706";
/** The funnel's levels, from 邻 (green) to 镇 (red). */
const FUNNEL = [GREEN, "#3f9f7a", LATE, "#b42318"];
const DAY = 86_400_000;
const WIDTH = 380;

/** "9/15": a week named by its Monday's date, never "W38". */
const monthDay = (d: Date) => {
  const l = localParts(d);
  return `${l.month}/${l.day}`;
};
const monthDayZh = (d: Date) => {
  const l = localParts(d);
  return `${l.month}月${l.day}日`;
};
export const share = (n: number, total: number) => (total ? `${Math.round((100 * n) / total)}%` : "—");

export async function overviewCharts(d: OverviewChartData): Promise<{ volume: Raw; answer: Raw; funnel: Raw; coverage: Raw }> {
  const total = d.funnel[0]?.n ?? 0;
  const covered = d.coverage.filter((x) => x.due > 0);
  const weekSpan = (i: number) => {
    const start = d.weeks[i]?.start as Date;
    return `${monthDayZh(start)}—${monthDayZh(new Date(start.getTime() + 6 * DAY))}`;
  };
  const [volume, answer, funnel, coverage] = await Promise.all([
    chartSvg({
      label: `每周工单量（近 ${d.weeks.length} 周）`,
      width: WIDTH,
      height: 260,
      option: {
        color: [GREEN, LIGHT],
        legend: { top: 0, textStyle: CHART_TEXT },
        grid: { left: 8, right: 8, top: 34, bottom: 8 },
        xAxis: { type: "category", data: d.weeks.map((w) => monthDay(w.start)), axisLabel: { fontSize: 13 } },
        yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 13 } },
        series: [
          { name: "新增", type: "bar", data: d.weeks.map((x) => x.n) },
          { name: "已办结", type: "bar", data: d.weeks.map((x) => x.done) },
        ],
      },
      tip: (_, i) => `${weekSpan(i)}：新增 ${d.weeks[i]?.n ?? 0} 件，已办结 ${d.weeks[i]?.done ?? 0} 件`,
    }),
    chartSvg({
      label: "首次答复用时分布",
      width: WIDTH,
      height: 260,
      option: {
        grid: { left: 8, right: 8, top: 30, bottom: 8 },
        xAxis: { type: "category", data: d.answers.map((a) => a.label), axisLabel: { fontSize: 12, interval: 0, rotate: 30 } },
        yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 13 } },
        series: [
          {
            name: "工单",
            type: "bar",
            data: d.answers.map((a) => ({ value: a.n, itemStyle: { color: a.late ? LATE : GREEN } })),
            label: { show: true, position: "top", fontSize: 13 },
            markArea: {
              silent: true,
              itemStyle: { color: "rgba(217,119,6,0.08)" },
              label: { color: "#b42318", fontSize: 13, position: "insideTop" },
              data: [[{ name: "超过 4 小时", xAxis: d.answers.find((a) => a.late)?.label }, { xAxis: d.answers.at(-1)?.label }]],
            },
          },
        ],
      },
      tip: (_, i) => `首次答复 ${d.answers[i]?.label}：${d.answers[i]?.n ?? 0} 件`,
    }),
    chartSvg({
      label: "上报漏斗",
      width: WIDTH,
      height: 220,
      option: {
        grid: { left: 8, right: 56, top: 8, bottom: 8 },
        xAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 12 } },
        yAxis: { type: "category", inverse: true, data: d.funnel.map((f) => `到${LEVEL_ZH[f.level]}级`), axisLabel: { fontSize: 14 } },
        series: [
          {
            name: "上报漏斗",
            type: "bar",
            barWidth: "60%",
            data: d.funnel.map((f, i) => ({ value: f.n, itemStyle: { color: FUNNEL[i] } })),
            label: { show: true, position: "right", fontSize: 13, formatter: "{c}" },
          },
        ],
      },
      tip: (_, i) => `到${LEVEL_ZH[d.funnel[i]?.level ?? "town"]}级：${d.funnel[i]?.n ?? 0} 件，占 ${share(d.funnel[i]?.n ?? 0, total)}`,
    }),
    covered.length
      ? chartSvg({
          label: "走访覆盖（按单位）",
          width: WIDTH,
          height: 50 + 34 * covered.length,
          option: {
            color: [GREEN, "#e4e7eb"],
            legend: { top: 0, textStyle: CHART_TEXT },
            grid: { left: 8, right: 40, top: 34, bottom: 8 },
            xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%", fontSize: 12 } },
            // The share is in the unit's name: a label inside a short bar cannot be read.
            yAxis: { type: "category", inverse: true, data: covered.map((x) => `${x.name} ${share(x.covered, x.due)}`), axisLabel: { fontSize: 14 } },
            series: [
              { name: "已覆盖", type: "bar", stack: "c", data: covered.map((x) => Math.round((100 * x.covered) / x.due)) },
              { name: "未覆盖", type: "bar", stack: "c", data: covered.map((x) => 100 - Math.round((100 * x.covered) / x.due)) },
            ],
          },
          tip: (_, i) => {
            const x = covered[i];
            return x ? `${x.name}：已覆盖 ${x.covered}/${x.due} 户（${share(x.covered, x.due)}）` : undefined;
          },
        })
      : Promise.resolve(h`<p class="muted">暂无走访数据。</p>`),
  ]);
  return { volume, answer, funnel, coverage };
}
