/** /dashboard/export.csv and /dashboard/export.xlsx: the 台账 of the filtered tickets, streamed a page at a time. */
import { PassThrough, Readable } from "node:stream";
import { Hono } from "hono";
import type { TicketStatus, UnitKind } from "../../db/schema/index.js";
import { errInfo } from "../../lib/errors.js";
import { LEVEL_ZH, STATUS_ZH } from "../../workflows/roles.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { exportEventPage, exportTicketPage, type TicketFilter, type TicketRow } from "../data.js";
import { EVENT_ZH, fmt, parseFilter } from "../format.js";
import type { Viewer } from "../session.js";

const EXPORT_LIMIT = 100_000;
/** Tickets per page of an export, and tickets whose events are read at once. */
const EXPORT_PAGE = 250;

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

export function exportRoutes({ db, runtime, now }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();

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
