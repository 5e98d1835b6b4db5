/** /dashboard/visits: 走访核对 — visits whose household was not found when logged, matched here by hand. */
import { Hono } from "hono";
import type { VisitChannel } from "../../db/schema/index.js";
import { getPerson } from "../../workflows/directory.js";
import { resolveUnmatchedVisit } from "../../workflows/visits/log.js";
import { CHANNEL_ZH, householdLabel } from "../../workflows/visits/notices.js";
import { ADMIN } from "../auth.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { render } from "../context.js";
import { householdsUnder, unmatchedVisits } from "../data.js";
import { fmt } from "../format.js";
import { h } from "../views.js";

const UNMATCHED_LIMIT = 200;
const RESOLVE_ERROR: Record<string, string> = {
  not_found: "没找到这条走访或这户，请刷新后再试。",
  forbidden: "这条走访或这户不在你负责的范围内。",
  not_unmatched: "这条走访已经核对过了。",
};

export function visitsPage({ db, runtime }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  // Matched visits count for coverage and scores.
  app.get("/dashboard/visits", async (c) => {
    const v = c.get("viewer");
    const list = await unmatchedVisits(db, v.scope, UNMATCHED_LIMIT);
    const choices = await householdsUnder(db, [...new Set(list.map((x) => x.unitId))]);
    const flash = c.req.query("done") ? h`<p class="note" id="flash">已归到对应住户。</p>` : c.req.query("error") ? h`<p class="err" id="flash">${RESOLVE_ERROR[c.req.query("error") as string] ?? "没有完成，请重试。"}</p>` : h``;
    return c.html(
      render(
        c,
        "走访核对",
        h`<h1>走访核对</h1><p class="muted">登记走访时没对上住户的记录。选出对应住户后，这次走访才计入走访覆盖和履职评议。</p>${flash}
        ${
          list.length === 0
            ? h`<p id="none">没有待核对的走访。</p>`
            : h`<table id="unmatched"><thead><tr><th>时间</th><th>登记人</th><th>单位</th><th>方式</th><th>写的是</th><th>对应住户</th></tr></thead><tbody>
          ${list.map(
            (x) => h`<tr><td>${fmt(x.at)}</td><td>${x.leader}</td><td>${x.unitName}</td><td>${x.kind === "visit" ? "走访" : (CHANNEL_ZH[x.channel as VisitChannel] ?? "联系")}</td><td>${x.query}</td>
              <td><form method="post" action="/dashboard/visits/${x.id}" class="resolve"><select name="household" required><option value="">选择住户</option>
              ${(choices.get(x.unitId) ?? []).map((hh) => h`<option value="${hh.id}">${householdLabel(hh)}${hh.nickname && hh.nickname !== hh.headName ? ` · ${hh.nickname}` : ""}</option>`)}
              </select><button type="submit" class="primary">确认</button></form></td></tr>`,
          )}</tbody></table>`
        }`,
      ),
    );
  });

  app.post("/dashboard/visits/:id", async (c) => {
    const v = c.get("viewer");
    const form = await c.req.parseBody();
    const household = typeof form.household === "string" ? form.household : "";
    const id = Number(c.req.param("id"));
    if (!household || !Number.isInteger(id)) return c.redirect("/dashboard/visits?error=not_found", 303);
    const by = v.id === ADMIN ? null : await getPerson(db, v.id);
    if (v.id !== ADMIN && !by) return c.text("请先登录", 401);
    const r = await runtime.transact((ctx) => resolveUnmatchedVisit(ctx, by, id, household));
    return c.redirect(r.ok ? `/dashboard/visits?done=${id}` : `/dashboard/visits?error=${r.reason}`, 303);
  });
  return app;
}
