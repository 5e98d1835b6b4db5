/**
 * /dashboard: the overview. First what needs action now (overdue tickets with how long and whose, tickets at town
 * level, reports of the last 24 hours nobody answered), then the charts: weekly volume, first-answer times, the
 * escalation funnel, visit coverage. Queries: queries/attention.ts, data.ts; charts: overview-charts.ts.
 */
import { Hono } from "hono";
import { formatDurationZh } from "../../lib/duration.js";
import { forGroup, GROUP_CUTS } from "../../lib/privacy.js";
import { isoWeek } from "../../workflows/digests/period.js";
import { LEVEL_ZH } from "../../workflows/roles.js";
import { visitCoverageOfRoots } from "../../workflows/visits/coverage.js";
import { visitRulesFor } from "../../workflows/visits/rules.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { render } from "../context.js";
import { answersAndFunnel, weeklyVolume } from "../data.js";
import { overviewCharts } from "../overview-charts.js";
import { type AttentionItem, type AttentionList, attention } from "../queries/attention.js";
import { clockRoots } from "../queries/clocks.js";
import { h, type Raw } from "../views.js";

const WEEKS = 12;
const DAY = 86_400_000;

export function overviewPage({ db, now, runtime }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.get("/dashboard", async (c) => {
    const v = c.get("viewer");
    const at = now();
    const week0 = isoWeek(new Date(at.getTime() - (WEEKS - 1) * 7 * DAY)).start;
    const since = new Date(at.getTime() - 28 * DAY);
    const { tree, roots } = await clockRoots(db, v.scope, runtime.pipeline.overrides);
    // The coverage bars' units (the scope's children, or every village for the admin) come from the tree in memory,
    // so coverage, the heaviest query for a county, runs alongside the others instead of after them.
    const children = v.scope.rootId ? tree.children(v.scope.rootId) : tree.ofKind("village");
    const [todo, volume, { answers, funnel: fun }, coverage] = await Promise.all([
      attention(db, roots, at, 10, !v.scope.rootId),
      weeklyVolume(db, v.scope, week0),
      answersAndFunnel(db, v.scope, since),
      visitCoverageOfRoots(
        db,
        children.map((u) => u.id),
        at,
        (id) => visitRulesFor(tree.townOf(id)?.settings),
      ),
    ]);
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

    const charts = await overviewCharts({
      weeks: Array.from({ length: WEEKS }, (_, i) => {
        const start = new Date(week0.getTime() + i * 7 * DAY);
        const x = volume.find((w) => Math.abs(w.week.getTime() - start.getTime()) < 3_600_000);
        return { start, n: x?.n ?? 0, done: x?.done ?? 0 };
      }),
      answers,
      funnel: fun,
      coverage: children.map((u) => ({ name: u.name, ...(coverage.get(u.id)?.all ?? { due: 0, covered: 0 }) })),
    });

    return c.html(
      render(
        c,
        "概览",
        h`<h1>概览</h1>
        <h2 class="section">需要处理</h2>
        <div class="cards" id="attention">
          ${block("overdue", "逾期未办", todo.overdue, "没有逾期工单。", (t) => h`<span class="late">超时 ${formatDurationZh(at.getTime() - (t.dueAt as Date).getTime())}</span>`)}
          ${block("town-level", "在镇级", todo.townLevel, "没有在镇级办理的工单。", (t) => h`<span class="muted">已 ${formatDurationZh(at.getTime() - t.createdAt.getTime())}</span>`, "/dashboard/tickets?level=town")}
          ${block("unanswered", "24 小时内报事未答复", todo.unanswered, "24 小时内的报事都已答复。", (t) => h`<span class="muted">${formatDurationZh(at.getTime() - t.createdAt.getTime())}前登记</span>`, "/dashboard/tickets?status=open")}
        </div>
        <h2 class="section">趋势</h2>
        <div class="cards">
          <div class="card" id="chart-volume"><h2>每周工单量（近 ${WEEKS} 周）</h2>${charts.volume}</div>
          <div class="card" id="chart-answer"><h2>首次答复用时（近 28 天）</h2>${charts.answer}</div>
          <div class="card" id="chart-funnel"><h2>上报漏斗 邻→组→村→镇（近 28 天）</h2>${charts.funnel}</div>
          <div class="card" id="chart-coverage"><h2>走访覆盖（按单位）</h2>${charts.coverage}</div>
        </div>
        <p><a class="button" href="/dashboard/units">单位三率</a> <a class="button" href="/dashboard/tickets">查看工单台账</a> <a class="button" href="/dashboard/scorecards">邻长履职评议</a>
        ${v.admin ? h`<a class="button" href="/dashboard/links">负责人登录链接</a>` : ""}</p>`,
      ),
    );
  });
  return app;
}
