/** /dashboard/export.csv and /dashboard/export.xlsx: the 台账 of the filtered tickets, streamed a page at a time. */
import { PassThrough, Readable } from "node:stream";
import type ExcelJS from "exceljs";
import { Hono } from "hono";
import { type TicketStatus, type UnitKind, unitKinds } from "../../db/schema/index.js";
import { errInfo } from "../../lib/errors.js";
import { LEVEL_ZH, STATUS_ZH } from "../../workflows/roles.js";
import type { DashboardDeps, DashboardEnv } from "../context.js";
import { exportEventPage, type TicketFilter, ticketPage, type TicketRow } from "../data.js";
import { EVENT_ZH, fmt, parseFilter } from "../format.js";
import { parsePeriod } from "../period.js";
import { clockRoots } from "../queries/clocks.js";
import { unitRates } from "../queries/unit-rates.js";
import type { Viewer } from "../session.js";
import { scopeTree } from "../tree.js";
import { isRatio, parseUnitSort, shareOf, sortUnits, UNIT_COLUMNS } from "../unit-table.js";

const EXPORT_LIMIT = 100_000;
/** Tickets per page of an export, and tickets whose events are read at once. */
const EXPORT_PAGE = 250;

/** A cell: times are Dates (a date cell in the workbook, "2026-03-05 14:30" in the CSV), absent ones null. */
type Cell = string | number | Date | null;

/** The export's columns; `base` (the dashboard's origin) makes the photo links absolute. */
const exportColumns = (base: string): [string, (t: TicketRow) => Cell][] => [
  ["工单号", (t) => t.id],
  ["报事时间", (t) => t.created_at],
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
  ["首次答复", (t) => t.first_answered_at],
  ["办结", (t) => t.resolved_at],
  ["关闭", (t) => t.closed_at],
  ["评价", (t) => (t.rating === "satisfied" ? "满意" : t.rating === "unsatisfied" ? "不满意" : "")],
  ["重开次数", (t) => t.reopen_count],
  ["上报次数", (t) => t.escalation_count],
  ["事项", (t) => t.text],
  ["照片数", (t) => t.photo_ids.length],
  ["照片链接", (t) => t.photo_ids.map((id) => `${base}/dashboard/media/${id}`).join(" ")],
];

/** CSV cell: quoted, and a leading = + - @ neutralised so a spreadsheet never runs it as a formula. */
const csvCell = (v: Cell) => {
  const s = v === null ? "" : v instanceof Date ? fmt(v) : typeof v === "number" ? String(v) : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return `"${s.replaceAll('"', '""')}"`;
};

/**
 * A workbook cell: a time becomes a date cell showing Asia/Shanghai wall time (a spreadsheet has no time zones:
 * the serial number is the local date and time, as the dashboard shows it).
 */
const XLSX_TIME = "yyyy-mm-dd hh:mm";
const SHANGHAI_MS = 8 * 3_600_000;
const xlsxCell = (v: Cell) => (v instanceof Date ? new Date(v.getTime() + SHANGHAI_MS) : v);
function addRow(sheet: ExcelJS.Worksheet, values: Cell[]) {
  const row = sheet.addRow(values.map(xlsxCell));
  values.forEach((v, i) => {
    if (v instanceof Date) row.getCell(i + 1).numFmt = XLSX_TIME;
  });
  row.commit();
}

