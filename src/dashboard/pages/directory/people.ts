/**
 * /dashboard/directory/people: people in scope, searched by name, id or phone; /dashboard/directory/people/<id>: one
 * person with their accounts and unfinished tickets, and 停用 / 恢复 (the history of a deactivated person stays).
 */
import { Hono } from "hono";
import { type Role, roles } from "../../../db/schema/index.js";
import { HANDOVER_KINDS } from "../../../workflows/roster/handover.js";
import { setPersonActive, type StatusRefusal } from "../../../workflows/roster/status.js";
import { PLATFORM_ZH, ROLE_ZH } from "../../../workflows/roles.js";
import type { DashboardDeps, DashboardEnv } from "../../context.js";
import { render } from "../../context.js";
import { personView, searchPeople } from "../../queries/directory.js";
import { h, raw } from "../../views.js";
import { actorOf, flash, PAGE_SIZE, pageNo, pager, tabs, term } from "./common.js";

const KIND_ZH: Record<string, string> = { userid: "账号", open_userid: "机器人识别的账号", external_userid: "微信外部联系人" };
/** The roles whose unit has a handover page (邻长, 组长, 片长). */
const ROTATING: Role[] = ["neighbor_leader", "group_leader", "area_leader"];

const REFUSAL_ZH: Record<StatusRefusal, string> = {
  not_found: "没有这个人。",
  forbidden: "此人不在你负责的范围内。",
  self: "不能停用自己。",
  unchanged: "状态已经是这样了。",
  open_tickets: "此人还有未办结的工单，请先交接（邻长、组长、片长）或办结后再停用。",
};

export function directoryPeoplePage({ db, runtime }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();

  app.get("/dashboard/directory/people", async (c) => {
    const v = c.get("viewer");
    const q = c.req.query();
    const search = term(q.q);
    const role = (roles as readonly string[]).includes(q.role ?? "") ? (q.role as Role) : undefined;
    const inactive = q.inactive === "1";
    const page = pageNo(q.page);
    const list = await searchPeople(db, v.scope, { q: search, role, inactive, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
    const opt = (value: string, label: string) => h`<option value="${value}"${raw(role === value ? " selected" : "")}>${label}</option>`;
    return c.html(
      render(
        c,
        "名册 · 人员",
        h`<h1>人员</h1>${tabs(c, "/dashboard/directory/people")}
        <form class="filters" method="get" action="/dashboard/directory/people">
          <label>姓名、编号或电话<input name="q" value="${search ?? ""}" maxlength="50"></label>
          <label>角色<select name="role"><option value="">全部</option>${roles.map((r) => opt(r, ROLE_ZH[r]))}</select></label>
          <label class="check"><span>只看已停用的</span><input type="checkbox" name="inactive" value="1"${inactive ? " checked" : ""}></label>
          <button class="primary" type="submit">查找</button>
        </form>
        <p class="muted" id="count">共 ${list.total} 人</p>
        <div class="scroll"><table id="people"><thead><tr><th>姓名</th><th>编号</th><th>角色</th><th>单位</th><th>住户</th><th>电话</th></tr></thead><tbody>
        ${list.rows.map(
          (p) => h`<tr data-person="${p.id}"><td><a href="/dashboard/directory/people/${p.id}">${p.name}</a>${p.active ? "" : h` <span class="pill">已停用</span>`}</td>
            <td>${p.id}</td><td>${ROLE_ZH[p.role]}</td><td><a href="/dashboard/directory/units/${p.unitId}">${p.unitName}</a></td><td>${p.household ?? ""}</td><td>${p.phone ?? ""}</td></tr>`,
        )}</tbody></table></div>${pager(q, page, list.total)}`,
      ),
    );
  });

  app.get("/dashboard/directory/people/:id", async (c) => {
    const v = c.get("viewer");
    const p = await personView(db, v.scope, c.req.param("id"));
    if (!p) return c.html(render(c, "找不到此人", h`<h1>找不到此人</h1><p>名册里没有，或不在你负责的范围内。</p><p><a href="/dashboard/directory/people">← 返回人员</a></p>`), 404);
    const done = c.req.query("done");
    const error = c.req.query("error") as StatusRefusal | undefined;
    const self = actorOf(c)?.personId === p.id;
    return c.html(
      render(
        c,
        p.name,
        h`<h1>${p.name} <span class="muted">${ROLE_ZH[p.role]}</span>${p.active ? "" : h` <span class="pill" id="inactive">已停用</span>`}</h1>${tabs(c, "")}
        ${done ? flash(done === "deactivated" ? "已停用。此人的历史记录都保留着，名册、报事、提醒里不再有此人。" : "已恢复。") : ""}
        ${error ? flash(REFUSAL_ZH[error] ?? "没有完成，请重试。", true) : ""}
        <div class="card"><p>编号 ${p.id} · 单位 <a href="/dashboard/directory/units/${p.unitId}">${p.unitName}</a>${p.household ? ` · 住户 ${p.household}` : ""}${p.phone ? ` · 电话 ${p.phone}` : ""}</p>
          <p>平台账号：${p.identities.length ? p.identities.map((i, n) => h`${n ? "；" : ""}${PLATFORM_ZH[i.platform] ?? i.platform}${KIND_ZH[i.kind] ?? ""} ${i.externalId}`) : h`<span class="muted">无</span>`}</p>
          <p id="open-tickets">未办结的工单：${p.openTickets.length ? p.openTickets.map((id, n) => h`${n ? "、" : ""}<a href="/dashboard/tickets/${id}">#${id}</a>`) : "无"}</p></div>
        ${ROTATING.includes(p.role) && HANDOVER_KINDS.length ? h`<p><a class="button" href="/dashboard/directory/units/${p.unitId}/handover?from=${p.id}">交接给新人</a></p>` : ""}
        ${
          self
            ? ""
            : p.active
              ? h`<form method="post" action="/dashboard/directory/people/${p.id}/active" id="deactivate"><input type="hidden" name="active" value="0">
              <p class="muted">停用：此人搬走、去世或不再担任时使用。历史工单、台账和走访记录都保留；此人不再能报事、不再收到提醒，看板登录链接作废。</p>
              <button type="submit">停用此人</button></form>`
              : h`<form method="post" action="/dashboard/directory/people/${p.id}/active" id="reactivate"><input type="hidden" name="active" value="1"><button type="submit" class="primary">恢复此人</button></form>`
        }`,
      ),
    );
  });

  app.post("/dashboard/directory/people/:id/active", async (c) => {
    const by = actorOf(c);
    if (!by) return c.text("只有管理员和村（社区）干部可以修改名册", 403);
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    const active = form.active === "1";
    const r = await runtime.transact((ctx) => setPersonActive(ctx, by, id, active));
    const back = `/dashboard/directory/people/${encodeURIComponent(id)}`;
    if (r.ok) return c.redirect(`${back}?done=${active ? "reactivated" : "deactivated"}`, 303);
    // Another village's person answers like one that does not exist: nothing about them is shown.
    if (r.reason === "forbidden" || r.reason === "not_found") return c.text("没有这个人，或此人不在你负责的范围内。", 404);
    return c.redirect(`${back}?error=${r.reason}`, 303);
  });
  return app;
}
