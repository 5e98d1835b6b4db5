/** /dashboard/directory/history: every directory change made on the dashboard — who, what, when. */
import { Hono } from "hono";
import type { DirectoryChangeKind } from "../../../db/schema/index.js";
import { listChanges } from "../../../workflows/roster/history.js";
import type { DashboardDeps, DashboardEnv } from "../../context.js";
import { render } from "../../context.js";
import { fmt } from "../../format.js";
import { h } from "../../views.js";
import { actorOf, PAGE_SIZE, pageNo, pager, tabs } from "./common.js";

const KIND_ZH: Record<DirectoryChangeKind, string> = {
  import: "导入名册",
  handover: "交接",
  deactivate: "停用",
  reactivate: "恢复",
  bind_chat: "绑定群",
};

export function directoryHistoryPage({ db }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.get("/dashboard/directory/history", async (c) => {
    const by = actorOf(c);
    if (!by) return c.text("只有管理员和村（社区）干部可以查看名册", 403);
    const q = c.req.query();
    const page = pageNo(q.page);
    const list = await listChanges(db, by, PAGE_SIZE, (page - 1) * PAGE_SIZE);
    return c.html(
      render(
        c,
        "名册变更记录",
        h`<h1>变更记录</h1>${tabs(c, "/dashboard/directory/history")}
        <p class="muted">在看板上对名册做的每一次改动：导入、交接、停用和恢复、绑定群。${by.admin ? "" : "这里只列出本单位及下级的改动。"}</p>
        ${
          list.rows.length === 0
            ? h`<p id="none">还没有改动。</p>`
            : h`<table id="history"><thead><tr><th>时间</th><th>操作人</th><th>类型</th><th>内容</th></tr></thead><tbody>
          ${list.rows.map((r) => h`<tr data-kind="${r.kind}"><td>${fmt(r.at)}</td><td>${r.actorName}</td><td>${KIND_ZH[r.kind] ?? r.kind}</td><td>${r.summary}</td></tr>`)}
          </tbody></table>${pager(q, page, list.total)}`
        }`,
      ),
    );
  });
  return app;
}
