/**
 * /dashboard/directory: every 邻 in the viewer's scope with its 邻长 and how many households it links, flagged when
 * outside the 5–15 rule or without a 邻长; /dashboard/directory/units/<id>: one unit, its leaders, the units below it
 * and its groups.
 */
import { Hono } from "hono";
import { LEADER_ROLE, LEVEL_ZH, NEIGHBORHOOD_HOUSEHOLDS, PLATFORM_ZH, ROLE_ZH } from "../../../workflows/roles.js";
import { HANDOVER_KINDS } from "../../../workflows/roster/handover.js";
import type { DashboardDeps, DashboardEnv } from "../../context.js";
import { render } from "../../context.js";
import { directoryCounts, type NeighborhoodRow, neighborhoods, unitView } from "../../queries/directory.js";
import { h } from "../../views.js";
import { actorOf, flash, PAGE_SIZE, pageNo, pager, tabs, term } from "./common.js";


const FLAG_ZH: Record<NonNullable<NeighborhoodRow["flag"]>, string> = {
  no_leader: "没有邻长",
  few: `少于 ${NEIGHBORHOOD_HOUSEHOLDS.min} 户`,
  many: `多于 ${NEIGHBORHOOD_HOUSEHOLDS.max} 户`,
};

const people = (list: { id: string; name: string }[]) =>
  list.length ? list.map((p, i) => h`${i ? "、" : ""}<a href="/dashboard/directory/people/${p.id}">${p.name}</a>`) : h`<span class="muted">—</span>`;

export function directoryUnitsPage({ db }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.get("/dashboard/directory", async (c) => {
    const v = c.get("viewer");
    const q = c.req.query();
    const search = term(q.q);
    const flagged = q.flagged === "1";
    const page = pageNo(q.page);
    const [counts, list] = await Promise.all([
      directoryCounts(db, v.scope),
      neighborhoods(db, v.scope, { q: search, flagged, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }),
    ]);
    const { min, max } = NEIGHBORHOOD_HOUSEHOLDS;
    return c.html(
      render(
        c,
        "名册",
        h`<h1>名册</h1>${tabs(c, "/dashboard/directory")}
        <p class="muted" id="totals">单位 ${counts.units} · 在册人员 ${counts.people}${counts.inactive ? `（另有已停用 ${counts.inactive}）` : ""} · 住户 ${counts.households}</p>
        <form class="filters" method="get" action="/dashboard/directory">
          <label>查找（邻、组、村或邻长的名字）<input name="q" value="${search ?? ""}" maxlength="50"></label>
          <label class="check"><span>只看需关注的邻</span><input type="checkbox" name="flagged" value="1"${flagged ? " checked" : ""}></label>
          <button class="primary" type="submit">查找</button>
        </form>
        <p id="count">共 ${list.total} 个邻，其中 <strong>${list.flagged}</strong> 个需关注（没有邻长，或不在每位邻长联系 ${min}–${max} 户之内）。</p>
        <div class="scroll"><table id="neighborhoods"><thead><tr><th>村（社区）</th><th>组</th><th>邻</th><th>邻长</th><th>户数</th><th>提示</th><th></th></tr></thead><tbody>
        ${list.rows.map(
          (n) => h`<tr data-unit="${n.id}"${n.flag ? h` class="flagged"` : ""}><td>${n.villageName ?? ""}</td><td>${n.groupName ?? ""}</td>
            <td><a href="/dashboard/directory/units/${n.id}">${n.name}</a></td><td>${people(n.leaders)}</td><td>${n.households}</td>
            <td>${n.flag ? h`<span class="pill flag">${FLAG_ZH[n.flag]}</span>` : ""}</td>
            <td><a href="/dashboard/directory/units/${n.id}/handover">${n.leaders.length ? "交接" : "任命"}</a></td></tr>`,
        )}</tbody></table></div>${pager(q, page, list.total)}`,
      ),
    );
  });

  app.get("/dashboard/directory/units/:id", async (c) => {
    const v = c.get("viewer");
    const u = await unitView(db, v.scope, c.req.param("id"));
    if (!u) return c.html(render(c, "找不到单位", h`<h1>找不到这个单位</h1><p>它不存在，或不在你负责的范围内。</p><p><a href="/dashboard/directory">← 返回名册</a></p>`), 404);
    const rotating = HANDOVER_KINDS.includes(u.kind);
    const handed = c.req.query("handed");
    const moved = Number(c.req.query("moved") ?? 0);
    const told = Number(c.req.query("told") ?? 0);
    return c.html(
      render(
        c,
        u.name,
        h`<h1>${u.name} <span class="muted">${LEVEL_ZH[u.kind]}</span></h1>${tabs(c, "")}
        ${handed ? flash(`交接完成：${moved ? `${moved} 件未办结工单已转交新${ROLE_ZH[LEADER_ROLE[u.kind]]}` : "没有需要转交的工单"}${told ? "，已在群里通知" : ""}。`) : ""}
        <p class="muted" id="path">${[...u.path].reverse().map((p, i) => h`${i ? " › " : ""}<a href="/dashboard/directory/units/${p.id}">${p.name}</a>`)}</p>
        <div class="card"><p id="leaders">${ROLE_ZH[LEADER_ROLE[u.kind]]}：${people(u.leaders)}
          ${rotating && actorOf(c) ? h` <a class="button" id="handover" href="/dashboard/directory/units/${u.id}/handover">${u.leaders.length ? "交接" : "任命"}${ROLE_ZH[LEADER_ROLE[u.kind]]}</a>` : ""}</p>
          ${u.kind === "neighborhood" ? h`<p><a href="/dashboard/directory/households?unit=${u.id}">查看本邻住户</a></p>` : ""}
          <p>群：${u.chats.length ? u.chats.map((ch, i) => h`${i ? "、" : ""}${ch.name}（${PLATFORM_ZH[ch.platform] ?? ch.platform}${ch.status === "dead" ? "，推送地址失效" : ""}）`) : h`<span class="muted">本单位没有绑定群</span>`}</p></div>
        ${
          u.children.length
            ? h`<h2>下级单位</h2><table id="children"><thead><tr><th>名称</th><th>类型</th><th>负责人</th><th>住户</th></tr></thead><tbody>
          ${u.children.map(
            (ch) => h`<tr><td><a href="/dashboard/directory/units/${ch.id}">${ch.name}</a></td><td>${LEVEL_ZH[ch.kind]}</td><td>${people(ch.leaders)}</td><td>${ch.households}</td></tr>`,
          )}</tbody></table>`
            : ""
        }`,
      ),
    );
  });
  return app;
}
