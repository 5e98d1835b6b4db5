/**
 * What the directory pages share: who may use them (the admin; village and town officials for their own unit's
 * subtree — rosterActor), the friendly page for anyone else, the tabs, paging, and the words for flags and changes.
 */
import type { Context, MiddlewareHandler } from "hono";
import { ADMIN } from "../../auth.js";
import type { DashboardEnv } from "../../context.js";
import { render } from "../../context.js";
import { h, type Raw } from "../../views.js";
import { type DirectoryActor, rosterActor } from "../../../workflows/roster/access.js";

/** The viewer as the directory workflows see them; null when their role keeps no part of the directory. */
export function actorOf(c: Context<DashboardEnv>): DirectoryActor | null {
  const v = c.get("viewer");
  if (v.id === ADMIN) return rosterActor("admin-token");
  return rosterActor({ id: v.id, name: v.name, role: v.role, unitId: v.scope.rootId ?? "" });
}

/** The directory pages: anyone who keeps none of the directory gets a page saying so, with a way back. */
export const rosterOnly: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  if (actorOf(c)) return next();
  if (c.req.method !== "GET") return c.text("只有管理员和村（社区）干部可以修改名册", 403);
  return c.html(
    render(
      c,
      "名册",
      h`<div class="card" id="admin-only"><h1>名册只对管理员和村（社区）干部开放</h1>
        <p>你现在以 ${c.get("viewer").name} 的身份登录，可以查看本单位及下级的工单、评议和走访。</p>
        <p>需要调整名册（比如换邻长），请联系村干部或管理员。</p>
        <p><a class="button" href="/dashboard">← 返回概览</a></p></div>`,
    ),
    403,
  );
};

/** The tabs over every directory page; the admin's own tabs only for the admin. */
export function tabs(c: Context<DashboardEnv>, current: string): Raw {
  const admin = c.get("viewer").admin;
  const items: [string, string, boolean][] = [
    ["/dashboard/directory", "邻与邻长", true],
    ["/dashboard/directory/people", "人员", true],
    ["/dashboard/directory/households", "住户", true],
    ["/dashboard/directory/chats", "群聊绑定", admin],
    ["/dashboard/directory/import", "导入名册", admin],
    ["/dashboard/directory/history", "变更记录", true],
  ];
  return h`<nav class="tabs" id="directory-tabs">${items
    .filter(([, , shown]) => shown)
    .map(([href, label]) => (href === current ? h`<strong>${label}</strong>` : h`<a href="${href}">${label}</a>`))}</nav>`;
}

export const PAGE_SIZE = 50;

/** The page number asked for (1 … 10,000). */
export const pageNo = (q: string | undefined) => Math.max(1, Math.min(10_000, Number(q) || 1));

/** 上一页 / 下一页 links keeping the other query parameters. */
export function pager(q: Record<string, string>, page: number, total: number, size = PAGE_SIZE): Raw {
  const pages = Math.max(1, Math.ceil(total / size));
  if (pages <= 1) return h``;
  const keep = new URLSearchParams(Object.entries(q).filter(([k, v]) => k !== "page" && v));
  const link = (n: number, label: string) => h`<a href="?${new URLSearchParams([...keep, ["page", String(n)]]).toString()}">${label}</a>`;
  return h`<p class="pager">第 ${page}/${pages} 页 ${page > 1 ? link(page - 1, "上一页") : ""} ${page < pages ? link(page + 1, "下一页") : ""}</p>`;
}

/** A search term from the query string: trimmed, at most 50 characters, undefined when empty. */
export const term = (q: string | undefined) => q?.trim().slice(0, 50) || undefined;

/** A short note at the top of a page after an action (the action redirected here with its outcome). */
export const flash = (text: string | undefined, error = false): Raw =>
  text ? h`<p class="${error ? "err" : "note"}" id="flash">${text}</p>` : h``;
