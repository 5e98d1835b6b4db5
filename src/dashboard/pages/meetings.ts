/**
 * /dashboard/meetings: the 民情恳谈会 and 民情分析会 of the viewer's units (this month's groups without one), a meeting's
 * agenda, minutes, decisions and their tickets; /dashboard/good-neighbors: the 好邻 lists month by month.
 */
import { Hono } from "hono";
import { formatMeetingTime } from "../../lib/when-zh.js";
import { UnitTree } from "../../workflows/digests/index.js";
import { monthOf } from "../../workflows/digests/period.js";
import { Effects } from "../../workflows/effects.js";
import { posterOfList } from "../../workflows/good-neighbors.js";
import { meetingCounts } from "../../workflows/meetings/missing.js";
import { MEETING_ZH } from "../../workflows/meetings/texts.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { notFoundPage, render } from "../context.js";
import { fmt } from "../format.js";
import { goodNeighborHistory, listMeetings, meetingEvents, meetingInScope } from "../meetings-data.js";
import { h, statusPill } from "../views.js";

const STATUS_ZH = { scheduled: "待召开", held: "已召开", cancelled: "已取消" } as const;
const EVENT_ZH: Record<string, string> = { scheduled: "安排", rescheduled: "改期", cancelled: "取消", minutes: "纪要", decided: "议定" };

