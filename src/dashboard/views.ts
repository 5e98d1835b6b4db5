/** Server-rendered HTML for the dashboard: one inline stylesheet, inline SVG charts, no external URL of any kind. */
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
input,select,button{font:inherit;padding:4px 6px}button.primary,a.button{background:#1f6f50;color:#fff;border:0;border-radius:4px;padding:6px 12px;text-decoration:none;cursor:pointer}
.muted{color:#7b8794}.note{color:#1f6f50}form.resolve{display:flex;gap:6px;margin:0}.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;background:#e4e7eb}
.s-open{background:#fde8e8}.s-answered{background:#fef3c7}.s-resolved{background:#dbeafe}.s-closed{background:#d1fae5}
ol.timeline{list-style:none;padding:0;border-left:3px solid #1f6f50;margin-left:8px}ol.timeline li{margin:0 0 12px 14px;position:relative}
ol.timeline li:before{content:"";position:absolute;left:-22px;top:6px;width:11px;height:11px;border-radius:50%;background:#1f6f50}
.formula{background:#fff;border-left:4px solid #1f6f50;padding:8px 12px}.login{max-width:380px;margin:60px auto}.err{color:#b42318}
svg text{font-size:11px;fill:#3e4c59}img.thumb{max-width:160px;max-height:160px;border:1px solid #e4e7eb;border-radius:4px;margin-top:4px}
`;

export const statusPill = (s: string) => h`<span class="pill s-${s}">${STATUS_ZH[s as TicketStatus] ?? s}</span>`;

export function page(title: string, body: Raw, who: string | null): string {
  const nav = who
    ? h`<a href="/dashboard">概览</a><a href="/dashboard/tickets">工单台账</a><a href="/dashboard/scorecards">履职评议</a><a href="/dashboard/visits">走访核对</a><a href="/dashboard/meetings">会议</a><a href="/dashboard/good-neighbors">好邻</a><a href="/dashboard/circulars">通知传达</a>
        <span class="who">${who}</span><form method="post" action="/dashboard/logout"><button type="submit">退出</button></form>`
    : h``;
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · 好邻看板</title><style>${CSS}</style></head><body>
<header><strong>好邻看板</strong>${nav.html}</header><main>${body.html}</main></body></html>`;
}

/** A vertical bar chart; `marker` draws a dashed vertical line after that bar index (the 4-hour line). */
export function barChart(
  bars: { label: string; n: number; color?: string }[],
  opts: { width?: number; height?: number; marker?: { after: number; label: string }; title: string },
): Raw {
  const W = opts.width ?? 520;
  const H = opts.height ?? 200;
  const pad = { l: 34, r: 10, t: 14, b: 36 };
  const max = Math.max(1, ...bars.map((b) => b.n));
  const bw = (W - pad.l - pad.r) / Math.max(1, bars.length);
  const y = (n: number) => pad.t + (H - pad.t - pad.b) * (1 - n / max);
  const parts: string[] = [];
  for (const f of [0, 0.5, 1]) {
    const v = Math.round(max * f);
    parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#e4e7eb"/><text x="${pad.l - 4}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  bars.forEach((b, i) => {
    const x = pad.l + i * bw + bw * 0.15;
    const top = y(b.n);
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(bw * 0.7).toFixed(1)}" height="${(H - pad.b - top).toFixed(1)}" fill="${b.color ?? "#3f9f7a"}"><title>${esc(b.label)}：${b.n}</title></rect>`,
      `<text x="${(x + bw * 0.35).toFixed(1)}" y="${H - pad.b + 14}" text-anchor="middle">${esc(b.label)}</text>`,
      b.n ? `<text x="${(x + bw * 0.35).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle">${b.n}</text>` : "",
    );
  });
  if (opts.marker) {
    const mx = pad.l + (opts.marker.after + 1) * bw;
    parts.push(
      `<line x1="${mx}" x2="${mx}" y1="${pad.t - 6}" y2="${H - pad.b}" stroke="#b42318" stroke-width="2" stroke-dasharray="5 3"/><text x="${mx + 4}" y="${pad.t}" fill="#b42318">${esc(opts.marker.label)}</text>`,
    );
  }
  return raw(`<svg role="img" aria-label="${esc(opts.title)}" viewBox="0 0 ${W} ${H}" width="100%" preserveAspectRatio="xMidYMid meet">${parts.join("")}</svg>`);
}

/** Horizontal bars (the escalation funnel, coverage by unit): value and an optional percentage. */
export function hBars(rows: { label: string; value: number; of?: number; text?: string }[], title: string): Raw {
  const W = 520;
  const rowH = 26;
  const H = rows.length * rowH + 8;
  const max = Math.max(1, ...rows.map((r) => r.of ?? r.value));
  const parts = rows.map((r, i) => {
    const y = 4 + i * rowH;
    const full = ((W - 200) * (r.of ?? max)) / max;
    const w = ((W - 200) * r.value) / max;
    return `<text x="0" y="${y + 16}">${esc(r.label)}</text>${r.of !== undefined ? `<rect x="110" y="${y + 3}" width="${full.toFixed(1)}" height="16" fill="#e4e7eb"/>` : ""}<rect x="110" y="${y + 3}" width="${w.toFixed(1)}" height="16" fill="#1f6f50"><title>${esc(r.label)}：${r.value}</title></rect><text x="${(114 + Math.max(w, r.of !== undefined ? full : 0)).toFixed(1)}" y="${y + 16}">${esc(r.text ?? String(r.value))}</text>`;
  });
  return raw(`<svg role="img" aria-label="${esc(title)}" viewBox="0 0 ${W} ${H}" width="100%">${parts.join("")}</svg>`);
}