export function exportRoutes({ db, runtime, now }: DashboardDeps) {
  const app = new Hono<DashboardEnv>();

  /** The export's filter, with the chosen unit's subtree from the tree kept between requests. */
  async function exportFilter(q: Record<string, string>): Promise<TicketFilter> {
    const f = parseFilter(q);
    if (f.unitId) f.unitIds = (await scopeTree(db)).below(f.unitId);
    return f;
  }

  /**
   * The tickets of an export, newest first, a page at a time below the last one's id (keyset paging, so a page costs
   * the same at the end of a county's year as at the start), at most EXPORT_LIMIT: nothing holds them all.
   */
  async function* exportPages(v: Viewer, f: TicketFilter): AsyncGenerator<TicketRow[]> {
    let before: number | null = null;
    for (let n = 0; n < EXPORT_LIMIT; ) {
      const rows = await ticketPage(db, v.scope, f, before === null ? { offset: 0 } : { before }, Math.min(EXPORT_PAGE, EXPORT_LIMIT - n));
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

  /** The per-unit table of the page /dashboard/units, for the export's period (its dates; without any, all time). */
  async function unitSheet(sheet: ExcelJS.Worksheet, v: Viewer, q: Record<string, string>) {
    const { below, roots } = await clockRoots(db, v.scope, runtime.pipeline.overrides);
    const first = roots[0];
    // A share is three columns: the percentage (a number formatted 0%), what met it, and what it is out of.
    const ratioKeys = new Set(UNIT_COLUMNS.filter((col) => col.ratio).map((col) => col.key));
    const headers = ["单位", "层级", ...UNIT_COLUMNS.flatMap((col) => (ratioKeys.has(col.key) ? [col.header, `${col.header}（达标）`, `${col.header}（基数）`] : [col.header]))];
    const percentAt = new Set(headers.flatMap((hd, i) => (UNIT_COLUMNS.some((col) => col.header === hd && ratioKeys.has(col.key)) ? [i + 1] : [])));
    sheet.columns = headers.map((header) => ({ header, width: header === "单位" ? 20 : 12 }));
    sheet.getRow(1).font = { bold: true };
    if (!first) return sheet.commit();
    const all = !q.period && !q.from && !q.to;
    const period = parsePeriod(q, now(), first.policy, "custom");
    const level = (unitKinds as readonly string[]).includes(q.rows ?? "") ? (q.rows as UnitKind) : undefined;
    const rows = sortUnits(await unitRates(db, below, roots, level, period, !v.scope.rootId), parseUnitSort(q));
    for (const r of rows) {
      const row = sheet.addRow([
        r.name,
        LEVEL_ZH[r.kind] ?? r.kind,
        ...UNIT_COLUMNS.flatMap((col) => {
          const val = col.value(r);
          return isRatio(val) ? [shareOf(val), val.n, val.d] : [val];
        }),
      ]);
      for (const i of percentAt) row.getCell(i).numFmt = "0%";
      row.commit();
    }
    sheet.addRow([]).commit();
    const span = all ? "全部工单" : `${fmt(period.window.from).slice(0, 10)} 至 ${fmt(new Date(period.window.to.getTime() - 1)).slice(0, 10)}`;
    sheet.addRow([`统计期：${span}；逾期与走访覆盖截至 ${fmt(period.asOf)}；口径与周报相同。`]).commit();
    sheet.commit();
  }

  app.get("/dashboard/export.csv", async (c) => {
    const f = await exportFilter(c.req.query());
    const pages = exportPages(c.get("viewer"), f);
    const EXPORT_COLUMNS = exportColumns(new URL(c.req.url).origin);
    const utf8 = new TextEncoder();
    const line = (cells: Cell[]) => `${cells.map(csvCell).join(",")}\r\n`;
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
    const f = await exportFilter(c.req.query());
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
          addRow(sheet, EXPORT_COLUMNS.map(([, get]) => get(t)));
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
          addRow(ev, [
            Number(e.ticket_id),
            new Date(e.at as string),
            EVENT_ZH[String(e.kind)] ?? String(e.kind),
            e.level ? (LEVEL_ZH[e.level as UnitKind] ?? String(e.level)) : "",
            (e.actor as string) ?? "",
            (e.text as string) ?? "",
          ]);
          left -= 1;
        }
      }
      ev.commit();
      await unitSheet(wb.addWorksheet("单位三率"), v, c.req.query());
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
