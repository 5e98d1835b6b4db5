/**
 * /dashboard/directory/import (admin): the directory workbook as `npm run directory:export` writes it, downloaded
 * here, edited in Excel and uploaded back. The upload is checked with the same reader and validator as
 * `npm run import` (the same errors: sheet, row and column, at most 20) and previewed with the same writer, rolled
 * back; nothing is written until 确认导入 (src/workflows/roster/upload.ts).
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { directoryWorkbook } from "../../../db/directory/xlsx-export.js";
import {
  ENTITIES,
  entityZh,
  confirmUpload,
  getUpload,
  MAX_UPLOAD_BYTES,
  type PreviewResult,
  previewUpload,
  type UploadPreview,
} from "../../../workflows/roster/upload.js";
import type { DashboardDeps, DashboardEnv } from "../../context.js";
import { adminOnlyPage, render } from "../../context.js";
import { fmt } from "../../format.js";
import { h, type Raw } from "../../views.js";
import { actorOf, flash, tabs } from "./common.js";

const MB = MAX_UPLOAD_BYTES / 1024 / 1024;

const uploadForm = h`<form method="post" action="/dashboard/directory/import" enctype="multipart/form-data" class="card" id="upload-form">
  <p><label>选择改好的名册（.xlsx，不超过 ${MB} MB）<br><input type="file" name="file" accept=".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required></label></p>
  <p><button type="submit" class="primary">上传并预览</button></p></form>`;

const names = (list: { id: string; name: string }[], more: number) =>
  h`${list.map((x, i) => h`${i ? "、" : ""}${x.name ? `${x.name}（${x.id}）` : x.id}`)}${more > 0 ? `……等 ${list.length + more} 条` : ""}`;

function previewBody(r: Extract<PreviewResult, { ok: true }>): Raw {
  const p: UploadPreview = r.preview;
  const changes = ENTITIES.filter((e) => p.counts[e].inserted + p.counts[e].updated > 0);
  return h`<table id="preview-counts"><thead><tr><th></th><th>新增</th><th>更新</th><th>未变</th></tr></thead><tbody>
    ${ENTITIES.map((e) => h`<tr data-entity="${e}"><td>${entityZh(e)}</td><td>${p.counts[e].inserted}</td><td>${p.counts[e].updated}</td><td>${p.counts[e].unchanged}</td></tr>`)}
    </tbody></table>
    ${
      changes.length === 0
        ? h`<p id="nothing">名册和现在的数据完全一致，没有需要导入的变化。</p>`
        : h`<div id="preview-changes">${changes.map((e) => {
            const c = p.changes[e];
            const n = p.counts[e];
            return h`<h3>${entityZh(e)}</h3>
              ${n.inserted ? h`<p>新增：${names(c.inserted, n.inserted - c.inserted.length)}</p>` : ""}
              ${n.updated ? h`<p>更新：${names(c.updated, n.updated - c.updated.length)}</p>` : ""}`;
          })}</div>
        <form method="post" action="/dashboard/directory/import/${r.id}/confirm" id="confirm-form"><button type="submit" class="primary" id="confirm">确认导入</button>
          <a href="/dashboard/directory/import">取消</a></form>`
    }
    <p class="muted">表里没有的记录不会被删除。要停用某人，请在“人员”页操作。</p>`;
}

export function directoryUploadPage({ db, now }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();
  app.use("/dashboard/directory/import", adminOnlyPage);
  app.use("/dashboard/directory/import/*", adminOnlyPage);
  app.use("/dashboard/directory/export.xlsx", adminOnlyPage);

  const frame = (c: Context<DashboardEnv>, title: string, body: Raw, status: 200 | 400 | 409 | 413 | 422 = 200) =>
    c.html(render(c, title, h`<h1>${title}</h1>${tabs(c, "/dashboard/directory/import")}${body}`), status);

  app.get("/dashboard/directory/import", (c) =>
    frame(
      c,
      "导入名册",
      h`<ol class="steps"><li>下载现在的名册：<a class="button" id="download" href="/dashboard/directory/export.xlsx">下载名册.xlsx</a>（还没有名册时是空白模板）</li>
        <li>在 Excel 里修改：新来的邻长在“人员”表加一行，搬走的住户改“所属邻”……编号已有的不要改。</li>
        <li>上传改好的文件。先检查全部内容，显示将要发生的变化；点“确认导入”后才写入。</li></ol>${uploadForm}`,
    ),
  );

  // The whole directory as the workbook the import reads back (phones and addresses included: admin only).
  app.get("/dashboard/directory/export.xlsx", async (c) => {
    const workbook = await directoryWorkbook(db);
    const data = await workbook.xlsx.writeBuffer();
    return c.body(new Uint8Array(data as ArrayBuffer), 200, {
      "content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "content-disposition": `attachment; filename="mingce-${fmt(now()).slice(0, 10)}.xlsx"`,
      "cache-control": "no-store",
    });
  });

  app.post(
    "/dashboard/directory/import",
    // A little over the file's own limit for the form around it; larger bodies are refused before they are read.
    bodyLimit({ maxSize: MAX_UPLOAD_BYTES + 64 * 1024, onError: (c) => c.text(`文件超过 ${MB} MB`, 413) }),
    async (c) => {
      const by = actorOf(c);
      if (!by?.admin) return c.text("只有管理员可以导入名册", 403);
      const form = await c.req.parseBody();
      const file = form.file;
      if (!(file instanceof File) || file.size === 0) return frame(c, "导入名册", h`${flash("请选择要上传的名册文件（.xlsx）。", true)}${uploadForm}`, 400);
      const r = await previewUpload(db, by, now(), file.name, Buffer.from(await file.arrayBuffer()));
      if (!r.ok)
        return frame(
          c,
          "名册有错误，没有导入",
          h`<p>数据库没有任何改动。请在 Excel 里改正下面的问题（表!列行），再上传一次：</p>
          <ul id="errors">${r.errors.map((e) => h`<li>${e}</li>`)}</ul>${uploadForm}`,
          422,
        );
      return c.redirect(`/dashboard/directory/import/${r.id}`, 303);
    },
  );

  app.get("/dashboard/directory/import/:id", async (c) => {
    const r = await getUpload(db, c.req.param("id"), now());
    if (!r?.ok) return frame(c, "导入名册", h`${flash("这次上传的预览已经过期或已导入，请重新上传。", true)}${uploadForm}`, 409);
    return frame(c, `导入预览：${r.fileName}`, h`<p id="checked">检查通过，数据库还没有改动。确认后将写入下面的变化：</p>${previewBody(r)}`);
  });

  app.post("/dashboard/directory/import/:id/confirm", async (c) => {
    const by = actorOf(c);
    if (!by?.admin) return c.text("只有管理员可以导入名册", 403);
    const r = await confirmUpload(db, by, now(), c.req.param("id"));
    if (r.status === "gone") return frame(c, "导入名册", h`${flash("这次上传的预览已经过期，请重新上传。", true)}${uploadForm}`, 409);
    if (r.status === "done") return frame(c, "导入名册", h`${flash("这份名册已经导入过了。")}<p><a href="/dashboard/directory/history">查看变更记录</a></p>`);
    if (r.status === "changed") {
      const p = r.preview;
      if (!p.ok)
        return frame(c, "名册有错误，没有导入", h`<p>数据库没有任何改动。</p><ul id="errors">${p.errors.map((e) => h`<li>${e}</li>`)}</ul>${uploadForm}`, 422);
      return frame(
        c,
        `导入预览：${p.fileName}`,
        h`${flash("预览之后，名册里相关的记录有了改动（比如刚做了邻长交接）。下面是按现在的名册重新核对的结果，请再确认一次。", true)}${previewBody(p)}`,
        409,
      );
    }
    return frame(
      c,
      "导入完成",
      h`<p class="note" id="imported">已导入 ${r.fileName}。</p>
      <table id="imported-counts"><thead><tr><th></th><th>新增</th><th>更新</th><th>未变</th></tr></thead><tbody>
      ${ENTITIES.map((e) => h`<tr data-entity="${e}"><td>${entityZh(e)}</td><td>${r.summary[e].inserted}</td><td>${r.summary[e].updated}</td><td>${r.summary[e].unchanged}</td></tr>`)}
      </tbody></table><p><a href="/dashboard/directory">查看名册</a> · <a href="/dashboard/directory/history">查看变更记录</a></p>`,
    );
  });
  return app;
}
