/** /dashboard/directory/households: households in scope, searched by head, member, 门牌, nickname, address or phone. */
import { Hono } from "hono";
import type { DashboardDeps, DashboardEnv } from "../../context.js";
import { render } from "../../context.js";
import { searchHouseholds } from "../../queries/directory.js";
import { h } from "../../views.js";
import { PAGE_SIZE, pageNo, pager, tabs, term } from "./common.js";

export function directoryHouseholdsPage({ db }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.get("/dashboard/directory/households", async (c) => {
    const v = c.get("viewer");
    const q = c.req.query();
    const search = term(q.q);
    const unitId = q.unit && q.unit.length <= 100 ? q.unit : undefined;
    const page = pageNo(q.page);
    const list = await searchHouseholds(db, v.scope, { q: search, unitId, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
    return c.html(
      render(
        c,
        "名册 · 住户",
        h`<h1>住户</h1>${tabs(c, "/dashboard/directory/households")}
        <form class="filters" method="get" action="/dashboard/directory/households">
          <label>户主、家庭成员、门牌、俗称、地址或电话<input name="q" value="${search ?? ""}" maxlength="50"></label>
          ${unitId ? h`<input type="hidden" name="unit" value="${unitId}">` : ""}
          <button class="primary" type="submit">查找</button>${unitId ? h` <a href="/dashboard/directory/households">看全部住户</a>` : ""}
        </form>
        <p class="muted" id="count">共 ${list.total} 户</p>
        <div class="scroll"><table id="households"><thead><tr><th>户主</th><th>门牌</th><th>家庭成员</th><th>邻</th><th>邻长</th><th>关怀</th><th>标签</th><th>地址</th><th>电话</th></tr></thead><tbody>
        ${list.rows.map(
          (x) => h`<tr data-household="${x.id}"><td>${x.headName}${x.nickname ? h` <span class="muted">${x.nickname}</span>` : ""}</td><td>${x.houseNo ?? ""}</td>
            <td>${x.members.join("、")}</td><td><a href="/dashboard/directory/units/${x.unitId}">${x.unitName}</a></td>
            <td>${x.leaders.map((p, i) => h`${i ? "、" : ""}<a href="/dashboard/directory/people/${p.id}">${p.name}</a>`)}</td>
            <td>${x.careLevel === "special" ? "重点户" : "一般户"}</td><td>${x.tags.join("、")}</td><td>${x.address ?? ""}</td><td>${x.phone ?? ""}</td></tr>`,
        )}</tbody></table></div>${pager(q, page, list.total)}`,
      ),
    );
  });
  return app;
}
