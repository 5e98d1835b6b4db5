/**
 * /dashboard: the overview. First what needs action now (overdue tickets with how long and whose, tickets at town
 * level, reports of the last 24 hours nobody answered), then the charts: weekly volume, first-answer times, the
 * escalation funnel, visit coverage. Queries: queries/attention.ts, data.ts; charts: charts.ts.
 */
import { Hono } from "hono";
import { formatDurationZh } from "../../lib/duration.js";
import { forGroup, GROUP_CUTS } from "../../lib/privacy.js";
import { isoWeek } from "../../workflows/digests/period.js";
import { LEVEL_ZH } from "../../workflows/roles.js";
import { visitCoverageOfRoots } from "../../workflows/visits/coverage.js";
import { visitRulesFor } from "../../workflows/visits/rules.js";
import { CHART_TEXT, chartSvg } from "../charts.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { render } from "../context.js";
import { answerDistribution, childUnits, funnel, weeklyVolume } from "../data.js";
import { type AttentionItem, type AttentionList, attention } from "../queries/attention.js";
import { clockRoots } from "../queries/clocks.js";
import { h, type Raw } from "../views.js";

const WEEKS = 12;
const DAY = 86_400_000;
const GREEN = "#1f6f50";
const LIGHT = "#9fd3bd";
const LATE = "#d97706";
/** The funnel's levels, from 邻 (green) to 镇 (red). */
const FUNNEL = ["#1f6f50", "#3f9f7a", "#d97706", "#b42318"];

/** "9/15": a week's Monday, as a date. */
const monthDay = (d: Date) => {
  const l = new Date(d.getTime() + 8 * 3_600_000);
  return `${l.getUTCMonth() + 1}/${l.getUTCDate()}`;
};
const monthDayZh = (d: Date) => {
  const l = new Date(d.getTime() + 8 * 3_600_000);
  return `${l.getUTCMonth() + 1}月${l.getUTCDate()}日`;
};
const share = (n: number, total: number) => (total ? `${Math.round((100 * n) / total)}%` : "—");

