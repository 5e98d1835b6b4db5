/** /dashboard: the overview — weekly volume, first-answer times, the escalation funnel, visit coverage. */
import { Hono } from "hono";
import { coverageByUnit } from "../../workflows/digests/coverage.js";
import { isoWeek } from "../../workflows/digests/period.js";
import { LEVEL_ZH } from "../../workflows/roles.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { render } from "../context.js";
import { answerDistribution, childUnits, funnel, weeklyVolume } from "../data.js";
import { barChart, h, hBars } from "../views.js";

export function overviewPage({ db, now }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.get("/dashboard", async (c) => {
    const v = c.get("viewer");
    const at = now();
    const week0 = isoWeek(new Date(at.getTime() - 11 * 7 * 86_400_000)).start;
    const since = new Date(at.getTime() - 28 * 86_400_000);
    const [volume, answers, fun, children] = await Promise.all([
      weeklyVolume(db, v.scope, week0),
      answerDistribution(db, v.scope, since),
      funnel(db, v.scope, since),
      childUnits(db, v.scope),
    ]);
    const weeks = Array.from({ length: 12 }, (_, i) => new Date(week0.getTime() + i * 7 * 86_400_000));
    const volBars = weeks.map((w) => {
      const n = volume.find((x) => Math.abs(x.week.getTime() - w.getTime()) < 3_600_000)?.n ?? 0;
      return { label: isoWeek(w).key.slice(5), n };
    });
    const coverage = await coverageByUnit(
      db,
      children.map((u) => u.id),
      at,
    );
    const total = fun[0]?.n ?? 0;
    const covRows = children
      .filter((u) => coverage.has(u.id))
      .map((u) => {
        const cv = coverage.get(u.id)?.all ?? { visited: 0, due: 0 };
        return { label: u.name, value: cv.visited, of: cv.due, text: `${cv.due ? Math.round((100 * cv.visited) / cv.due) : 0}%（${cv.visited}/${cv.due}）` };
      });
    return c.html(
      render(
        c,
        "概览",
        h`<h1>概览</h1><div class="cards">
          <div class="card" id="chart-volume"><h2>每周工单量（近 12 周）</h2>${barChart(volBars, { title: "每周工单量" })}</div>
          <div class="card" id="chart-answer"><h2>首次答复用时（近 28 天）</h2>${barChart(
            answers.map((a) => ({ label: a.label, n: a.n, color: a.late ? "#d97706" : "#3f9f7a" })),
            { title: "首次答复用时分布", marker: { after: 3, label: "4 小时" } },
          )}</div>
          <div class="card" id="chart-funnel"><h2>上报漏斗 邻→组→村→镇（近 28 天）</h2>${hBars(
            fun.map((f) => ({ label: `到${LEVEL_ZH[f.level]}级`, value: f.n, text: `${f.n}${total ? `（${Math.round((100 * f.n) / total)}%）` : ""}` })),
            "上报漏斗",
          )}</div>
          <div class="card" id="chart-coverage"><h2>走访覆盖（按单位）</h2>${
            covRows.length ? hBars(covRows, "走访覆盖") : h`<p class="muted">暂无走访数据。</p>`
          }</div>
        </div>
        <p><a class="button" href="/dashboard/tickets">查看工单台账</a> <a class="button" href="/dashboard/scorecards">邻长履职评议</a>
        ${v.admin ? h`<a class="button" href="/dashboard/links">负责人登录链接</a>` : ""}</p>`,
      ),
    );
  });
  return app;
}
