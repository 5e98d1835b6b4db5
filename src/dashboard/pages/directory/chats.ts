/**
 * /dashboard/directory/chats (admin): groups that @-mentioned the bot before they were registered (待绑定), bound
 * here by picking their unit; and the bound groups, where a WeCom group's 消息推送 address is replaced. The address
 * is taken as pasted and never shown back beyond its last characters (src/bot/bind-chat.ts, shared with
 * `npm run wecom:bind`).
 */
import { type Context, Hono } from "hono";
import { bindGroupAs } from "../../../bot/bind-chat.js";
import { WebhookError, webhookHint } from "../../../bot/wecom/webhook.js";
import { platforms, type Platform } from "../../../db/schema/index.js";
import { BindError } from "../../../workflows/chats.js";
import { LEVEL_ZH, PLATFORM_ZH } from "../../../workflows/roles.js";
import type { DashboardDeps, DashboardEnv } from "../../context.js";
import { adminOnlyPage, render } from "../../context.js";
import { unitOptions } from "../../data.js";
import { fmt } from "../../format.js";
import { boundChatRows, pendingChatRows } from "../../queries/directory.js";
import { h, raw } from "../../views.js";
import { actorOf, flash, tabs } from "./common.js";


export function directoryChatsPage({ db, runtime }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.use("/dashboard/directory/chats", adminOnlyPage);
  app.use("/dashboard/directory/chats/*", adminOnlyPage);

  const show = async (c: Context<DashboardEnv>, note?: { text: string; error?: boolean }, status: 200 | 400 = 200) => {
    const [pending, bound, unitsList] = await Promise.all([pendingChatRows(db), boundChatRows(db), unitOptions(db, { rootId: null })]);
    const unitSelect = (selected?: string) =>
      h`<select name="unitId" required><option value="">选择对应单位</option>${unitsList.map(
        (u) => h`<option value="${u.id}"${raw(u.id === selected ? " selected" : "")}>${u.name}（${LEVEL_ZH[u.kind]}）</option>`,
      )}</select>`;
    const webhookInput = h`<input type="password" name="webhook" autocomplete="off" placeholder="消息推送地址或 key" size="28">`;
    return c.html(
      render(
        c,
        "群聊绑定",
        h`<h1>群聊绑定</h1>${tabs(c, "/dashboard/directory/chats")}${note ? flash(note.text, note.error) : ""}
        <h2>待绑定的群</h2>
        <p class="muted">在群里 @机器人 但还没有登记的群会出现在这里。选好对应的单位（组群选组，全村群选村），企业微信群再贴上该群的“消息推送”地址，点绑定即可；绑定后机器人会在群里说一声。</p>
        ${
          pending.length === 0
            ? h`<p id="no-pending">现在没有待绑定的群。</p>`
            : h`<div class="scroll"><table id="pending"><thead><tr><th>平台</th><th>群 ID</th><th>首次 @机器人</th><th>次数</th><th>绑定到</th></tr></thead><tbody>
          ${pending.map(
            (p) => h`<tr data-chat="${p.externalId}"><td>${PLATFORM_ZH[p.platform]}</td><td><code>${p.externalId}</code>${p.title ? h`<br>${p.title}` : ""}</td>
              <td>${p.firstSenderName ?? p.firstSender}<br><span class="muted">${fmt(p.firstSeenAt)}</span></td><td>${p.messages}</td>
              <td><form method="post" action="/dashboard/directory/chats/bind" class="bind">
                <input type="hidden" name="platform" value="${p.platform}"><input type="hidden" name="externalId" value="${p.externalId}">
                ${unitSelect()} <input name="name" required maxlength="100" placeholder="群名称" value="${p.title ?? ""}">
                ${p.platform === "wecom" ? webhookInput : ""}
                <button type="submit" class="primary">绑定</button></form></td></tr>`,
          )}</tbody></table></div>`
        }
        <h2>已绑定的群</h2>
        <div class="scroll"><table id="bound"><thead><tr><th>群</th><th>平台</th><th>单位</th><th>状态</th><th>消息推送地址</th></tr></thead><tbody>
        ${bound.map((b) => {
          const hint = webhookHint(b.webhookUrl);
          return h`<tr data-chat="${b.id}"><td>${b.name}<br><span class="muted">${b.externalId}</span></td><td>${PLATFORM_ZH[b.platform]}</td>
            <td><a href="/dashboard/directory/units/${b.unitId}">${b.unitName}</a></td><td>${b.status === "dead" ? h`<span class="pill flag">推送地址失效</span>` : "正常"}</td>
            <td>${
              b.platform === "wecom"
                ? h`${hint ? h`已保存（${hint}）` : h`<span class="muted">未设置</span>`}
              <form method="post" action="/dashboard/directory/chats/bind" class="bind"><input type="hidden" name="platform" value="wecom">
                <input type="hidden" name="externalId" value="${b.externalId}"><input type="hidden" name="unitId" value="${b.unitId}"><input type="hidden" name="name" value="${b.name}">
                ${webhookInput}<button type="submit">${hint ? "更换" : "保存"}</button></form>`
                : h`<span class="muted">不需要</span>`
            }</td></tr>`;
        })}</tbody></table></div>`,
      ),
      status,
    );
  };

  app.get("/dashboard/directory/chats", (c) => {
    const done = c.req.query("bound");
    return show(c, done ? { text: done === "new" ? "已绑定。本群现在可以报事了。" : "已更新。" } : undefined);
  });

  app.post("/dashboard/directory/chats/bind", async (c) => {
    const by = actorOf(c);
    if (!by?.admin) return c.text("只有管理员可以绑定群", 403);
    const form = await c.req.parseBody();
    const field = (k: string) => (typeof form[k] === "string" ? (form[k] as string) : "");
    const platform = field("platform") as Platform;
    if (!(platforms as readonly string[]).includes(platform)) return show(c, { text: "平台不对，请刷新页面后再试。", error: true }, 400);
    try {
      const r = await runtime.transact((ctx) =>
        bindGroupAs(ctx, by, { platform, externalId: field("externalId"), unitId: field("unitId"), name: field("name"), webhook: field("webhook") }),
      );
      runtime.opts.logger.info({ chatId: r.chatId, created: r.created, webhookSaved: r.webhookSaved }, "chat bound on the dashboard");
      return c.redirect(`/dashboard/directory/chats?bound=${r.created ? "new" : "updated"}`, 303);
    } catch (err) {
      // The messages never repeat what was pasted (WebhookError says only what shape is expected).
      if (err instanceof BindError || err instanceof WebhookError) return show(c, { text: `绑定没有完成：${err.message}`, error: true }, 400);
      throw err;
    }
  });
  return app;
}
