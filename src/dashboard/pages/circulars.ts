/**
 * /dashboard/circulars: 通知传达 — the notices a viewer may see with their 传达率, and each notice's rate per unit,
 * who has not confirmed (and whether they were reminded), and its 台账.
 */
import { Hono } from "hono";
import { LEVEL_ZH } from "../../workflows/roles.js";
import { relayRates } from "../../workflows/circulars/rates.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { imageResponse, notFoundPage, render } from "../context.js";
import { circularInScope, circularPhoto, circularPhotoIds, circularsInScope, circularTimeline, unitsInScope } from "../circulars-data.js";
import { fmt } from "../format.js";
import { h } from "../views.js";

const LIST_LIMIT = 100;
const pct = (n: number, d: number) => (d ? `${Math.round((100 * n) / d)}%` : "—");
const EVENT_ZH: Record<string, string> = {
  sent: "发出",
  confirmed: "确认传达",
  reminded: "私信提醒",
  photo: "附图已发到各群",
  photo_failed: "一张附图没能保存",
  handed_over: "交接，改由新任转告",
};

export function circularsPage({ db, now }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();

  app.get("/dashboard/circulars", async (c) => {
    const list = await circularsInScope(db, c.get("viewer").scope, LIST_LIMIT);
    return c.html(
      render(
        c,
        "通知传达",
        h`<h1>通知传达</h1><p class="muted">村、镇干部发的通知，以及你负责范围内的传达率（已确认传达的邻长 ÷ 需要传达的邻长；邻长空缺的邻由组长传达）。发出满 3 天仍未确认的，好邻私信提醒一次。</p>
        ${
          list.length === 0
            ? h`<p id="none">还没有通知。村、镇干部在群里或私聊好邻发「通知 标题」即可发出。</p>`
            : h`<table id="circulars"><thead><tr><th>通知</th><th>发出时间</th><th>标题</th><th>发出人</th><th>范围</th><th>群数</th><th>传达率</th><th>未确认</th></tr></thead><tbody>
          ${list.map(
            (x) => h`<tr><td><a href="/dashboard/circulars/${x.id}">#${x.id}</a></td><td>${fmt(x.created_at)}</td><td>${x.title}</td><td>${x.sender}</td><td>${x.unit_name}</td><td>${x.groups}</td>
              <td><strong>${pct(x.confirmed, x.total)}</strong>（${x.confirmed}/${x.total}）</td><td>${x.total - x.confirmed}</td></tr>`,
          )}</tbody></table>`
        }`,
      ),
    );
  });

  app.get("/dashboard/circulars/:id", async (c) => {
    const v = c.get("viewer");
    const x = await circularInScope(db, v.scope, Number(c.req.param("id")));
    if (!x) return notFoundPage(c, "找不到这条通知", ["/dashboard/circulars", "返回通知列表"]);
    const mine = await unitsInScope(db, v.scope);
    // The whole notice's rates, cut to the viewer's subtree; a 邻's own row only for the 邻 itself (its 邻长).
    const rates = (await relayRates(db, { id: x.id, unitId: x.unit_id })).filter(
      (r) => mine.has(r.unitId) && (r.kind !== "neighborhood" || r.unitId === v.scope.rootId),
    );
    const events = await circularTimeline(db, x.id);
    const photos = await circularPhotoIds(db, x.id);
    const reminding = x.remind_at.getTime() > now().getTime() ? `${fmt(x.remind_at)} 提醒未确认的人` : "已到提醒时间";
    return c.html(
      render(
        c,
        `通知 #${x.id}`,
        h`<h1>通知 #${x.id}：${x.title}</h1>
        <div class="card"><p style="white-space:pre-line">${x.body || "（无正文）"}</p>
          <p class="muted">${x.sender} · ${x.unit_name} · ${fmt(x.created_at)} 发往 ${x.groups} 个群${x.photos ? ` · 附图片 ${x.photos} 张` : ""} · ${reminding}</p>
          ${photos.map((p) => h`<a href="/dashboard/circulars/${x.id}/photos/${p}" target="_blank" rel="noopener"><img class="thumb" src="/dashboard/circulars/${x.id}/photos/${p}?size=thumb" alt="附图 ${p}" loading="lazy"></a> `)}</div>
        <h2>传达率</h2>
        <table id="rates"><thead><tr><th>单位</th><th>传达率</th><th>已确认 / 应确认</th><th>还没确认</th></tr></thead><tbody>
        ${rates.map(
          (r) => h`<tr><td>${"　".repeat(Math.min(r.depth, 4))}${r.name}（${LEVEL_ZH[r.kind]}）</td><td><strong>${pct(r.confirmed, r.total)}</strong></td><td>${r.confirmed} / ${r.total}</td>
            <td>${r.waiting.length ? r.waiting.map((w, i) => h`${i ? "、" : ""}${w.name}（${w.unitName}${w.remindedAt ? "，已提醒" : ""}）`) : "—"}</td></tr>`,
        )}</tbody></table>
        <h2>台账</h2><ol class="timeline" id="timeline">
        ${events.map((e) => h`<li><strong>${fmt(e.at)}</strong> ${EVENT_ZH[e.kind] ?? e.kind}${e.actor ? ` · ${e.actor}` : ""}${e.person ? ` · ${e.person}` : ""}</li>`)}</ol>
        <p><a href="/dashboard/circulars">← 返回通知列表</a></p>`,
      ),
    );
  });
  // A notice's photo, for whoever may see the notice (`?size=thumb` for the thumbnail).
  app.get("/dashboard/circulars/:id/photos/:photo", async (c) => {
    const id = Number(c.req.param("id"));
    const x = await circularInScope(db, c.get("viewer").scope, id);
    const file = x ? await circularPhoto(db, x.id, Number(c.req.param("photo")), c.req.query("size") === "thumb") : null;
    if (!file) return c.text("找不到这张图片，或它不在你负责的范围内。", 404);
    return imageResponse(c, file);
  });
  return app;
}
