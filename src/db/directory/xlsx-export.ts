/**
 * The exporter: the whole directory as the workbook the XLSX reader reads back (so export → import changes
 * nothing). On an empty database the same code gives the empty template: headers, drop-downs, frozen header rows.
 */

import { asc, inArray } from "drizzle-orm";
import ExcelJS from "exceljs";
import type { Db } from "../client.js";
import { chats, households, identities, people, units } from "../schema/index.js";
import { kindDepth } from "./fields.js";
import { CHOICE_WORDS, type Choice, columnLetter, SHEETS, type SheetKey, sheetOf } from "./xlsx-layout.js";

/** Rows the drop-downs cover: far beyond the largest town in the source article (10,425 households). */
const VALIDATED_ROWS = 50_000;

type Cells = Record<string, string | undefined>;

const json = (value: Record<string, unknown>) => (Object.keys(value).length > 0 ? JSON.stringify(value) : undefined);
const words = (choice: Exclude<Choice, "unit">, code: string) => CHOICE_WORDS[choice][code] ?? code;

/** Every directory record as workbook cells, keyed by the layout's field names. */
async function loadCells(db: Db): Promise<Record<SheetKey, Cells[]>> {
  const unitRows = (await db.select().from(units).orderBy(asc(units.id))).sort(
    (a, b) => kindDepth(a.kind) - kindDepth(b.kind),
  );
  const householdRows = await db.select().from(households).orderBy(asc(households.id));
  const personRows = await db.select().from(people).orderBy(asc(people.id));
  // Accounts the bot learnt itself (open_userid) are not the clerk's to edit; those the directory gives are.
  const identityRows = await db
    .select()
    .from(identities)
    .where(inArray(identities.kind, ["userid", "external_userid"]))
    .orderBy(asc(identities.externalId));
  const chatRows = await db.select().from(chats).orderBy(asc(chats.id));

  const accounts = new Map<string, Cells>();
  for (const { personId, platform, externalId, kind } of identityRows) {
    const own = accounts.get(personId) ?? {};
    own[kind === "external_userid" ? "identities.wecom_external" : `identities.${platform}`] ??= externalId; // one account per platform and person fits a row
    accounts.set(personId, own);
  }
  return {
    units: unitRows.map((u) => ({
      id: u.id,
      parent: u.parentId ?? undefined,
      kind: words("kind", u.kind),
      name: u.name,
    })),
    settings: unitRows
      .filter((u) => json(u.settings) !== undefined)
      .map((u) => ({ id: u.id, settings: json(u.settings) })),
    people: personRows.map((p) => ({
      id: p.id,
      name: p.name,
      role: words("role", p.role),
      unit: p.unitId,
      household: p.householdId ?? undefined,
      phone: p.phone ?? undefined,
      ...accounts.get(p.id),
    })),
    households: householdRows.map((h) => ({
      id: h.id,
      head: h.headName,
      unit: h.unitId,
      members: h.members.join("、") || undefined,
      tags: h.tags.join("、") || undefined,
      careLevel: words("care", h.careLevel),
      houseNo: h.houseNo ?? undefined,
      nickname: h.nickname ?? undefined,
      address: h.address ?? undefined,
      phone: h.phone ?? undefined,
    })),
    chats: chatRows.map((c) => ({
      id: c.id,
      platform: words("platform", c.platform),
      externalId: c.externalId,
      unit: c.unitId,
      name: c.name,
      meta: json(c.meta),
    })),
  };
}

/** Data validation as exceljs writes it; its typings only model it per cell, the runtime takes ranges. */
type RangeValidations = {
  dataValidations: {
    add(range: string, validation: ExcelJS.DataValidation): void;
  };
};

function dropDown(choice: Choice): ExcelJS.DataValidation {
  const formula =
    choice === "unit"
      ? `'${sheetOf("units").name}'!$A$2:$A$${VALIDATED_ROWS}`
      : `"${Object.values(CHOICE_WORDS[choice]).join(",")}"`;
  return {
    type: "list",
    allowBlank: true,
    formulae: [formula],
    showErrorMessage: true,
    errorTitle: "请从下拉列表中选择",
    error: choice === "unit" ? "请填写“单位”表中已有的编号" : "请从下拉列表中选择",
  };
}

/** The directory as a workbook; sheets in the order a clerk fills them. */
export async function directoryWorkbook(db: Db): Promise<ExcelJS.Workbook> {
  const cells = await loadCells(db);
  const workbook = new ExcelJS.Workbook();
  workbook.creator = "好邻 Haolin";
  for (const layout of SHEETS) {
    const ws = workbook.addWorksheet(layout.name, {
      views: [{ state: "frozen", ySplit: 1 }],
    });
    // Text format keeps typed digits (phones, ids with leading zeros) as text in Excel.
    ws.columns = layout.columns.map((c) => ({
      header: c.header,
      key: c.field,
      width: c.width,
      style: { numFmt: "@" },
    }));
    ws.getRow(1).font = { bold: true };
    for (const record of cells[layout.key]) ws.addRow(record);
    layout.columns.forEach((column, i) => {
      if (!column.choice) return;
      const letter = columnLetter(i);
      (ws as unknown as RangeValidations).dataValidations.add(
        `${letter}2:${letter}${VALIDATED_ROWS}`,
        dropDown(column.choice),
      );
    });
  }
  return workbook;
}

/** Writes the directory workbook to `file`; returns how many rows each sheet got. */
export async function exportDirectory(db: Db, file: string): Promise<Record<string, number>> {
  const workbook = await directoryWorkbook(db);
  await workbook.xlsx.writeFile(file);
  return Object.fromEntries(workbook.worksheets.map((ws) => [ws.name, Math.max(0, ws.rowCount - 1)]));
}
