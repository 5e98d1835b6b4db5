/**
 * /dashboard/tickets: the 工单台账 — filters, one page of tickets, links to the exports. 下一页 / 上一页 carry the
 * last / first id of the page (before= / after=), so a deep page costs what the first does; page= only numbers it.
 */
import { Hono } from "hono";
import { ticketStatuses } from "../../db/schema/index.js";
import { formatDurationZh } from "../../lib/duration.js";
import { forGroup, GROUP_CUTS } from "../../lib/privacy.js";
import { LEVEL_ZH, STATUS_ZH } from "../../workflows/roles.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { render } from "../context.js";
import { categoryOptions, listTickets, type PageAt, unitOptions } from "../data.js";
import { fmt, parseFilter } from "../format.js";
import { scopeTree } from "../tree.js";
import { h, raw, statusPill } from "../views.js";

const PAGE_SIZE = 50;

const ticketId = (v: string | undefined) => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 && n <= 2 ** 31 - 1 ? n : null;
};

export function ticketsPage({ db, runtime }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.get("/dashboard/tickets", async (c) => {
    const v = c.get("viewer");
    const q = c.req.query();
    const below = await scopeTree(db);
    const tree = below.tree;
    const f = parseFilter(q);
    if (f.unitId) f.unitIds = below.below(f.unitId);
    const pageNo = Math.max(1, Math.min(10_000, Math.floor(Number(q.page)) || 1));
    const before = ticketId(q.before);
    const after = ticketId(q.after);
    const at: PageAt = before ? { before } : after ? { after } : { offset: (pageNo - 1) * PAGE_SIZE };
    const [list, unitsList] = await Promise.all([listTickets(db, v.scope, f, PAGE_SIZE, at), unitOptions(db, v.scope)]);
    const cats = categoryOptions(tree, v.scope, runtime.pipeline.overrides, f.category);
    // The list is often on a shared screen: 事项 masked exactly as a group sees it (the ticket's page has it whole).
    const item = (t: (typeof list.rows)[number]) => forGroup(t.text, GROUP_CUTS.item, tree.policy(t.unit_id, runtime.pipeline.overrides).sensitiveTags);
    const keep = new URLSearchParams(Object.entries(q).filter(([k, val]) => !["page", "before", "after"].includes(k) && val));
    const opt = (value: string, label: string, cur: string | undefined) => h`<option value="${value}"${raw(cur === value ? " selected" : "")}>${label}</option>`;
    const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE));
    const [first, last] = [list.rows[0], list.rows.at(-1)];
    return c.html(
      render(
        c,
        "工单台账",
        h`<h1>工单台账</h1>
        <form class="filters" method="get" action="/dashboard/tickets">
          <label>状态<select name="status"><option value="">全部</option>${ticketStatuses.map((s) => opt(s, STATUS_ZH[s] ?? s, q.status))}</select></label>
          <label>层级<select name="level"><option value="">全部</option>${(["neighborhood", "group", "area", "village", "town"] as const).map((l) => opt(l, LEVEL_ZH[l], q.level))}</select></label>
          <label>单位<select name="unit"><option value="">全部</option>${unitsList.map((u) => opt(u.id, u.name, q.unit))}</select></label>
          <label>类别<select name="category"><option value="">全部</option>${cats.map((x) => opt(x, x, q.category))}</select></label>
          <label>起始日期<input type="date" name="from" value="${q.from ?? ""}"></label>
          <label>截止日期<input type="date" name="to" value="${q.to ?? ""}"></label>
          <button class="primary" type="submit">筛选</button>
          <a class="button" id="export-csv" href="/dashboard/export.csv?${keep.toString()}">导出 CSV</a>
          <a class="button" id="export-xlsx" href="/dashboard/export.xlsx?${keep.toString()}">导出 Excel</a>
        </form>
        <p class="muted" id="count">共 ${list.total} 件${pages > 1 ? `，第 ${pageNo}/${pages} 页` : ""}</p>
        <div class="scroll"><table id="tickets"><thead><tr><th>单号</th><th>报事时间</th><th>类别</th><th>事项</th><th>状态</th><th>层级</th><th>来源</th><th>责任单位</th><th>负责人</th><th>诉求户</th><th>经办人</th><th>首次答复</th><th>评价</th></tr></thead><tbody>
        ${list.rows.map(
          (t) => h`<tr><td><a href="/dashboard/tickets/${t.id}">#${t.id}</a></td><td>${fmt(t.created_at)}</td><td>${t.category}${t.urgency === "urgent" ? " 🚨" : ""}</td><td class="item">${item(t)}</td>
            <td>${statusPill(t.status)}</td><td>${LEVEL_ZH[t.level]}</td><td>${t.unit_name}</td><td>${t.holder_name}</td><td>${t.assignee ?? ""}</td><td>${t.household ?? ""}</td><td>${t.relayed_by ?? ""}</td>
            <td>${t.first_answered_at ? formatDurationZh(t.first_answered_at.getTime() - t.created_at.getTime()) : "—"}</td>
            <td>${t.rating === "satisfied" ? "满意" : t.rating === "unsatisfied" ? "不满意" : ""}</td></tr>`,
        )}
        </tbody></table></div>
        <p>${pageNo > 1 && first ? h`<a href="?${keep.toString()}&page=${pageNo - 1}&after=${first.id}">上一页</a> ` : ""}${pageNo < pages && last && list.rows.length === PAGE_SIZE ? h`<a href="?${keep.toString()}&page=${pageNo + 1}&before=${last.id}">下一页</a>` : ""}</p>`,
      ),
    );
  });
  return app;
}
