/**
 * /dashboard/mediations: 矛盾调解 — the cases a viewer answers for (held by their unit or below) and the ones they
 * opened, with the 事由 and outcome in full (the dashboard is for the responsible leaders), and each case's 台账.
 */
import { Hono } from "hono";
import { type MediationStatus, mediationStatuses } from "../../db/schema/index.js";
import { STATUS_ZH } from "../../workflows/mediations/words.js";
import { LEVEL_ZH } from "../../workflows/roles.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { notFoundPage, render } from "../context.js";
import { fmt } from "../format.js";
import { mediationInScope, mediationsInScope, mediationTimeline, mediationTotals } from "../mediations-data.js";
import { h } from "../views.js";

const LIST_LIMIT = 200;
const EVENT_ZH: Record<string, string> = { opened: "登记", settled: "调解成功", escalated: "调解不成，上报", failed: "调解不成（已到最高一级）", reminded: "久未进展，已私信提醒" };
const pill = (s: MediationStatus) => h`<span class="pill m-${s}">${STATUS_ZH[s]}</span>`;

export function mediationsPage({ db }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();

  app.get("/dashboard/mediations", async (c) => {
    const v = c.get("viewer");
    const q = c.req.query("status");
    const status = (mediationStatuses as readonly string[]).includes(q ?? "") ? (q as MediationStatus) : undefined;
    const [list, totals] = await Promise.all([mediationsInScope(db, v.scope, v.id, status, LIST_LIMIT), mediationTotals(db, v.scope, v.id)]);
    return c.html(
      render(
        c,
        "矛盾调解",
        h`<h1>矛盾调解</h1><p class="muted">只有承办这件调解的一级及以上的负责人（和登记人）能看到；群里只显示“已记录一件调解”，月报只统计件数。</p>
        <p id="totals">调解中 <strong>${totals.mediating}</strong> 件 · 已调解 <strong>${totals.settled}</strong> 件 · 调解不成 <strong>${totals.failed}</strong> 件</p>
        <form class="filters" method="get"><label>状态<select name="status"><option value="">全部</option>
          ${mediationStatuses.map((s) => h`<option value="${s}"${s === status ? " selected" : ""}>${STATUS_ZH[s]}</option>`)}</select></label><button class="primary">筛选</button></form>
        ${
          list.length === 0
            ? h`<p id="none">没有调解记录。邻长等负责人私聊好邻发「调解 事由」即可登记。</p>`
            : h`<table id="mediations"><thead><tr><th>编号</th><th>登记时间</th><th>状态</th><th>承办</th><th>发生在</th><th>登记人</th><th>事由</th><th>结果</th></tr></thead><tbody>
          ${list.map(
            (m) => h`<tr><td><a href="/dashboard/mediations/${m.id}">#${m.id}</a></td><td>${fmt(m.created_at)}</td><td>${pill(m.status)}</td>
              <td>${LEVEL_ZH[m.level]}级 · ${m.holder_name}</td><td>${m.unit_name}</td><td>${m.opener}</td><td>${m.summary}</td><td>${m.result ?? ""}</td></tr>`,
          )}</tbody></table>`
        }`,
      ),
    );
  });

  app.get("/dashboard/mediations/:id", async (c) => {
    const v = c.get("viewer");
    const m = await mediationInScope(db, v.scope, v.id, Number(c.req.param("id")));
    if (!m) return notFoundPage(c, "找不到这件调解", ["/dashboard/mediations", "返回调解列表"]);
    const events = await mediationTimeline(db, m.id);
    return c.html(
      render(
        c,
        `调解 #${m.id}`,
        h`<h1>调解 #${m.id} ${pill(m.status)}</h1>
        <div class="card"><p>${m.summary}</p>
          <p class="muted">发生在 ${m.unit_name} · 现由 ${LEVEL_ZH[m.level]}级（${m.holder_name}）承办 · 登记人 ${m.opener} · ${fmt(m.created_at)}${m.escalation_count ? ` · 上报 ${m.escalation_count} 次` : ""}${m.closed_at ? ` · ${fmt(m.closed_at)} 结束` : ""}</p>
          ${m.result ? h`<p id="result">结果：${m.result}</p>` : ""}</div>
        <h2>全程记录</h2><ol class="timeline" id="timeline">
        ${events.map(
          (e) => h`<li><strong>${fmt(e.at)}</strong> ${EVENT_ZH[e.kind] ?? e.kind}${e.kind === "escalated" && e.to ? `到${LEVEL_ZH[e.to]}级` : ""}${e.level ? `（${LEVEL_ZH[e.level]}级）` : ""}${e.actor ? ` · ${e.actor}` : ""}
            ${e.text ? h`<br><span class="muted">${e.text}</span>` : ""}</li>`,
        )}</ol>
        <p><a href="/dashboard/mediations">← 返回调解列表</a></p>`,
      ),
    );
  });
  return app;
}
