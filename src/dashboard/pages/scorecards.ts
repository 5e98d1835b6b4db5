/** /dashboard/scorecards: the month's 邻长履职评议 and its formula. */
import { Hono } from "hono";
import { formatDurationZh } from "../../lib/duration.js";
import { scorecardLine } from "../../workflows/digests/format.js";
import { SCORE_WEIGHTS, scorecards } from "../../workflows/digests/monthly.js";
import { monthlySlot } from "../../workflows/digests/period.js";
import { analytic } from "../../db/analytic.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { render } from "../context.js";
import { fmt, parseMonth } from "../format.js";
import { scopeTree } from "../tree.js";
import { h } from "../views.js";

export function scorecardsPage({ db, runtime, now }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.get("/dashboard/scorecards", async (c) => {
    const v = c.get("viewer");
    const { tree } = await scopeTree(db);
    const root = v.scope.rootId ?? tree.towns()[0]?.id;
    if (!root) return c.html(render(c, "履职评议", h`<h1>履职评议</h1><p>还没有名册。</p>`));
    const policy = tree.policy(root, runtime.pipeline.overrides);
    const month = parseMonth(c.req.query("month"));
    if (month === null) return c.html(render(c, "履职评议", h`<h1>履职评议</h1><p class="err">月份无效，请按“2026-03”的格式选择月份。</p>`), 400);
    const anchor = month ?? now();
    const slot = monthlySlot(anchor, policy.digest.monthDay, policy.digest.minutes);
    const asOf = slot.window.to.getTime() < now().getTime() ? slot.window.to : now();
    const cards = await analytic(db, (tx) => scorecards(tx, root, { window: slot.window, asOf, answerMs: policy.answerMs }));
    const ratio = (n: number, d: number) => (d ? `${Math.round((100 * n) / d)}%` : "—");
    return c.html(
      render(
        c,
        "履职评议",
        h`<h1>邻长履职评议 · ${tree.name(root)}</h1>
        <form class="filters" method="get"><label>月份<input type="month" name="month" value="${slot.month}"></label><button class="primary">查看</button>
          <span class="muted">统计期：${fmt(slot.window.from).slice(0, 10)} 至 ${fmt(new Date(slot.window.to.getTime() - 1)).slice(0, 10)}（每月 ${policy.digest.monthDay} 日集中走访日为界）</span></form>
        <table id="scorecards"><thead><tr><th>邻长</th><th>邻</th><th>综合分</th><th>走访按时</th><th>首次答复中位</th><th>${formatDurationZh(policy.answerMs)}内答复</th><th>本级解决</th><th>满意</th><th>重开</th><th>工单</th></tr></thead><tbody>
        ${[...cards]
          .sort((a, b) => (b.score ?? -1) - (a.score ?? -1))
          .map(
            (s) => h`<tr title="${scorecardLine(s, policy.answerMs)}"><td>${s.name}</td><td>${s.unitName}</td><td><strong>${s.score ?? "—"}</strong></td>
              <td>${s.visits ? ratio(s.visits.visited, s.visits.due) : "—"}</td><td>${s.medianFirstAnswerMs === null ? "—" : formatDurationZh(s.medianFirstAnswerMs)}</td>
              <td>${ratio(s.answeredInTime, s.answerDecided)}</td><td>${ratio(s.ownLevel, s.tickets)}</td><td>${ratio(s.satisfied, s.rated)}</td><td>${s.reopened}</td><td>${s.tickets}</td></tr>`,
          )}
        </tbody></table>
        <h2>评分公式</h2><div class="formula" id="formula">
          <p>综合分 = round(100 × (${SCORE_WEIGHTS.answer}×答复率 + ${SCORE_WEIGHTS.ownLevel}×本级解决率 + ${SCORE_WEIGHTS.satisfaction}×满意率 + ${SCORE_WEIGHTS.visits}×走访按时率) ÷ 有数据各项权重之和) − ${SCORE_WEIGHTS.reopenPenalty}×重开次数，最低 0 分。</p>
          <ul><li>答复率：本邻统计期内新增工单中，在答复时限（${formatDurationZh(policy.answerMs)}）内首次答复（认领、回复或办结）的比例（时限未到且未答复的不计入）。</li>
          <li>本级解决率（微事不出邻）：本邻新增工单中，未上报、在邻级办结的比例。</li>
          <li>满意率：统计期内报事人评价中“满意”的比例。</li>
          <li>走访按时率：本邻应走访户中按期走访的比例（来自走访登记）。</li>
          <li>首次答复中位时长只展示、不计分；某项没有数据时不计入，权重按其余各项重新分配。</li></ul></div>`,
      ),
    );
  });
  return app;
}
