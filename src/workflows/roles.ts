/** Which role leads which kind of unit, and the Chinese words for both. One place for these rules. */
import type { Platform, Role, TicketStatus, UnitKind } from "../db/schema/index.js";

export const LEADER_ROLE: Record<UnitKind, Role> = {
  neighborhood: "neighbor_leader",
  group: "group_leader",
  area: "area_leader",
  village: "village_official",
  town: "town_official",
};

export const ROLE_ZH: Record<Role, string> = {
  resident: "居民",
  neighbor_leader: "邻长",
  group_leader: "组长",
  area_leader: "片长",
  village_official: "村干部",
  town_official: "镇干部",
  admin: "管理员",
};

export const LEVEL_ZH: Record<UnitKind, string> = {
  neighborhood: "邻",
  group: "组",
  area: "片",
  village: "村",
  town: "镇",
};

export const isLeader = (role: Role) => role !== "resident";

/** A village or town official (or an admin): who may send a 通知 down to every group below them. */
export const isOfficial = (role: Role) => role === "village_official" || role === "town_official" || role === "admin";

/** A ticket's status in words: replies, cards and the dashboard say it the same way. */
export const STATUS_ZH: Record<TicketStatus, string> = {
  open: "待答复",
  answered: "处理中",
  resolved: "已办结，待评价",
  closed: "已关闭",
};

/** 三长制: each 邻长 links 5–15 households; a 邻 outside this is flagged on the dashboard's directory. */
export const NEIGHBORHOOD_HOUSEHOLDS = { min: 5, max: 15 } as const;

/** The platforms in words (the workbook's drop-down, the dashboard): the real platforms first, the simulator last. */
export const PLATFORM_ZH: Record<Platform, string> = { wecom: "企业微信", dingtalk: "钉钉", sim: "模拟器" };
