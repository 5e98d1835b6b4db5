/**
 * The workbook's shape, shared by the XLSX reader and the exporter so the two cannot drift: one sheet per record
 * kind, Chinese headers, and the Chinese words a clerk picks from the drop-downs (codes are accepted too).
 */

import { PLATFORM_ZH, ROLE_ZH } from "../../workflows/roles.js";
import { type Role, roles, type UnitKind, unitKinds } from "../schema/index.js";
import { type careLevels, KIND_LABEL } from "./fields.js";

/** Which closed list a column's drop-down offers. */
export type Choice = "kind" | "role" | "care" | "platform" | "unit";

/** `field` is the record field the column fills; `identities.wecom` style for nested ones; `json` cells hold JSON. */
export type Column = {
  header: string;
  field: string;
  width: number;
  choice?: Choice;
  json?: boolean;
  list?: boolean;
};

export type SheetKey = "units" | "people" | "households" | "chats" | "settings";
export type SheetLayout = {
  key: SheetKey;
  name: string;
  columns: readonly Column[];
};

export const SHEETS: readonly SheetLayout[] = [
  {
    key: "units",
    name: "单位",
    columns: [
      { header: "编号", field: "id", width: 18 },
      { header: "上级编号", field: "parent", width: 18, choice: "unit" },
      { header: "类型", field: "kind", width: 10, choice: "kind" },
      { header: "名称", field: "name", width: 20 },
    ],
  },
  {
    key: "people",
    name: "人员",
    columns: [
      { header: "编号", field: "id", width: 18 },
      { header: "姓名", field: "name", width: 12 },
      { header: "角色", field: "role", width: 10, choice: "role" },
      { header: "所属单位", field: "unit", width: 18, choice: "unit" },
      { header: "住户编号", field: "household", width: 18 },
      { header: "电话", field: "phone", width: 16 },
      { header: "企业微信账号", field: "identities.wecom", width: 18 },
      { header: "钉钉账号", field: "identities.dingtalk", width: 18 },
      { header: "模拟器账号", field: "identities.sim", width: 18 },
      { header: "微信外部联系人", field: "identities.wecom_external", width: 24 },
    ],
  },
  {
    key: "households",
    name: "住户",
    columns: [
      { header: "编号", field: "id", width: 18 },
      { header: "户主", field: "head", width: 12 },
      { header: "所属邻", field: "unit", width: 18, choice: "unit" },
      { header: "家庭成员", field: "members", width: 24, list: true },
      { header: "标签", field: "tags", width: 18, list: true },
      { header: "关怀等级", field: "careLevel", width: 10, choice: "care" },
      { header: "门牌号", field: "houseNo", width: 12 },
      { header: "称呼", field: "nickname", width: 12 },
      { header: "地址", field: "address", width: 24 },
      { header: "电话", field: "phone", width: 16 },
    ],
  },
  {
    key: "chats",
    name: "群",
    columns: [
      { header: "编号", field: "id", width: 18 },
      { header: "平台", field: "platform", width: 10, choice: "platform" },
      { header: "群号", field: "externalId", width: 24 },
      { header: "所属单位", field: "unit", width: 18, choice: "unit" },
      { header: "群名称", field: "name", width: 20 },
      // Never exported (a secret); a value typed here is bound, an empty cell keeps what is bound.
      { header: "消息推送地址", field: "webhookUrl", width: 30 },
      { header: "附加信息（JSON）", field: "meta", width: 24, json: true },
    ],
  },
  {
    key: "settings",
    name: "设置",
    columns: [
      { header: "镇编号", field: "id", width: 18, choice: "unit" },
      { header: "设置（JSON）", field: "settings", width: 60, json: true },
    ],
  },
];

export const sheetOf = (key: SheetKey): SheetLayout => SHEETS.find((s) => s.key === key) as SheetLayout;

const CARE_ZH: Record<(typeof careLevels)[number], string> = {
  special: "重点",
  normal: "一般",
};

/** Code → the word shown in the workbook, for each closed list. */
export const CHOICE_WORDS: Record<Exclude<Choice, "unit">, Record<string, string>> = {
  kind: Object.fromEntries(unitKinds.map((k: UnitKind) => [k, KIND_LABEL[k]])),
  role: Object.fromEntries(roles.map((r: Role) => [r, ROLE_ZH[r]])),
  care: CARE_ZH,
  platform: PLATFORM_ZH, // the real platforms first, the simulator last
};

/** A cell's word (or code) → the code, or undefined when it is neither. */
export function codeOf(choice: Exclude<Choice, "unit">, value: string): string | undefined {
  const words = CHOICE_WORDS[choice];
  if (value in words) return value;
  return Object.keys(words).find((code) => words[code] === value);
}

/** `0` → `A`, `25` → `Z`, `26` → `AA`. */
export function columnLetter(index: number): string {
  let n = index + 1;
  let out = "";
  while (n > 0) {
    const r = (n - 1) % 26;
    out = String.fromCharCode(65 + r) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}
