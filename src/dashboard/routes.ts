/**
 * The leaders' dashboard (/dashboard): sign-in with the admin token or a leader's signed login link, then tickets
 * (filters, timeline), charts, scorecards and the 台账 export (CSV, XLSX). A leader sees their own unit's subtree;
 * the admin sees everything. Sessions are HMAC-signed cookies (HttpOnly, SameSite=Strict).
 */
import { PassThrough, Readable } from "node:stream";
import { eq, inArray, sql } from "drizzle-orm";
import { type Context, Hono, type Next } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { people, type TicketStatus, ticketStatuses, type UnitKind, unitKinds, type VisitChannel } from "../db/schema/index.js";
import type { Runtime } from "../runtime.js";
import { coverageByUnit } from "../workflows/digests/coverage.js";
import { UnitTree } from "../workflows/digests/index.js";
import { scorecardLine } from "../workflows/digests/format.js";
import { SCORE_WEIGHTS, scorecards } from "../workflows/digests/monthly.js";
import { isoWeek, localDate, monthlySlot } from "../workflows/digests/period.js";
import { LEVEL_ZH, ROLE_ZH } from "../workflows/roles.js";
import { getPerson } from "../workflows/directory.js";
import { resolveUnmatchedVisit } from "../workflows/visits/log.js";
import { CHANNEL_ZH, householdLabel } from "../workflows/visits/notices.js";
import { formatDurationZh } from "../lib/duration.js";
import { errInfo } from "../lib/errors.js";
import { ADMIN, LINK_TTL_MS, SESSION_TTL_MS, Signer, tokenMatches } from "./auth.js";
import { clientAddress, LoginLimiter, type LoginLimits } from "./login-limit.js";
import { COOKIE, overHttps, type Viewer, viewerOf } from "./session.js";
import {
  answerDistribution,
  categoryOptions,
  childUnits,
  exportEventPage,
  householdsUnder,
  exportTicketPage,
  funnel,
  listTickets,
  type TicketFilter,
  type EventRow,
  type TicketRow,
  mediaFile,
  ticketInScope,
  timeline,
  unitOptions,
  unmatchedVisits,
  weeklyVolume,
} from "./data.js";
import { STATUS_ZH } from "../workflows/roles.js";
import { barChart, h, hBars, page, raw, statusPill } from "./views.js";

export type DashboardOptions = {
  adminToken?: string;
  sessionSecret?: string;
  /** How long a leader's login link is valid (LOGIN_LINK_TTL; default LINK_TTL_MS). */
  linkTtlMs?: number;
  /** Behind a TLS-terminating proxy (TRUST_PROXY): its X-Forwarded-Proto and X-Forwarded-For are believed. */
  trustProxy?: boolean;
  /** The sign-in limits (tests set their own). */
  loginLimits?: LoginLimits;
};

type Env = { Variables: { viewer: Viewer } };
const PAGE_SIZE = 50;
const EXPORT_LIMIT = 100_000;
const UNMATCHED_LIMIT = 200;
const RESOLVE_ERROR: Record<string, string> = {
  not_found: "没找到这条走访或这户，请刷新后再试。",
  forbidden: "这条走访或这户不在你负责的范围内。",
  not_unmatched: "这条走访已经核对过了。",
};
/** Tickets per page of an export, and tickets whose events are read at once. */
const EXPORT_PAGE = 250;

const dateTime = new Intl.DateTimeFormat("sv-SE", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
});
export const fmt = (d: Date | null) => (d ? dateTime.format(d) : "");

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

const EVENT_ZH: Record<string, string> = {
  opened: "报事",
  claimed: "认领",
  replied: "回复",
  resolved: "办结",
  rated: "评价满意",
  reopened: "不满意，重新打开",
  escalated: "上报",
  repinged: "再次提醒",
  photo: "照片",
  photo_failed: "照片未能保存",
  located: "位置",
};

/** "2026-03-05" → local midnight; anything else → undefined. */
function parseDay(v: string | undefined): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v ?? "");
  return m ? localDate(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
}

