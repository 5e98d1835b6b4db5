/** /dashboard/links (admin): each leader's signed login link, and 作废 to revoke a leader's links and sessions. */
import { and, eq, inArray, sql } from "drizzle-orm";
import { Hono } from "hono";
import { people } from "../../db/schema/index.js";
import { formatDurationZh } from "../../lib/duration.js";
import { isActive } from "../../workflows/directory.js";
import { ROLE_ZH } from "../../workflows/roles.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { adminOnlyPage, render } from "../context.js";
import { h } from "../views.js";

export function linksPage({ db, runtime, signer, now, linkTtlMs }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.use("/dashboard/links", adminOnlyPage);
  app.use("/dashboard/links/*", adminOnlyPage);

  app.get("/dashboard/links", async (c) => {
    const leaders = await db
      .select()
      .from(people)
      .where(and(inArray(people.role, ["neighbor_leader", "group_leader", "area_leader", "village_official", "town_official"]), isActive))
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
  return app;
}
