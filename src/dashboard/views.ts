/** Server-rendered HTML for the dashboard: one inline stylesheet, inline SVG charts (charts.ts), no external URL of any kind. */
import type { TicketStatus } from "../db/schema/index.js";
import { STATUS_ZH } from "../workflows/roles.js";

export const esc = (v: unknown): string =>
  String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);

/** A tagged template whose ${} values are escaped unless wrapped in raw(). */
export class Raw {
  constructor(readonly html: string) {}
}
export const raw = (html: string) => new Raw(html);
export function h(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    const piece = Array.isArray(v) ? v.map((x) => (x instanceof Raw ? x.html : esc(x))).join("") : v instanceof Raw ? v.html : esc(v);
    out += piece + (strings[i + 1] ?? "");
  });
  return new Raw(out);
}

const CSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#1f2933;background:#f5f7fa}
header{background:#1f6f50;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;opacity:.9}header a:hover{opacity:1;text-decoration:underline}
header .who{margin-left:auto;opacity:.85}header form{margin:0}header button{background:none;border:1px solid #fff8;color:#fff;border-radius:4px;cursor:pointer}
main{padding:16px 20px;max-width:1200px;margin:auto}h1{font-size:20px;margin:4px 0 14px}h2{font-size:16px;margin:18px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:14px}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px 14px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid #e4e7eb;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f0f4f8;font-weight:600;white-space:nowrap}tr:hover td{background:#fafcfe}
form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:10px;margin-bottom:12px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#52606d}
input,select,button{font:inherit;padding:4px 6px}a.button{display:inline-block;margin:2px 0}button.primary,a.button{background:#1f6f50;color:#fff;border:0;border-radius:4px;padding:6px 12px;text-decoration:none;cursor:pointer}
.muted{color:#7b8794}.note{color:#1f6f50}form.resolve{display:flex;gap:6px;margin:0}.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;background:#e4e7eb}
.m-mediating{background:#fef3c7}.m-settled{background:#d1fae5}.m-failed{background:#fde8e8}.s-open{background:#fde8e8}.s-answered{background:#fef3c7}.s-resolved{background:#dbeafe}.s-closed{background:#d1fae5}
ol.timeline{list-style:none;padding:0;border-left:3px solid #1f6f50;margin-left:8px}ol.timeline li{margin:0 0 12px 14px;position:relative}
ol.timeline li:before{content:"";position:absolute;left:-22px;top:6px;width:11px;height:11px;border-radius:50%;background:#1f6f50}
h2.section{font-size:15px;color:#52606d;margin:18px 0 8px}.todo ul{list-style:none;padding:0;margin:0}.todo li{padding:6px 0;border-bottom:1px solid #f0f4f8}
.todo .count{font-size:22px;color:#b42318}.late{color:#b42318;font-weight:600}.scroll{overflow-x:auto}th a{color:inherit;text-decoration:none}th a.on{color:#1f6f50}
td.num,th.num{text-align:right;white-space:nowrap}#units td:first-child{white-space:nowrap}tr.bad td{background:#fff5f5}
header nav{display:flex;flex-wrap:wrap;gap:4px 18px}header nav a[aria-current=page]{opacity:1;font-weight:600;text-decoration:underline;text-underline-offset:5px}
@media (max-width:600px){body{font-size:15px}main{padding:10px}header{padding:8px 12px;gap:8px 10px}.cards{grid-template-columns:1fr}
  header nav{order:3;flex-basis:100%;display:grid;grid-template-columns:repeat(5,1fr);gap:4px}
  header nav a{text-align:center;white-space:nowrap;padding:7px 0;border-radius:6px;background:#ffffff1a}
  header nav a[aria-current=page]{background:#fff;color:#1f6f50;text-decoration:none}
  header .who{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;min-width:0}
  main table{display:block;overflow-x:auto;word-break:keep-all}}
.formula{background:#fff;border-left:4px solid #1f6f50;padding:8px 12px}.login{max-width:380px;margin:60px auto}.err{color:#b42318}
svg.chart{display:block;width:100%;height:auto;max-width:560px;margin:auto}img.thumb{max-width:160px;max-height:160px;border:1px solid #e4e7eb;border-radius:4px;margin-top:4px}
nav.tabs{display:flex;flex-wrap:wrap;gap:14px;margin:0 0 12px;padding-bottom:6px;border-bottom:1px solid #e4e7eb}
.pill.flag{background:#fde8e8;color:#b42318}tr.flagged td{background:#fffaf0}label.check{flex-direction:row!important;gap:4px;align-items:center}form.bind{display:flex;flex-wrap:wrap;gap:6px;margin:0}
`;

export const statusPill = (s: string) => h`<span class="pill s-${s}">${STATUS_ZH[s as TicketStatus] ?? s}</span>`;

/** The dashboard's pages in the nav, in order; a page under one of them (/dashboard/tickets/12) marks it as current. */
const NAV: readonly (readonly [href: string, label: string])[] = [
  ["/dashboard", "概览"],
  ["/dashboard/units", "单位三率"],
  ["/dashboard/tickets", "工单台账"],
  ["/dashboard/scorecards", "履职评议"],
  ["/dashboard/visits", "走访核对"],
  ["/dashboard/meetings", "会议"],
  ["/dashboard/good-neighbors", "好邻"],
  ["/dashboard/circulars", "通知传达"],
  ["/dashboard/mediations", "矛盾调解"],
  ["/dashboard/directory", "名册"],
];
const current = (href: string, path: string) => (href === "/dashboard" ? path === href : path === href || path.startsWith(`${href}/`));

/** A page in the dashboard's frame; `who` (the signed-in viewer) brings the nav, `path` marks the nav's current page. */
export function page(title: string, body: Raw, who: string | null, path = ""): string {
  const nav = who
    ? h`<nav aria-label="看板页面">${NAV.map(([href, label]) => h`<a href="${href}"${raw(current(href, path) ? ' aria-current="page"' : "")}>${label}</a>`)}</nav>
        <span class="who">${who}</span><form method="post" action="/dashboard/logout"><button type="submit">退出</button></form>`
    : h``;
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · 好邻看板</title><link rel="icon" href="/favicon.ico" type="image/svg+xml"><style>${CSS}</style></head><body>
<header><strong>好邻看板</strong>${nav.html}</header><main>${body.html}</main></body></html>`;
}
