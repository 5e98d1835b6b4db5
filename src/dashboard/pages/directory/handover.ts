/**
 * /dashboard/directory/units/<id>/handover: appoint a new 邻长 (组长, 片长). The outgoing leader's unfinished tickets
 * and visit duties move to the new one in one transaction, and the unit's group is told (src/workflows/roster/handover.ts).
 */
import { Hono } from "hono";
import { LEADER_ROLE, ROLE_ZH } from "../../../workflows/roles.js";
import { HANDOVER_KINDS, type HandoverRefusal, handOver } from "../../../workflows/roster/handover.js";
import type { DashboardDeps, DashboardEnv } from "../../context.js";
import { render } from "../../context.js";
import { candidates, personView, unitView } from "../../queries/directory.js";
import { h, raw } from "../../views.js";
import { actorOf, flash, tabs } from "./common.js";

const REFUSAL_ZH: Record<HandoverRefusal, string> = {
  not_found: "没有这个单位。",
  forbidden: "这个单位不在你负责的范围内。",
  not_rotating: "只有邻、组、片的负责人在这里交接；村、镇干部请在名册里调整。",
  choose_outgoing: "这个单位有不止一位负责人，请选出交接的是哪一位（名单可能刚有变动，请核对）。",
  incoming_not_found: "没找到新任人选，或此人已停用。",
  incoming_not_resident: "新任人选须是居民（已担任其他职务的人请先交接原职务）。",
  incoming_forbidden: "新任人选不在你负责的范围内。",
};

export function directoryHandoverPage({ db, runtime }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();

  app.get("/dashboard/directory/units/:id/handover", async (c) => {
    const v = c.get("viewer");
    const u = await unitView(db, v.scope, c.req.param("id"));
    if (!u) return c.html(render(c, "找不到单位", h`<h1>找不到这个单位</h1><p>它不存在，或不在你负责的范围内。</p><p><a href="/dashboard/directory">← 返回名册</a></p>`), 404);
    const role = ROLE_ZH[LEADER_ROLE[u.kind]];
    const back = h`<p><a href="/dashboard/directory/units/${u.id}">← 返回${u.name}</a></p>`;
    if (!HANDOVER_KINDS.includes(u.kind)) return c.html(render(c, "交接", h`<h1>${u.name}</h1><p>${REFUSAL_ZH.not_rotating}</p>${back}`), 400);
    const [outgoing, pool] = await Promise.all([
      Promise.all(u.leaders.map((p) => personView(db, v.scope, p.id))),
      candidates(db, u.id),
    ]);
    const from = c.req.query("from");
    const error = c.req.query("error") as HandoverRefusal | undefined;
    const leaving = outgoing.filter((p) => p !== null);
    return c.html(
      render(
        c,
        `${u.name} · ${role}交接`,
        h`<h1>${u.name} · ${leaving.length ? `${role}交接` : `任命${role}`}</h1>${tabs(c, "")}
        ${error ? flash(REFUSAL_ZH[error] ?? "没有完成，请重试。", true) : ""}
        <form method="post" action="/dashboard/directory/units/${u.id}/handover" class="card" id="handover-form">
        ${
          leaving.length
            ? h`<p><label>交接的${role}<br><select name="outgoing" required>${leaving.map(
                (p) =>
                  h`<option value="${p.id}"${raw(p.id === from || leaving.length === 1 ? " selected" : "")}>${p.name}（未办结工单 ${p.openTickets.length} 件）</option>`,
              )}</select></label></p>
            <p>原${role}今后：<label><input type="radio" name="outgoingBecomes" value="resident" checked> 改为居民</label>
              <label><input type="radio" name="outgoingBecomes" value="inactive"> 停用（搬走、不再担任等；历史记录保留）</label></p>`
            : h`<p class="muted">${u.name}现在没有${role}，报事直接交给上一级。</p>`
        }
          <p><label>新任${role}（从本组居民中选）<br><select name="incoming" required><option value="">请选择</option>${pool.map(
            (p) => h`<option value="${p.id}">${p.name}${p.household ? `（${p.household}）` : ""} · ${p.unitName}</option>`,
          )}</select></label></p>
          ${pool.length ? "" : h`<p class="muted">本组没有可任命的居民。新人请先加进 Excel 名册的“人员”表（角色：居民），在“导入名册”上传后再来任命。</p>`}
          <p class="muted">确认后：原${role}未办结的工单转给新${role}（每件工单记入台账），走访提醒改发新${role}，并在本${u.kind === "neighborhood" ? "邻" : "单位"}所在的群里发一条通知。</p>
          <p><button type="submit" class="primary">确认${leaving.length ? "交接" : "任命"}</button></p>
        </form>${back}`,
      ),
    );
  });

  app.post("/dashboard/directory/units/:id/handover", async (c) => {
    const by = actorOf(c);
    if (!by) return c.text("只有管理员和村（社区）干部可以修改名册", 403);
    const unitId = c.req.param("id");
    const form = await c.req.parseBody();
    const field = (k: string) => (typeof form[k] === "string" ? (form[k] as string).slice(0, 200) : "");
    const r = await runtime.transact((ctx) =>
      handOver(ctx, by, {
        unitId,
        incomingId: field("incoming"),
        outgoingId: field("outgoing") || null,
        outgoingBecomes: field("outgoingBecomes") === "inactive" ? "inactive" : "resident",
      }),
    );
    const page = `/dashboard/directory/units/${encodeURIComponent(unitId)}`;
    if (r.ok) return c.redirect(`${page}?handed=${r.changeId}&moved=${r.moved.length}&told=${r.notified.length}`, 303);
    // Another village's unit answers like one that does not exist.
    if (r.reason === "forbidden" || r.reason === "not_found") return c.text("没有这个单位，或它不在你负责的范围内。", 404);
    return c.redirect(`${page}/handover?error=${r.reason}`, 303);
  });
  return app;
}