export function overviewPage({ db, now, runtime }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.get("/dashboard", async (c) => {
    const v = c.get("viewer");
    const at = now();
    const week0 = isoWeek(new Date(at.getTime() - (WEEKS - 1) * 7 * DAY)).start;
    const since = new Date(at.getTime() - 28 * DAY);
    const { tree, roots } = await clockRoots(db, v.scope, runtime.pipeline.overrides);
    const [todo, volume, answers, fun, children] = await Promise.all([
      attention(db, roots, at),
      weeklyVolume(db, v.scope, week0),
      answerDistribution(db, v.scope, since),
      funnel(db, v.scope, since),
      childUnits(db, v.scope),
    ]);
    const coverage = await visitCoverageOfRoots(
      db,
      children.map((u) => u.id),
      at,
      (id) => visitRulesFor(tree.townOf(id)?.settings),
    );
    const policyOf = new Map(roots.map((r) => [r.townId, r.policy]));

    /** One line of a to-do list: the 事项 masked as in groups (the overview is often shown on a screen in a room). */
    const line = (t: AttentionItem, extra: Raw | string) =>
      h`<li><a href="/dashboard/tickets/${t.id}">#${t.id}</a> ${t.category}${t.urgency === "urgent" ? " 🚨" : ""} ·
        <span class="item">${forGroup(t.text, GROUP_CUTS.item, policyOf.get(t.townId)?.sensitiveTags)}</span><br>
        <span class="muted">${LEVEL_ZH[t.level]}级（${t.holderName}）· ${t.who.length ? t.who.join("、") : "待分派"}</span> ${extra}</li>`;
    const block = (id: string, title: string, l: AttentionList, none: string, extra: (t: AttentionItem) => Raw | string, more?: string) =>
      h`<div class="card todo" id="${id}"><h2>${title} <span class="count">${l.total}</span> 件</h2>${
        l.total === 0
          ? h`<p class="muted">${none}</p>`
          : h`<ul>${l.items.map((t) => line(t, extra(t)))}</ul>${
              l.total > l.items.length ? h`<p class="muted">另有 ${l.total - l.items.length} 件${more ? h`，<a href="${more}">查看全部</a>` : ""}</p>` : ""
            }`
      }</div>`;

    const weeks = Array.from({ length: WEEKS }, (_, i) => new Date(week0.getTime() + i * 7 * DAY));
    const perWeek = weeks.map((w) => volume.find((x) => Math.abs(x.week.getTime() - w.getTime()) < 3_600_000) ?? { n: 0, done: 0 });
    const weekTip = (i: number) => `${monthDayZh(weeks[i] as Date)}—${monthDayZh(new Date((weeks[i] as Date).getTime() + 6 * DAY))}`;
    const total = fun[0]?.n ?? 0;
    const covered = children.map((u) => ({ name: u.name, c: coverage.get(u.id)?.all ?? { due: 0, covered: 0 } })).filter((x) => x.c.due > 0);

    const [volumeChart, answerChart, funnelChart, coverageChart] = await Promise.all([
      chartSvg({
        label: `每周工单量（近 ${WEEKS} 周）`,
        width: 380,
        height: 260,
        option: {
          color: [GREEN, LIGHT],
          legend: { top: 0, textStyle: CHART_TEXT },
          grid: { left: 8, right: 8, top: 34, bottom: 8 },
          xAxis: { type: "category", data: weeks.map(monthDay), axisLabel: { fontSize: 13 } },
          yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 13 } },
          series: [
            { name: "新增", type: "bar", data: perWeek.map((x) => x.n) },
            { name: "已办结", type: "bar", data: perWeek.map((x) => x.done) },
          ],
        },
        tip: (s, i) => `${weekTip(i)}：新增 ${perWeek[i]?.n ?? 0} 件，已办结 ${perWeek[i]?.done ?? 0} 件${s === 1 ? "（当周新增中）" : ""}`,
      }),
      chartSvg({
        label: "首次答复用时分布",
        width: 380,
        height: 260,
        option: {
          grid: { left: 8, right: 8, top: 30, bottom: 8 },
          xAxis: { type: "category", data: answers.map((a) => a.label), axisLabel: { fontSize: 12, interval: 0, rotate: 30 } },
          yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 13 } },
          series: [
            {
              name: "工单",
              type: "bar",
              data: answers.map((a) => ({ value: a.n, itemStyle: { color: a.late ? LATE : GREEN } })),
              label: { show: true, position: "top", fontSize: 13 },
              markArea: {
                silent: true,
                itemStyle: { color: "rgba(217,119,6,0.08)" },
                label: { color: "#b42318", fontSize: 13, position: "insideTop" },
                data: [[{ name: "超过 4 小时", xAxis: answers[4]?.label }, { xAxis: answers.at(-1)?.label }]],
              },
            },
          ],
        },
        tip: (_, i) => `首次答复 ${answers[i]?.label}：${answers[i]?.n ?? 0} 件`,
      }),
      chartSvg({
        label: "上报漏斗",
        width: 380,
        height: 220,
        option: {
          grid: { left: 8, right: 56, top: 8, bottom: 8 },
          xAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 12 } },
          yAxis: { type: "category", inverse: true, data: fun.map((f) => `到${LEVEL_ZH[f.level]}级`), axisLabel: { fontSize: 14 } },
          series: [
            {
              name: "上报漏斗",
              type: "bar",
              barWidth: "60%",
              data: fun.map((f, i) => ({ value: f.n, itemStyle: { color: FUNNEL[i] } })),
              label: { show: true, position: "right", fontSize: 13, formatter: "{c}" },
            },
          ],
        },
        tip: (_, i) => `到${LEVEL_ZH[fun[i]?.level ?? "town"]}级：${fun[i]?.n ?? 0} 件，占 ${share(fun[i]?.n ?? 0, total)}`,
      }),
      covered.length
        ? chartSvg({
            label: "走访覆盖（按单位）",
            width: 380,
            height: 50 + 34 * covered.length,
            option: {
              color: [GREEN, "#e4e7eb"],
              legend: { top: 0, textStyle: CHART_TEXT },
              grid: { left: 8, right: 40, top: 34, bottom: 8 },
              xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%", fontSize: 12 } },
              // The share is in the unit's name: a label inside a short bar cannot be read.
              yAxis: { type: "category", inverse: true, data: covered.map((x) => `${x.name} ${share(x.c.covered, x.c.due)}`), axisLabel: { fontSize: 14 } },
              series: [
                { name: "已覆盖", type: "bar", stack: "c", data: covered.map((x) => Math.round((100 * x.c.covered) / x.c.due)) },
                { name: "未覆盖", type: "bar", stack: "c", data: covered.map((x) => 100 - Math.round((100 * x.c.covered) / x.c.due)) },
              ],
            },
            tip: (_, i) => {
              const x = covered[i];
              return x ? `${x.name}：已覆盖 ${x.c.covered}/${x.c.due} 户（${share(x.c.covered, x.c.due)}）` : undefined;
            },
          })
        : Promise.resolve(h`<p class="muted">暂无走访数据。</p>`),
    ]);

    return c.html(
      render(
        c,
        "概览",
        h`<h1>概览</h1>
        <h2 class="section">需要处理</h2>
        <div class="cards" id="attention">
          ${block("overdue", "逾期未办", todo.overdue, "没有逾期工单。", (t) => h`<span class="late">超时 ${formatDurationZh(at.getTime() - (t.dueAt as Date).getTime())}</span>`)}
          ${block("town-level", "在镇级", todo.townLevel, "没有在镇级办理的工单。", (t) => h`<span class="muted">已 ${formatDurationZh(at.getTime() - t.createdAt.getTime())}</span>`, "/dashboard/tickets?level=town")}
          ${block("unanswered", "24 小时内报事未答复", todo.unanswered, "24 小时内的报事都已答复。", (t) => h`<span class="muted">${formatDurationZh(at.getTime() - t.createdAt.getTime())}前报事</span>`, "/dashboard/tickets?status=open")}
        </div>
        <h2 class="section">趋势</h2>
        <div class="cards">
          <div class="card" id="chart-volume"><h2>每周工单量（近 ${WEEKS} 周）</h2>${volumeChart}</div>
          <div class="card" id="chart-answer"><h2>首次答复用时（近 28 天）</h2>${answerChart}</div>
          <div class="card" id="chart-funnel"><h2>上报漏斗 邻→组→村→镇（近 28 天）</h2>${funnelChart}</div>
          <div class="card" id="chart-coverage"><h2>走访覆盖（按单位）</h2>${coverageChart}</div>
        </div>
        <p><a class="button" href="/dashboard/units">单位三率</a> <a class="button" href="/dashboard/tickets">查看工单台账</a> <a class="button" href="/dashboard/scorecards">邻长履职评议</a>
        ${v.admin ? h`<a class="button" href="/dashboard/links">负责人登录链接</a>` : ""}</p>`,
      ),
    );
  });
  return app;
}
