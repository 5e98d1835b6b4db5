/**
 * The one validator: checks what no single record can (unique ids, references, the unit tree, town settings)
 * over the Sources any reader produced, and normalises them into a Directory ready to write.
 */
import { platforms, type UnitKind, unitKinds } from "../schema/index.js";
import {
  type ChatInput,
  describeKind,
  describeRole,
  type HouseholdInput,
  type IdentityInput,
  kindDepth,
  PARENT_KINDS,
  type PersonInput,
  ROLE_UNIT_KIND,
  SPECIAL_TAGS,
  type TownSettings,
  type UnitInput,
} from "./fields.js";
import {
  type ChatRow,
  type Directory,
  type Entry,
  formatPlace,
  type HouseholdRow,
  type Issues,
  type PathPart,
  type PersonRow,
  type Sources,
  type UnitRow,
  type Where,
} from "./model.js";

// ───────────────────────────── Cross-reference checks ─────────────────────────────

/** Indexes entries by key; later duplicates are reported against the first occurrence. */
function indexUnique<T>(
  entries: readonly Entry<T>[],
  keyOf: (value: T) => string,
  field: PathPart[],
  what: string,
  issues: Issues,
): Map<string, Entry<T>> {
  const seen = new Map<string, Entry<T>>();
  for (const entry of entries) {
    const key = keyOf(entry.value);
    const first = seen.get(key);
    if (!first) {
      seen.set(key, entry);
      continue;
    }
    const place = formatPlace(first.at(...field));
    issues.add(entry.at(...field), `重复的${what} "${key}"（第一次出现在 ${place}）`);
  }
  return seen;
}

type UnitIndex = Map<string, Entry<UnitInput>>;

/** The unit a record refers to, or undefined after reporting the unknown reference. */
function resolveUnit(unitsById: UnitIndex, ref: string, where: Where, issues: Issues): UnitInput | undefined {
  const unit = unitsById.get(ref)?.value;
  // A workbook clerk reads "找不到单位" more easily; text files keep the wording their users already know.
  if (!unit) issues.add(where, `${where.cell ? "找不到单位" : "未知单位"} "${ref}"`);
  return unit;
}

const CLOCK = /^([01]?\d|2[0-3]):[0-5]\d$/;

/** Mistakes the policy schema lets through but the escalation ladder and quiet hours would trip over later. */
function checkTownSettings(settings: TownSettings, at: Entry<UnitInput>["at"], issues: Issues): void {
  const { ladder, quietHours } = settings;
  if (ladder?.some((kind, i) => i > 0 && kindDepth(kind) >= kindDepth(ladder[i - 1] as UnitKind))) {
    issues.add(at("settings", "ladder"), "应从低到高排列且不重复，如 [neighborhood, group, village, town]");
  }
  if (typeof quietHours === "string" && !quietHours.split("-").every((t) => CLOCK.test(t))) {
    issues.add(at("settings", "quietHours"), `时间不对 ${JSON.stringify(quietHours)}（应为 HH:MM-HH:MM，00:00–23:59）`);
  }
}

function checkUnits(entries: readonly Entry<UnitInput>[], unitsById: UnitIndex, issues: Issues): void {
  for (const { value: unit, at } of entries) {
    const allowed = PARENT_KINDS[unit.kind];
    if (unit.settings && unit.kind !== "town") issues.add(at("settings"), "settings 只对镇（town）有效");
    else if (unit.settings) checkTownSettings(unit.settings, at, issues);
    if (allowed.length === 0) {
      if (unit.parent) issues.add(at("parent"), `${describeKind(unit.kind)}是最上级，不能有 parent`);
      continue;
    }
    if (!unit.parent) {
      issues.add(at("parent"), `${describeKind(unit.kind)}必须有 parent（${allowed.map(describeKind).join("或")}）`);
      continue;
    }
    const parent = resolveUnit(unitsById, unit.parent, at("parent"), issues);
    if (parent && !allowed.includes(parent.kind)) {
      issues.add(
        at("parent"),
        `${describeKind(unit.kind)}的上级应为${allowed.map(describeKind).join("或")}，但 "${unit.parent}" 是${describeKind(parent.kind)}`,
      );
    }
  }
}

function checkHouseholds(entries: readonly Entry<HouseholdInput>[], unitsById: UnitIndex, issues: Issues): void {
  for (const { value: household, at } of entries) {
    const unit = resolveUnit(unitsById, household.unit, at("unit"), issues);
    if (unit && unit.kind !== "neighborhood") {
      issues.add(at("unit"), `住户应属于邻（neighborhood），但 "${household.unit}" 是${describeKind(unit.kind)}`);
    }
  }
}

/** True when `unitId` is `ancestorId` or lies below it. */
function isWithin(unitsById: UnitIndex, unitId: string, ancestorId: string): boolean {
  for (let id: string | undefined = unitId; id !== undefined; id = unitsById.get(id)?.value.parent) {
    if (id === ancestorId) return true;
  }
  return false;
}

