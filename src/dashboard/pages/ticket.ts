/** /dashboard/tickets/:id: one ticket and its whole 台账 (timeline with photos and places). */
import { Hono } from "hono";
import type { UnitKind } from "../../db/schema/index.js";
import { LEVEL_ZH } from "../../workflows/roles.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { notFoundPage, render } from "../context.js";
import { type EventRow, ticketInScope, timeline } from "../data.js";
import { EVENT_ZH, fmt } from "../format.js";
import { h, statusPill } from "../views.js";

/** A timeline line's name: a voice report, a result photo, a photo that could not be kept. */
function eventTitle(e: EventRow): string {
  if (e.kind === "opened" && e.data?.voice) return "报事（语音）";
  // 代报: the actor is the relaying leader (经办人); the card above names the 诉求户.
  if (e.kind === "opened" && e.data?.onBehalf) return "代报（经办人登记）";
  if (e.kind === "photo") return e.data?.role === "result" ? "办结照片" : "照片";
  return EVENT_ZH[e.kind] ?? e.kind;
}

/** A photo's thumbnail (the full image on click) or a place, under its timeline line. */
function eventExtra(e: EventRow) {
  const id = Number(e.data?.mediaId);
  if (e.kind === "photo" && Number.isSafeInteger(id))
    return h`<br><a href="/dashboard/media/${id}" target="_blank" rel="noopener"><img class="thumb" src="/dashboard/media/${id}?size=thumb" alt="照片 ${id}" loading="lazy"></a>`;
  if (e.kind === "located" && e.data) {
    const { latitude, longitude, name } = e.data as { latitude?: number; longitude?: number; name?: string };
    return h`<br><span class="muted">${name || "（未命名地点）"} · ${Number(latitude).toFixed(5)}, ${Number(longitude).toFixed(5)}</span>`;
  }
  return "";
}

/**
 * The ticket's place (its latest shared location), under the card: the name, the coordinates and a map link. A place
 * is a resident's address: it is shown here, to those whose scope covers the ticket, and nowhere in a chat.
 */
function placeLine(events: EventRow[]) {
  const e = events.filter((x) => x.kind === "located" && x.data).at(-1);
  if (!e) return "";
  const { latitude, longitude, name } = e.data as { latitude?: number; longitude?: number; name?: string };
  const lat = Number(latitude).toFixed(5);
  const lon = Number(longitude).toFixed(5);
  return h`<p class="muted" id="place">位置：${name || "（未命名地点）"}（${lat}, ${lon}）· <a href="https://uri.amap.com/marker?position=${lon},${lat}" target="_blank" rel="noopener noreferrer">在地图上看</a></p>`;
}

export function ticketPage({ db }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.get("/dashboard/tickets/:id", async (c) => {
    const v = c.get("viewer");
    const t = await ticketInScope(db, v.scope, Number(c.req.param("id")));
    if (!t) return notFoundPage(c, "找不到这个工单", ["/dashboard/tickets", "返回台账"]);
    const events = await timeline(db, t.id);
    return c.html(
      render(
        c,
        `工单 #${t.id}`,
        h`<h1>工单 #${t.id} ${statusPill(t.status)}</h1>
        <div class="card"><p>${t.text}</p>
          <p class="muted">${t.category} · 来源 ${t.unit_name} · 现在 ${LEVEL_ZH[t.level]}级（${t.holder_name}）· 负责人 ${t.assignee ?? "—"}</p>
          <p class="muted" id="whose">诉求户 ${t.household ?? "—"} · 诉求人 ${t.requester ?? "群成员"} · 经办人 ${t.relayed_by ?? "（本人报事）"}</p>${placeLine(events)}</div>
        <h2>全程记录</h2><ol class="timeline" id="timeline">
        ${events.map(
          (e) => h`<li><strong>${fmt(e.at)}</strong> ${eventTitle(e)}${e.kind === "escalated" && e.level ? `到${LEVEL_ZH[e.level as UnitKind] ?? e.level}级` : ""}
            ${e.actor ? `· ${e.actor}` : e.kind === "escalated" || e.kind === "repinged" ? "· 系统（超时）" : ""}${e.text ? h`<br><span class="muted">${e.text}</span>` : ""}${eventExtra(e)}</li>`,
        )}</ol>
        <p><a href="/dashboard/tickets">← 返回台账</a></p>`,
      ),
    );
  });
  return app;
}
