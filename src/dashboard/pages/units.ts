/**
 * /dashboard/units: the per-unit table (红黑榜) — 新增, 响应率, 解决率, 满意率, 逾期 and visit coverage for each unit
 * of a level in the viewer's scope, over a chosen period, sortable by any column (links, no script). The same
 * table is a sheet of the XLSX export. Queries: queries/unit-rates.ts; columns and order: unit-table.ts.
 */
import { Hono } from "hono";
import { type UnitKind, unitKinds } from "../../db/schema/index.js";
import { formatDurationZh } from "../../lib/duration.js";
import { LEVEL_ZH } from "../../workflows/roles.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { render } from "../context.js";
import { unitOptions } from "../data.js";
import { fmt } from "../format.js";
import { PERIODS, parsePeriod } from "../period.js";
import { clockRoots } from "../queries/clocks.js";
import { unitRates } from "../queries/unit-rates.js";
import { isRatio, parseUnitSort, shareOf, sortUnits, UNIT_COLUMNS } from "../unit-table.js";
import { h, raw } from "../views.js";

export function unitsPage({ db, now, runtime }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.get("/dashboard/units", async (c) => {
    const v = c.get("viewer");
    const q = c.req.query();
    const at = now();
    const [{ tree, below, roots }, options] = await Promise.all([clockRoots(db, v.scope, runtime.pipeline.overrides), unitOptions(db, v.scope)]);
    const first = roots[0];
    if (!first) return c.html(render(c, "单位三率", h`<h1>单位三率</h1><p>还没有名册。</p>`));
    const period = parsePeriod(q, at, first.policy);
    // Levels below the viewer's own unit that exist in their scope (the admin: every level below the towns).
    const own = ((v.scope.rootId ? tree.get(v.scope.rootId)?.kind : "town") ?? "town") as UnitKind;
    const present = new Set(options.map((u) => u.kind));
    const levels = unitKinds.filter((k) => present.has(k) && unitKinds.indexOf(k) > unitKinds.indexOf(own));
    const level = levels.includes(q.rows as UnitKind) ? (q.rows as UnitKind) : undefined;
    const sort = parseUnitSort(q);
    const rows = sortUnits(await unitRates(db, below, roots, level, period, !v.scope.rootId), sort);

    const keep = (over: Record<string, string>) => {
      const p = new URLSearchParams();
      for (const k of ["period", "from", "to", "rows", "sort", "dir"]) if (q[k]) p.set(k, q[k] as string);
      for (const [k, val] of Object.entries(over)) p.set(k, val);
      return `?${p.toString()}`;
    };
    const head = (key: string, label: string, higherIsBetter: boolean) => {
      const on = sort.key === key;
      const dir = on ? (sort.dir === "asc" ? "desc" : "asc") : higherIsBetter ? "desc" : "asc";
      return h`<th class="${key === "name" ? "" : "num"}"><a class="${on ? "on" : ""}" href="${keep({ sort: key, dir })}">${label}${on ? (sort.dir === "asc" ? " ▲" : " ▼") : ""}</a></th>`;
    };
    const cell = (val: ReturnType<(typeof UNIT_COLUMNS)[number]["value"]>, key: string) => {
      if (!isRatio(val)) return h`<td class="num" data-col="${key}" data-n="${val}">${val}</td>`;
      const s = shareOf(val);
      return s === null
        ? h`<td class="num muted" data-col="${key}" data-n="0" data-d="0">—</td>`
        : h`<td class="num" data-col="${key}" data-n="${val.n}" data-d="${val.d}">${Math.round(100 * s)}%<br><span class="muted">${val.n}/${val.d}</span></td>`;
    };
    const exportQuery = new URLSearchParams({
      period: period.key,
      from: fmt(period.window.from).slice(0, 10),
      to: fmt(new Date(period.window.to.getTime() - 1)).slice(0, 10),
      ...(level ? { rows: level } : {}),
      sort: sort.key,
      dir: sort.dir,
    });
    const answer = formatDurationZh(first.policy.answerMs);
    return c.html(
      render(
        c,
        "单位三率",
        h`<h1>单位三率 · ${v.scope.rootId ? tree.name(v.scope.rootId) : "全部"}</h1>
        <form class="filters" method="get" action="/dashboard/units">
          <label>统计期<select name="period">${Object.entries(PERIODS).map(
            ([k, label]) => h`<option value="${k}"${raw(period.key === k ? " selected" : "")}>${label}</option>`,
          )}</select></label>
          <label>起始日期（自选）<input type="date" name="from" value="${period.key === "custom" ? (q.from ?? "") : ""}"></label>
          <label>截止日期（自选）<input type="date" name="to" value="${period.key === "custom" ? (q.to ?? "") : ""}"></label>
          <label>按层级<select name="rows"><option value="">下一级</option>${levels.map(
            (k) => h`<option value="${k}"${raw(level === k ? " selected" : "")}>${LEVEL_ZH[k]}</option>`,
          )}</select></label>
          <input type="hidden" name="sort" value="${sort.key}"><input type="hidden" name="dir" value="${sort.dir}">
          <button class="primary" type="submit">查看</button>
          <a class="button" id="export-xlsx" href="/dashboard/export.xlsx?${exportQuery.toString()}">导出 Excel</a>
        </form>
        <p class="muted" id="period">${period.label}；逾期与走访覆盖截至 ${fmt(period.asOf)}。点表头排序。</p>
        <div class="scroll"><table id="units"><thead><tr>${head("name", "单位", true)}${UNIT_COLUMNS.map((col) => head(col.key, col.header, col.higherIsBetter))}</tr></thead><tbody>
        ${rows.map(
          (r) => h`<tr data-unit="${r.unitId}"${raw(r.overdue > 0 ? ' class="bad"' : "")}><td><a href="/dashboard/tickets?unit=${encodeURIComponent(r.unitId)}">${r.name}</a></td>${UNIT_COLUMNS.map((col) => cell(col.value(r), col.key))}</tr>`,
        )}
        </tbody></table></div>
        <h2>口径（与周报相同）</h2><ul class="formula" id="formula">
          <li>新增：统计期内报事的工单。</li>
          <li>响应率：新增工单中，${answer}内首次答复（认领、回复或办结）的比例；时限未到且未答复的不计入。</li>
          <li>解决率：新增工单中，截至统计时已办结或已关闭的比例。</li>
          <li>满意率：统计期内报事人的评价中“满意”的比例。</li>
          <li>逾期：截至统计时未办结，且超过答复时限未答复、或答复后超过办结时限的工单。</li>
          <li>走访覆盖：住户中按走访周期已走访（特殊户也可按周联系）的比例。</li></ul>`,
      ),
    );
  });
  return app;
}
