/** The directory's domain rules and the schema of each record, shared by every reader. */
import { z } from "zod";
import { townSettingsSchema } from "../../workflows/policy.js";
import { LEADER_ROLE, ROLE_ZH } from "../../workflows/roles.js";
import {
  type IdentityKind,
  type Platform,
  platforms,
  type Role,
  roles,
  type UnitKind,
  unitKinds,
} from "../schema/index.js";

export const KIND_LABEL: Record<UnitKind, string> = {
  town: "镇",
  village: "村/社区",
  area: "片",
  group: "组",
  neighborhood: "邻",
};

/** The tree town → village → (area) → group → neighborhood; the area level is optional. */
export const PARENT_KINDS: Record<UnitKind, readonly UnitKind[]> = {
  town: [],
  village: ["town"],
  area: ["village"],
  group: ["area", "village"],
  neighborhood: ["group"],
};

/** Leaders sit in the unit they lead; residents and admins may be anywhere. */
export const ROLE_UNIT_KIND: Partial<Record<Role, UnitKind>> = Object.fromEntries(
  Object.entries(LEADER_ROLE).map(([kind, role]) => [role, kind as UnitKind]),
);

/** Households with these people get monthly visits or weekly contact (常态化联系机制). */
export const SPECIAL_TAGS = new Set(["留守儿童", "孤寡老人", "独居老人", "残疾", "低保"]);
export const careLevels = ["special", "normal"] as const;

export const describeKind = (kind: UnitKind) => `${KIND_LABEL[kind]}（${kind}）`;
export const describeRole = (role: Role) => `${ROLE_ZH[role]}（${role}）`;
/** Depth in the tree: sorting by it puts every parent before its children, since parents are always shallower. */
export const kindDepth = (kind: UnitKind) => unitKinds.indexOf(kind);

// ───────────────────────────── Field schemas ─────────────────────────────

export const REQUIRED = "必填";

/**
 * Text as people type it in YAML, quoted or not: an unquoted phone or house number arrives as a number and is
 * kept as its digits. Numbers that would not survive the round trip (decimals, too many digits) must be quoted.
 */
export const text = z
  .union([z.string(), z.number()], {
    error: (iss) => (iss.input === undefined ? REQUIRED : "应为文本"),
  })
  .transform((value, ctx) => {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      ctx.addIssue({
        code: "custom",
        message: "这个数字会失真，请加引号写成文本",
      });
      return z.NEVER;
    }
    const trimmed = String(value).trim();
    if (!trimmed) {
      ctx.addIssue({ code: "custom", message: "不能为空" });
      return z.NEVER;
    }
    return trimmed;
  });

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Ids are stable codes (they appear in commands, URLs and the simulator), so keep them to plain ASCII. */
export const id = text.refine((v) => ID_PATTERN.test(v), "id 只能由字母、数字和 - _ . 组成");

/** An empty YAML value (`nickname:`) or an empty CSV cell means "not given". */
export function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null || v === "" ? undefined : v), schema.optional());
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined ? REQUIRED : `未知${what} ${JSON.stringify(iss.input)}（可选：${values.join(", ")}）`,
  });
}

/** Strict: a misspelt key (`careLvl`) would otherwise be silently ignored. */
export function record<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === "unrecognized_keys")
        return `未知字段 ${iss.keys.map((k) => `"${k}"`).join("、")}（可选：${allowed}）`;
      return iss.input === undefined ? REQUIRED : "应为对象（键: 值）";
    },
  });
}

export function list<T extends z.ZodType>(item: T) {
  return z.array(item, {
    error: (iss) => (iss.input === undefined ? REQUIRED : "应为列表，如 [甲, 乙]"),
  });
}

/** Lists that may be left out or empty. */
export const optionalList = <T extends z.ZodType>(item: T) => optional(list(item)).transform((v) => v ?? []);

export const PHONE_PATTERN = /^\+?[0-9][0-9 -]{4,19}$/;
/** Phones are private: the message never echoes the value. */
export const phone = optional(
  text.refine((v) => PHONE_PATTERN.test(v), "电话号码格式不对（只能含数字、空格、- 和开头的 +）"),
);

export const freeObject = optional(
  z
    .record(z.string(), z.unknown(), { error: "应为对象（键: 值）" })
    .refine((v) => !Array.isArray(v), "应为对象（键: 值）"),
);

export const unitKind = oneOf(unitKinds, "单位类型");

export const unitSchema = record({
  id,
  parent: optional(text),
  kind: unitKind,
  name: text,
  // Free-form and stored as written; the keys the bot reads are checked with the policy's own schema.
  settings: optional(townSettingsSchema),
});

export const householdSchema = record({
  id,
  unit: text,
  head: text,
  members: optionalList(text),
  tags: optionalList(text),
  careLevel: optional(oneOf(careLevels, "关怀等级")),
  houseNo: optional(text),
  nickname: optional(text),
  address: optional(text),
  phone,
});

export const identitiesSchema = record({
  wecom: optional(text),
  dingtalk: optional(text),
  sim: optional(text),
  /** A WeChat user's external_userid as WeCom gives it (外部联系人): stored as a WeCom identity of that kind. */
  wecom_external: optional(text),
} satisfies Record<Platform | "wecom_external", unknown>);

export const personSchema = record({
  id,
  name: text,
  role: oneOf(roles, "角色"),
  unit: text,
  household: optional(text),
  phone,
  identities: optional(identitiesSchema),
});

export const chatSchema = record({
  id,
  platform: oneOf(platforms, "平台"),
  externalId: optional(text),
  unit: text,
  name: text,
  // The webhook is a secret: the message never echoes it.
  webhookUrl: optional(z.url({ protocol: /^https?$/, error: "应为 http(s) 地址" })),
  meta: freeObject,
});

export const fileSchema = record({
  units: list(unitSchema).min(1, "至少要有一个单位"),
  households: optionalList(householdSchema),
  people: optionalList(personSchema),
  chats: optionalList(chatSchema),
  householdsCsv: optional(text),
});

export type UnitInput = z.output<typeof unitSchema>;
export type TownSettings = z.output<typeof townSettingsSchema>;
export type HouseholdInput = z.output<typeof householdSchema>;
export type PersonInput = z.output<typeof personSchema>;
export type ChatInput = z.output<typeof chatSchema>;
export type IdentityInput = { platform: Platform; externalId: string; personId: string; kind: IdentityKind };

/** Generic messages (e.g. "too small") in Chinese too; the schemas above override the common ones. */
export const zhErrors = z.locales.zhCN().localeError;

/** Members and tags written in one cell (CSV, XLSX) are separated by 、 or |. */
export const LIST_SEPARATOR = /[、|]/;