export function meetingsPage({ db, now, runtime }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();

  app.get("/dashboard/meetings", async (c) => {
    const v = c.get("viewer");
    const tree = await UnitTree.load(db);
    const root = v.scope.rootId ?? tree.towns()[0]?.id;
    const list = await listMeetings(db, v.scope, 200);
    const month = monthOf(now());
    const counts = root ? await meetingCounts(db, root, month.window) : null;
    const summary = counts?.groups
      ? h`<p id="month-talks">本月（${month.key}）民情恳谈会：${counts.groups - counts.missing.length}/${counts.groups} 个组已开或已安排，共 ${counts.talks} 次；民情分析会 ${counts.analyses} 次。${
          counts.missing.length ? h`<span class="err">未开：${counts.missing.map((g) => g.name).join("、")}</span>` : ""
        }</p>`
      : h``;
    return c.html(
      render(
        c,
        "会议",
        h`<h1>民情恳谈会 · 民情分析会</h1>${summary}
        <p class="muted">组长在组群里发「恳谈会 12月20日 19:00 村部会议室」安排，村干部在村群里发「分析会 …」；会后发「纪要 …」「议定 …」。</p>
        <table id="meetings"><thead><tr><th>时间</th><th>会议</th><th>单位</th><th>地点</th><th>召集人</th><th>状态</th><th>议定事项</th><th>工单</th></tr></thead><tbody>
        ${list.map(
          (m) => h`<tr><td><a href="/dashboard/meetings/${m.id}">${formatMeetingTime(m.startsAt)}</a></td><td>${MEETING_ZH[m.kind]}</td><td>${m.unitName}</td>
            <td>${m.place}</td><td>${m.organizer ?? ""}</td><td>${STATUS_ZH[m.status]}</td><td>${m.decisions}</td><td>${m.tickets}</td></tr>`,
        )}
        </tbody></table>${list.length ? "" : h`<p class="muted">还没有会议。</p>`}`,
      ),
    );
  });

  app.get("/dashboard/meetings/:id", async (c) => {
    const m = await meetingInScope(db, c.get("viewer").scope, Number(c.req.param("id")));
    if (!m) return notFoundPage(c, "找不到这次会议", ["/dashboard/meetings", "返回会议列表"]);
    const events = await meetingEvents(db, m.id);
    const a = m.agenda;
    const decisions = events.filter((e) => e.kind === "decided");
    return c.html(
      render(
        c,
        MEETING_ZH[m.kind],
        h`<p><a href="/dashboard/meetings">← 会议列表</a></p>
        <h1>${MEETING_ZH[m.kind]} · ${m.unitName}</h1>
        <div class="cards"><div class="card" id="meeting"><p>时间：${formatMeetingTime(m.startsAt)}<br>地点：${m.place}<br>召集人：${m.organizer ?? ""}<br>状态：${STATUS_ZH[m.status]}</p></div>
        ${
          a
            ? h`<div class="card" id="agenda"><h2>议程（通知时）</h2><ol><li>近一个月报事 ${a.created} 件，办结 ${a.resolved} 件</li>
              <li>未办结工单 ${a.openTotal} 件（超时 ${a.overdueTotal} 件）：${a.open.map((t) => h` <a href="/dashboard/tickets/${t.id}">#${t.id}</a>${t.overdue ? "（超时）" : ""}`)}</li>
              <li>反复出现的问题：${a.repeated.length ? a.repeated.map((r) => `${r.name}「${r.category}」${r.count} 次`).join("；") : "无"}</li><li>群众意见和建议</li></ol></div>`
            : ""
        }</div>
        <h2>纪要</h2><div class="card" id="minutes">${m.minutes ? m.minutes.split("\n\n").map((p) => h`<p>${p}</p>`) : h`<p class="muted">还没有纪要。</p>`}</div>
        <h2>议定事项</h2><table id="decisions"><thead><tr><th>#</th><th>议定事项</th><th>工单</th><th>记录人</th><th>时间</th></tr></thead><tbody>
        ${decisions.map(
          (e, i) => h`<tr><td>${i + 1}</td><td>${e.text ?? ""}</td><td>${
            e.ticketId ? h`<a href="/dashboard/tickets/${e.ticketId}">#${e.ticketId}</a> ${statusPill(e.ticketStatus ?? "")}` : "备案"
          }</td><td>${e.actor ?? ""}</td><td>${fmt(e.at)}</td></tr>`,
        )}</tbody></table>
        <h2>台账</h2><ol class="timeline" id="meeting-events">${events.map(
          (e) => h`<li><strong>${EVENT_ZH[e.kind] ?? e.kind}</strong> · ${fmt(e.at)} · ${e.actor ?? ""}${e.text ? h`<br>${e.text}` : ""}</li>`,
        )}</ol>`,
      ),
    );
  });

  // A list's poster, drawn again from its row (the one sent to the groups is in `media`; this needs no lookup of it).
  app.get("/dashboard/good-neighbors/:month/:village/poster.png", async (c) => {
    const lists = await goodNeighborHistory(db, c.get("viewer").scope);
    const list = lists.find((l) => l.month === c.req.param("month") && l.villageId === c.req.param("village") && l.entries.length > 0);
    if (!list) return c.text("找不到这份名单", 404);
    const png = await posterOfList({ db, now: now(), effects: new Effects(), overrides: runtime.pipeline.overrides }, list);
    return c.body(new Uint8Array(png), 200, { "content-type": "image/png", "cache-control": "private, max-age=3600" });
  });

  app.get("/dashboard/good-neighbors", async (c) => {
    const lists = await goodNeighborHistory(db, c.get("viewer").scope);
    const people = new Set(lists.flatMap((l) => l.entries.map((e) => e.personId)));
    const times = lists.reduce((n, l) => n + l.entries.length, 0);
    const frac = (n: number, d: number | null) => (d ? `${n}/${d}` : "—");
    return c.html(
      render(
        c,
        "好邻",
        h`<h1>好邻标兵</h1>
        <p id="good-total">累计表彰 ${people.size} 人（${times} 人次）。每月履职评议日（默认 28 日）按综合分评出，每村最多 3 人（并列可多），综合分不低于 80 分。</p>
        ${lists.map(
          (l) => h`<h2>${l.month} · ${l.villageName}</h2>${
            l.entries.length
              ? h`<table class="good-neighbors" data-month="${l.month}"><thead><tr><th>名次</th><th>邻长</th><th>邻</th><th>综合分</th><th>按时答复</th><th>满意</th><th>走访按时</th><th>工单</th></tr></thead><tbody>${l.entries.map(
                  (e, i) =>
                    h`<tr><td>${i + 1}</td><td>${e.name}</td><td>${e.unitName}</td><td><strong>${e.score}</strong></td><td>${frac(e.answeredInTime, e.answerDecided)}</td><td>${frac(e.satisfied, e.rated)}</td><td>${frac(e.visited ?? 0, e.visitsDue)}</td><td>${e.tickets}</td></tr>`,
                )}</tbody></table>
                <p><a href="/dashboard/good-neighbors/${l.month}/${l.villageId}/poster.png"><img class="thumb" loading="lazy" alt="${l.villageName} ${l.month} 好邻海报" src="/dashboard/good-neighbors/${l.month}/${l.villageId}/poster.png"></a></p>`
              : h`<p class="muted">本月没有达到 80 分的邻长。</p>`
          }`,
        )}${lists.length ? "" : h`<p class="muted">还没有评出好邻（每月评议日自动生成）。</p>`}`,
      ),
    );
  });
  return app;
}