/** "2026-03" → its first day; absent → undefined; anything else (9999-99, 2026-13) → null, answered with 400. */
function parseMonth(v: string | undefined): Date | undefined | null {
  if (!v) return undefined;
  const m = /^(\d{4})-(\d{2})$/.exec(v);
  const [y, mo] = [Number(m?.[1]), Number(m?.[2])];
  return m && y >= 2000 && y <= 2100 && mo >= 1 && mo <= 12 ? localDate(y, mo, 1) : null;
}

function parseFilter(q: Record<string, string>): TicketFilter {
  const to = parseDay(q.to);
  return {
    status: (ticketStatuses as readonly string[]).includes(q.status ?? "") ? (q.status as TicketStatus) : undefined,
    level: (unitKinds as readonly string[]).includes(q.level ?? "") ? (q.level as UnitKind) : undefined,
    unitId: q.unit && q.unit.length <= 100 ? q.unit : undefined,
    category: q.category && q.category.length <= 50 ? q.category : undefined,
    from: parseDay(q.from),
    to: to ? new Date(to.getTime() + 86_400_000) : undefined, // the "to" day is included
  };
}

/** The export's columns; `base` (the dashboard's origin) makes the photo links absolute. */
const exportColumns = (base: string): [string, (t: TicketRow) => string | number][] => [
  ["工单号", (t) => t.id],
  ["报事时间", (t) => fmt(t.created_at)],
  ["类别", (t) => t.category],
  ["紧急", (t) => (t.urgency === "urgent" ? "是" : "")],
  ["状态", (t) => STATUS_ZH[t.status as TicketStatus] ?? t.status],
  ["层级", (t) => LEVEL_ZH[t.level] ?? t.level],
  ["来源单位", (t) => t.unit_name],
  ["责任单位", (t) => t.holder_name],
  ["负责人", (t) => t.assignee ?? ""],
  ["诉求户", (t) => t.household ?? ""],
  ["诉求人", (t) => t.requester ?? ""],
  ["经办人", (t) => t.relayed_by ?? ""],
  ["首次答复", (t) => fmt(t.first_answered_at)],
  ["办结", (t) => fmt(t.resolved_at)],
  ["关闭", (t) => fmt(t.closed_at)],
  ["评价", (t) => (t.rating === "satisfied" ? "满意" : t.rating === "unsatisfied" ? "不满意" : "")],
  ["重开次数", (t) => t.reopen_count],
  ["上报次数", (t) => t.escalation_count],
  ["事项", (t) => t.text],
  ["照片数", (t) => t.photo_ids.length],
  ["照片链接", (t) => t.photo_ids.map((id) => `${base}/dashboard/media/${id}`).join(" ")],
];

/** CSV cell: quoted, and a leading = + - @ neutralised so a spreadsheet never runs it as a formula. */
const csvCell = (v: string | number) => {
  const s = typeof v === "number" ? String(v) : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return `"${s.replaceAll('"', '""')}"`;
};