function checkPeople(
  entries: readonly Entry<PersonInput>[],
  unitsById: UnitIndex,
  householdsById: Map<string, Entry<HouseholdInput>>,
  issues: Issues,
): void {
  for (const { value: person, at } of entries) {
    const unit = resolveUnit(unitsById, person.unit, at("unit"), issues);
    const expected = ROLE_UNIT_KIND[person.role];
    if (unit && expected && unit.kind !== expected) {
      issues.add(
        at("unit"),
        `${describeRole(person.role)}应属于${describeKind(expected)}，但 "${person.unit}" 是${describeKind(unit.kind)}`,
      );
    }
    if (!person.household) continue;
    const household = householdsById.get(person.household)?.value;
    if (!household) issues.add(at("household"), `未知住户 "${person.household}"`);
    // A resident's requests go to their unit's leaders, so their home must be inside that unit.
    else if (unit && person.role === "resident" && !isWithin(unitsById, household.unit, person.unit)) {
      issues.add(
        at("household"),
        `住户 "${person.household}" 在 "${household.unit}"，不在此人的单位 "${person.unit}" 内`,
      );
    }
  }
}

function checkChats(entries: readonly Entry<ChatInput>[], unitsById: UnitIndex, issues: Issues): void {
  for (const { value: chat, at } of entries) resolveUnit(unitsById, chat.unit, at("unit"), issues);
}

// ───────────────────────────── Normalisation ─────────────────────────────

/** One identity per platform account; WeCom userids are case-insensitive, so they are stored lower-cased. */
function identitiesOf({ value: person, at }: Entry<PersonInput>): Entry<IdentityInput>[] {
  const own = platforms.flatMap((platform) => {
    const externalId = person.identities?.[platform];
    if (externalId === undefined) return [];
    return [
      {
        value: {
          platform,
          externalId: platform === "wecom" ? externalId.toLowerCase() : externalId,
          personId: person.id,
          kind: "userid" as const,
        },
        at: () => at("identities", platform),
      },
    ];
  });
  // A person on personal WeChat may be known to WeCom by an external_userid only, or by both: that one is kept as is.
  const wechat = person.identities?.wecom_external;
  return wechat === undefined
    ? own
    : [
        ...own,
        {
          value: { platform: "wecom", externalId: wechat, personId: person.id, kind: "external_userid" },
          at: () => at("identities", "wecom_external"),
        },
      ];
}

const toUnitRow = (u: UnitInput): UnitRow => ({
  id: u.id,
  parentId: u.parent ?? null,
  kind: u.kind,
  name: u.name,
  settings: u.settings ?? {},
});

/** The special tags of the town above `unitId` (its `settings.visits.specialTags`), else the default list. */
function specialTagsFor(unitsById: UnitIndex, unitId: string): ReadonlySet<string> {
  let unit = unitsById.get(unitId)?.value;
  for (let depth = 0; unit && depth < unitKinds.length; depth++) {
    if (unit.kind === "town") {
      const tags = unit.settings?.visits?.specialTags;
      return tags ? new Set(tags) : SPECIAL_TAGS;
    }
    unit = unit.parent ? unitsById.get(unit.parent)?.value : undefined;
  }
  return SPECIAL_TAGS;
}

const toHouseholdRow = (h: HouseholdInput, specialTags: ReadonlySet<string> = SPECIAL_TAGS): HouseholdRow => ({
  id: h.id,
  unitId: h.unit,
  headName: h.head,
  members: h.members,
  tags: h.tags,
  careLevel: h.careLevel ?? (h.tags.some((t) => specialTags.has(t)) ? "special" : "normal"),
  houseNo: h.houseNo ?? null,
  nickname: h.nickname ?? null,
  address: h.address ?? null,
  phone: h.phone ?? null,
});

const toPersonRow = (p: PersonInput): PersonRow => ({
  id: p.id,
  name: p.name,
  role: p.role,
  unitId: p.unit,
  householdId: p.household ?? null,
  phone: p.phone ?? null,
});

const toChatRow = (c: ChatInput): ChatRow => ({
  id: c.id,
  platform: c.platform,
  externalId: c.externalId ?? c.id,
  unitId: c.unit,
  name: c.name,
  webhookUrl: c.webhookUrl ?? null,
  meta: c.meta ?? {},
});

/** Checks `sources` as a whole; throws every problem (with those the readers found) or returns the rows to write. */
export function validateDirectory(sources: Sources, issues: Issues): Directory {
  const { units: unitEntries, households: householdEntries, people: personEntries, chats: chatEntries } = sources;
  const identityEntries = personEntries.flatMap(identitiesOf);

  const byId = <T extends { id: string }>(entries: Entry<T>[], what: string) =>
    indexUnique(entries, (v) => v.id, ["id"], what, issues);
  const unitsById = byId(unitEntries, "单位 id");
  const householdsById = byId(householdEntries, "住户 id");
  byId(personEntries, "人员 id");
  byId(chatEntries, "群 id");
  indexUnique(identityEntries, (v) => `${v.platform}:${v.externalId}`, [], "账号", issues);
  indexUnique(chatEntries, (v) => `${v.platform}:${v.externalId ?? v.id}`, ["externalId"], "群账号", issues);

  checkUnits(unitEntries, unitsById, issues);
  checkHouseholds(householdEntries, unitsById, issues);
  checkPeople(personEntries, unitsById, householdsById, issues);
  checkChats(chatEntries, unitsById, issues);
  issues.throwIfAny();

  return {
    // Stable sort by depth: parents are inserted before their children.
    units: unitEntries.map((e) => toUnitRow(e.value)).sort((a, b) => kindDepth(a.kind) - kindDepth(b.kind)),
    households: householdEntries.map((e) => toHouseholdRow(e.value, specialTagsFor(unitsById, e.value.unit))),
    people: personEntries.map((e) => toPersonRow(e.value)),
    identities: identityEntries.map((e) => e.value),
    chats: chatEntries.map((e) => toChatRow(e.value)),
  };
}