export function dashboardRoutes(runtime: Runtime, opts: DashboardOptions): Hono<Env> {
  const app = new Hono<Env>();
  const db = runtime.pipeline.db;
  const signer = new Signer(opts.sessionSecret, opts.adminToken);
  const now = () => runtime.clock();

  const linkTtlMs = opts.linkTtlMs ?? LINK_TTL_MS;
  const trustProxy = opts.trustProxy ?? false;
  const limiter = new LoginLimiter(opts.loginLimits);
  // Path "/": the simulator, when it sits behind the admin sign-in, reads the same session.
  const startSession = (c: Context, sub: string, v?: number) => {
    setCookie(c, COOKIE, signer.sign("session", { sub, exp: now().getTime() + SESSION_TTL_MS, ...(v === undefined ? {} : { v }) }), {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: overHttps(c, trustProxy),
      maxAge: SESSION_TTL_MS / 1000,
    });
  };

  const loginPage = (error?: string) =>
    page(
      "登录",
      h`<div class="login card"><h1>好邻看板 · 登录</h1>
        ${error ? h`<p class="err">${error}</p>` : ""}
        <form method="post" action="/dashboard/login">
          <label>管理员口令<br><input type="password" name="token" autocomplete="current-password" required style="width:100%"></label>
          <p><button class="primary" type="submit">登录</button></p>
        </form>
        <p class="muted">村、组负责人请使用管理员发给你的个人登录链接（${formatDurationZh(linkTtlMs)}内有效）。</p></div>`,
      null,
    );

  app.get("/dashboard/login", (c) => c.html(loginPage()));

  app.post("/dashboard/login", async (c) => {
    const refusal = limiter.check(clientAddress(c, trustProxy), now().getTime());
    if (refusal) {
      c.header("retry-after", String(Math.ceil(refusal.retryAfterMs / 1000)));
      return c.html(loginPage(refusal.text), 429);
    }
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token : "";
    if (!tokenMatches(token, opts.adminToken)) return c.html(loginPage("口令不正确。"), 401);
    startSession(c, ADMIN);
    return c.redirect("/dashboard", 303);
  });

  app.get("/dashboard/login/link", async (c) => {
    const link = signer.verify("link", c.req.query("k"), now().getTime());
    if (!link) return c.html(loginPage("登录链接无效或已过期，请向管理员重新索取。"), 401);
    // A link made before the person's links were revoked is refused like an expired one.
    const [p] = await db.select({ v: people.linkVersion }).from(people).where(eq(people.id, link.sub));
    if (!p || p.v !== (link.v ?? 0)) return c.html(loginPage("登录链接无效或已过期，请向管理员重新索取。"), 401);
    startSession(c, link.sub, p.v);
    return c.redirect("/dashboard", 303);
  });

  app.post("/dashboard/logout", (c) => {
    deleteCookie(c, COOKIE, { path: "/" });
    return c.redirect("/dashboard/login", 303);
  });

  // Everything below needs a session (the routes above answered already).
  const auth = async (c: Context<Env>, next: Next) => {
    const viewer = await viewerOf(db, signer, c, now().getTime());
    if (!viewer) {
      if (c.req.method === "GET" && !c.req.path.startsWith("/dashboard/export")) return c.redirect("/dashboard/login", 303);
      return c.text("请先登录", 401);
    }
    c.set("viewer", viewer);
    await next();
  };
  app.use("/dashboard", auth);
  app.use("/dashboard/*", auth);

  const render = (c: { get: (k: "viewer") => Viewer }, title: string, body: ReturnType<typeof h>) => page(title, body, c.get("viewer").name);

  app.get("/dashboard", async (c) => {
    const v = c.get("viewer");
    const at = now();
    const week0 = isoWeek(new Date(at.getTime() - 11 * 7 * 86_400_000)).start;
    const since = new Date(at.getTime() - 28 * 86_400_000);
    const [volume, answers, fun, children] = await Promise.all([
      weeklyVolume(db, v.scope, week0),
      answerDistribution(db, v.scope, since),
      funnel(db, v.scope, since),
      childUnits(db, v.scope),
    ]);
    const weeks = Array.from({ length: 12 }, (_, i) => new Date(week0.getTime() + i * 7 * 86_400_000));
    const volBars = weeks.map((w) => {
      const n = volume.find((x) => Math.abs(x.week.getTime() - w.getTime()) < 3_600_000)?.n ?? 0;
      return { label: isoWeek(w).key.slice(5), n };
    });
    const coverage = await coverageByUnit(
      db,
      children.map((u) => u.id),
      at,
    );
    const total = fun[0]?.n ?? 0;
    const covRows = children
      .filter((u) => coverage.has(u.id))
      .map((u) => {
        const cv = coverage.get(u.id)?.all ?? { visited: 0, due: 0 };
        return { label: u.name, value: cv.visited, of: cv.due, text: `${cv.due ? Math.round((100 * cv.visited) / cv.due) : 0}%（${cv.visited}/${cv.due}）` };
      });
    return c.html(
      render(
        c,
        "概览",
        h`<h1>概览</h1><div class="cards">
          <div class="card" id="chart-volume"><h2>每周工单量（近 12 周）</h2>${barChart(volBars, { title: "每周工单量" })}</div>
          <div class="card" id="chart-answer"><h2>首次答复用时（近 28 天）</h2>${barChart(
            answers.map((a) => ({ label: a.label, n: a.n, color: a.late ? "#d97706" : "#3f9f7a" })),
            { title: "首次答复用时分布", marker: { after: 3, label: "4 小时" } },
          )}</div>
          <div class="card" id="chart-funnel"><h2>上报漏斗 邻→组→村→镇（近 28 天）</h2>${hBars(
            fun.map((f) => ({ label: `到${LEVEL_ZH[f.level]}级`, value: f.n, text: `${f.n}${total ? `（${Math.round((100 * f.n) / total)}%）` : ""}` })),
            "上报漏斗",
          )}</div>
          <div class="card" id="chart-coverage"><h2>走访覆盖（按单位）</h2>${
            covRows.length ? hBars(covRows, "走访覆盖") : h`<p class="muted">暂无走访数据。</p>`
          }</div>
        </div>
        <p><a class="button" href="/dashboard/tickets">查看工单台账</a> <a class="button" href="/dashboard/scorecards">邻长履职评议</a>
        ${v.admin ? h`<a class="button" href="/dashboard/links">负责人登录链接</a>` : ""}</p>`,
      ),
    );
  });

  app.get("/dashboard/tickets", async (c) => {
    const v = c.get("viewer");
    const q = c.req.query();
    const f = parseFilter(q);
    const pageNo = Math.max(1, Math.min(10_000, Number(q.page) || 1));
    const [list, unitsList, cats] = await Promise.all([
      listTickets(db, v.scope, f, PAGE_SIZE, (pageNo - 1) * PAGE_SIZE),
      unitOptions(db, v.scope),
      categoryOptions(db, v.scope),
    ]);
    const keep = new URLSearchParams(Object.entries(q).filter(([k, val]) => k !== "page" && val));
    const opt = (value: string, label: string, cur: string | undefined) => h`<option value="${value}"${raw(cur === value ? " selected" : "")}>${label}</option>`;
    const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE));
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
        <table id="tickets"><thead><tr><th>单号</th><th>报事时间</th><th>类别</th><th>状态</th><th>层级</th><th>来源</th><th>责任单位</th><th>负责人</th><th>诉求户</th><th>经办人</th><th>首次答复</th><th>评价</th></tr></thead><tbody>
        ${list.rows.map(
          (t) => h`<tr><td><a href="/dashboard/tickets/${t.id}">#${t.id}</a></td><td>${fmt(t.created_at)}</td><td>${t.category}${t.urgency === "urgent" ? " 🚨" : ""}</td>
            <td>${statusPill(t.status)}</td><td>${LEVEL_ZH[t.level]}</td><td>${t.unit_name}</td><td>${t.holder_name}</td><td>${t.assignee ?? ""}</td><td>${t.household ?? ""}</td><td>${t.relayed_by ?? ""}</td>
            <td>${t.first_answered_at ? formatDurationZh(t.first_answered_at.getTime() - t.created_at.getTime()) : "—"}</td>
            <td>${t.rating === "satisfied" ? "满意" : t.rating === "unsatisfied" ? "不满意" : ""}</td></tr>`,
        )}
        </tbody></table>
        <p>${pageNo > 1 ? h`<a href="?${keep.toString()}&page=${pageNo - 1}">上一页</a> ` : ""}${pageNo < pages ? h`<a href="?${keep.toString()}&page=${pageNo + 1}">下一页</a>` : ""}</p>`,
      ),
    );
  });

  app.get("/dashboard/tickets/:id", async (c) => {
    const v = c.get("viewer");
    const t = await ticketInScope(db, v.scope, Number(c.req.param("id")));
    if (!t) return c.html(render(c, "找不到工单", h`<h1>找不到这个工单</h1><p>它不存在，或不在你负责的范围内。</p>`), 404);
    const events = await timeline(db, t.id);
    return c.html(
      render(
        c,
        `工单 #${t.id}`,
        h`<h1>工单 #${t.id} ${statusPill(t.status)}</h1>
        <div class="card"><p>${t.text}</p>
          <p class="muted">${t.category} · 来源 ${t.unit_name} · 现在 ${LEVEL_ZH[t.level]}级（${t.holder_name}）· 负责人 ${t.assignee ?? "—"}</p>
          <p class="muted" id="whose">诉求户 ${t.household ?? "—"} · 诉求人 ${t.requester ?? "群成员"} · 经办人 ${t.relayed_by ?? "（本人报事）"}</p></div>
        <h2>全程记录</h2><ol class="timeline" id="timeline">
        ${events.map(
          (e) => h`<li><strong>${fmt(e.at)}</strong> ${eventTitle(e)}${e.kind === "escalated" && e.level ? `到${LEVEL_ZH[e.level as UnitKind] ?? e.level}级` : ""}
            ${e.actor ? `· ${e.actor}` : e.kind === "escalated" || e.kind === "repinged" ? "· 系统（超时）" : ""}${e.text ? h`<br><span class="muted">${e.text}</span>` : ""}${eventExtra(e)}</li>`,
        )}</ol>
        <p><a href="/dashboard/tickets">← 返回台账</a></p>`,
      ),
    );
  });

  // A ticket's photo: only for a viewer whose scope covers the ticket (the same check as its page). `?size=thumb` for
  // the thumbnail. The bytes are our own re-encoding (no metadata), served as the type they were checked to be.
  app.get("/dashboard/media/:id", async (c) => {
    const v = c.get("viewer");
    const file = await mediaFile(db, Number(c.req.param("id")), c.req.query("size") === "thumb");
    if (!file || !(await ticketInScope(db, v.scope, file.ticketId))) return c.text("找不到这张照片，或它不在你负责的范围内。", 404);
    return c.body(new Uint8Array(file.data), 200, {
      "content-type": file.mime,
      "content-disposition": "inline",
      "cache-control": "private, max-age=3600",
      "x-content-type-options": "nosniff",
    });
  });

  app.get("/dashboard/scorecards", async (c) => {
    const v = c.get("viewer");
    const tree = await UnitTree.load(db);
    const root = v.scope.rootId ?? tree.towns()[0]?.id;
    if (!root) return c.html(render(c, "履职评议", h`<h1>履职评议</h1><p>还没有名册。</p>`));
    const policy = tree.policy(root, runtime.pipeline.overrides);
    const month = parseMonth(c.req.query("month"));
    if (month === null) return c.html(render(c, "履职评议", h`<h1>履职评议</h1><p class="err">月份无效，请按“2026-03”的格式选择月份。</p>`), 400);
    const anchor = month ?? now();
    const slot = monthlySlot(anchor, policy.digest.monthDay, policy.digest.minutes);
    const asOf = slot.window.to.getTime() < now().getTime() ? slot.window.to : now();
    const cards = await scorecards(db, root, { window: slot.window, asOf, answerMs: policy.answerMs });
    const ratio = (n: number, d: number) => (d ? `${Math.round((100 * n) / d)}%` : "—");
    return c.html(
      render(
        c,
        "履职评议",
        h`<h1>邻长履职评议 · ${tree.name(root)}</h1>
        <form class="filters" method="get"><label>月份<input type="month" name="month" value="${slot.month}"></label><button class="primary">查看</button>
          <span class="muted">统计期：${fmt(slot.window.from).slice(0, 10)} 至 ${fmt(new Date(slot.window.to.getTime() - 1)).slice(0, 10)}（每月 ${policy.digest.monthDay} 日集中走访日为界）</span></form>
        <table id="scorecards"><thead><tr><th>邻长</th><th>邻</th><th>综合分</th><th>走访按时</th><th>首次答复中位</th><th>${formatDurationZh(policy.answerMs)}内答复</th><th>本级解决</th><th>满意</th><th>重开</th><th>工单</th></tr></thead><tbody>
        ${[...cards]
          .sort((a, b) => (b.score ?? -1) - (a.score ?? -1))
          .map(
            (s) => h`<tr title="${scorecardLine(s, policy.answerMs)}"><td>${s.name}</td><td>${s.unitName}</td><td><strong>${s.score ?? "—"}</strong></td>
              <td>${s.visits ? ratio(s.visits.visited, s.visits.due) : "—"}</td><td>${s.medianFirstAnswerMs === null ? "—" : formatDurationZh(s.medianFirstAnswerMs)}</td>
              <td>${ratio(s.answeredInTime, s.answerDecided)}</td><td>${ratio(s.ownLevel, s.tickets)}</td><td>${ratio(s.satisfied, s.rated)}</td><td>${s.reopened}</td><td>${s.tickets}</td></tr>`,
          )}
        </tbody></table>
        <h2>评分公式</h2><div class="formula" id="formula">
          <p>综合分 = round(100 × (${SCORE_WEIGHTS.answer}×答复率 + ${SCORE_WEIGHTS.ownLevel}×本级解决率 + ${SCORE_WEIGHTS.satisfaction}×满意率 + ${SCORE_WEIGHTS.visits}×走访按时率) ÷ 有数据各项权重之和) − ${SCORE_WEIGHTS.reopenPenalty}×重开次数，最低 0 分。</p>
          <ul><li>答复率：本邻统计期内新增工单中，在答复时限（${formatDurationZh(policy.answerMs)}）内首次答复（认领、回复或办结）的比例（时限未到且未答复的不计入）。</li>
          <li>本级解决率（微事不出邻）：本邻新增工单中，未上报、在邻级办结的比例。</li>
          <li>满意率：统计期内报事人评价中“满意”的比例。</li>
          <li>走访按时率：本邻应走访户中按期走访的比例（来自走访登记）。</li>
          <li>首次答复中位时长只展示、不计分；某项没有数据时不计入，权重按其余各项重新分配。</li></ul></div>`,
      ),
    );
  });

  // Visits whose household was not found when logged: matched here by hand, so they count for coverage and scores.
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

  app.get("/dashboard/links", async (c) => {
    const v = c.get("viewer");
    if (!v.admin) return c.text("只有管理员可以查看", 403);
    const leaders = await db
      .select()
      .from(people)
      .where(inArray(people.role, ["neighbor_leader", "group_leader", "area_leader", "village_official", "town_official"]))
      .orderBy(people.unitId, people.id);
    const exp = now().getTime() + linkTtlMs;
    const base = new URL(c.req.url).origin;
    return c.html(
      render(
        c,
        "负责人登录链接",
        h`<h1>负责人登录链接</h1><p class="muted">每个链接${formatDurationZh(linkTtlMs)}内有效，只能看到本人所在单位及下级。请私下发给本人。链接发错了人或外泄时，点“作废”：此人已发出的链接和已登录的会话立即失效。</p>
        ${c.req.query("revoked") ? h`<p class="note" id="flash">已作废该负责人之前的全部登录链接。</p>` : ""}
        <table id="links"><thead><tr><th>姓名</th><th>角色</th><th>登录链接</th><th></th></tr></thead><tbody>
        ${leaders.map((p) => {
          const url = `${base}/dashboard/login/link?k=${signer.sign("link", { sub: p.id, exp, v: p.linkVersion })}`;
          return h`<tr><td>${p.name}</td><td>${ROLE_ZH[p.role]}</td><td><input readonly value="${url}" style="width:100%" data-person="${p.id}"></td>
            <td><form method="post" action="/dashboard/links/${p.id}/revoke"><button type="submit">作废</button></form></td></tr>`;
        })}</tbody></table>`,
      ),
    );
  });

  // Revoking a leader's links: their link version goes up, so every link and session carrying the old one is refused.
  app.post("/dashboard/links/:id/revoke", async (c) => {
    if (!c.get("viewer").admin) return c.text("只有管理员可以作废登录链接", 403);
    const id = c.req.param("id");
    const done = await db
      .update(people)
      .set({ linkVersion: sql`${people.linkVersion} + 1` })
      .where(eq(people.id, id))
      .returning({ id: people.id });
    if (done.length === 0) return c.text("没有这个人", 404);
    runtime.opts.logger.info({ personId: id }, "dashboard login links revoked");
    return c.redirect(`/dashboard/links?revoked=${encodeURIComponent(id)}`, 303);
  });

  /** The tickets of an export, newest first, a page at a time (at most EXPORT_LIMIT): nothing holds them all. */
  async function* exportPages(v: Viewer, f: TicketFilter): AsyncGenerator<TicketRow[]> {
    let before: number | null = null;
    for (let n = 0; n < EXPORT_LIMIT; ) {
      const rows = await exportTicketPage(db, v.scope, f, before, Math.min(EXPORT_PAGE, EXPORT_LIMIT - n));
      if (rows.length === 0) return;
      yield rows;
      n += rows.length;
      before = (rows.at(-1) as TicketRow).id;
    }
  }
  /**
   * Logged through the logger (no query parameters: they are ticket text and phones), and the stream is failed with
   * a plain error of our own: the HTTP server prints whatever error a response stream fails with to stderr.
   */
  const exportFailed = (err: unknown) => {
    runtime.opts.logger.error(errInfo(err), "export failed part-way; the download is cut short");
    return new Error("export failed part-way");
  };
  const filename = (f: TicketFilter, ext: string) =>
    `taizhang-${f.from ? fmt(f.from).slice(0, 10) : "all"}-${f.to ? fmt(new Date(f.to.getTime() - 1)).slice(0, 10) : fmt(now()).slice(0, 10)}.${ext}`;

  app.get("/dashboard/export.csv", (c) => {
    const f = parseFilter(c.req.query());
    const pages = exportPages(c.get("viewer"), f);
    const EXPORT_COLUMNS = exportColumns(new URL(c.req.url).origin);
    const utf8 = new TextEncoder();
    const line = (cells: (string | number)[]) => `${cells.map(csvCell).join(",")}\r\n`;
    const body = new ReadableStream<Uint8Array>({
      start: (out) => out.enqueue(utf8.encode(`\uFEFF${line(EXPORT_COLUMNS.map(([k]) => k))}`)),
      pull: async (out) => {
        try {
          const next = await pages.next();
          if (next.done) return out.close();
          out.enqueue(utf8.encode(next.value.map((t) => line(EXPORT_COLUMNS.map(([, get]) => get(t)))).join("")));
        } catch (err) {
          out.error(exportFailed(err));
        }
      },
      cancel: async () => void (await pages.return(undefined)),
    });
    return c.body(body, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${filename(f, "csv")}"`,
    });
  });

  app.get("/dashboard/export.xlsx", async (c) => {
    const v = c.get("viewer");
    const f = parseFilter(c.req.query());
    const EXPORT_COLUMNS = exportColumns(new URL(c.req.url).origin);
    // Loaded on the first export: the library costs ~30 MB of memory that most processes never need.
    const { default: ExcelJS } = await import("exceljs");
    // The streaming writer: rows are zipped out as they are committed, never kept as a workbook in memory.
    const out = new PassThrough();
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
    wb.creator = "好邻 Haolin";
    const write = async () => {
      const sheet = wb.addWorksheet("工单台账");
      sheet.columns = EXPORT_COLUMNS.map(([header]) => ({ header, width: header === "事项" ? 50 : 16 }));
      sheet.getRow(1).font = { bold: true };
      const ids: number[] = [];
      for await (const rows of exportPages(v, f)) {
        for (const t of rows) {
          sheet.addRow(EXPORT_COLUMNS.map(([, get]) => get(t))).commit();
          ids.push(t.id);
        }
      }
      sheet.commit();
      const ev = wb.addWorksheet("事件记录");
      ev.columns = ["工单号", "时间", "事件", "层级", "操作人", "说明"].map((header) => ({ header, width: header === "说明" ? 50 : 16 }));
      ev.getRow(1).font = { bold: true };
      ids.sort((a, b) => a - b);
      let left = EXPORT_LIMIT * 5;
      for (let i = 0; i < ids.length && left > 0; i += EXPORT_PAGE) {
        for (const e of (await exportEventPage(db, ids.slice(i, i + EXPORT_PAGE))).slice(0, left)) {
          ev.addRow([
            Number(e.ticket_id),
            fmt(new Date(e.at as string)),
            EVENT_ZH[String(e.kind)] ?? e.kind,
            e.level ? (LEVEL_ZH[e.level as UnitKind] ?? e.level) : "",
            (e.actor as string) ?? "",
            (e.text as string) ?? "",
          ]).commit();
          left -= 1;
        }
      }
      ev.commit();
      await wb.commit();
    };
    write().catch((err: unknown) => {
      out.destroy(exportFailed(err));
    });
    return c.body(Readable.toWeb(out) as ReadableStream<Uint8Array>, 200, {
      "content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "content-disposition": `attachment; filename="${filename(f, "xlsx")}"`,
    });
  });

  return app;
}
