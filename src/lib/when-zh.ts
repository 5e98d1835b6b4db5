/**
 * When a meeting is, as people write it in Chinese: 12月20日 19:00 / 下周五 19:00 / 20号 晚上7点 / 12/20 19:30 / 明天
 * 下午3点半 / 明年1月5日 19:00. chrono-node's simplified-Chinese parser reads the date and time; what it does not know is written into a
 * form it does first (a bare 20号 becomes the next 20th with its month, 12/20 becomes 12月20日, 二十号 becomes 20号).
 * Times are Asia/Shanghai. A date must open the text and name a day and an hour; what follows is the rest (the place).
 */
import * as chrono from "chrono-node";
import { localParts, TZ } from "./time.js";

export type WhenProblem = "no_date" | "no_time" | "past" | "far";
/** A meeting further ahead than this is a slip (12月1日 typed on 12月10日 reads as next year's). */
const MAX_AHEAD_MS = 92 * 86_400_000;
export type When = { ok: true; at: Date; rest: string } | { ok: false; problem: WhenProblem };

const SHANGHAI_MINUTES = 480;
const DIGITS: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** 二十 → 20, 十二 → 12, 三十一 → 31, 七 → 7 (what dates and hours need). */
function cnNumber(s: string): number | null {
  if (s === "十") return 10;
  const ten = s.indexOf("十");
  if (ten < 0) return s.length === 1 ? (DIGITS[s] ?? null) : null;
  const tens = ten === 0 ? 1 : (DIGITS[s.slice(0, ten)] ?? null);
  const ones = ten === s.length - 1 ? 0 : (DIGITS[s.slice(ten + 1)] ?? null);
  return tens === null || ones === null ? null : tens * 10 + ones;
}

const LEAD = /^[\s：:，,、]+/u;

/** The text in a form chrono's Chinese parser reads (see the module comment). */
function normalize(input: string, now: Date): string {
  let s = input
    .replace(/[０-９]/gu, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0))
    .replace(/(\d)\s*[：:]\s*(\d)/gu, "$1:$2")
    .replace(LEAD, "")
    .replace(/([零〇一二两三四五六七八九十]{1,3})(?=\s*[月日号號点點时時])/gu, (m) => String(cnNumber(m) ?? m))
    .replace(/^(?:本|这|這)(?=周|週|星期|礼拜)/u, "")
    // 明年5月1日 / 今年12月20日: the year written out, which chrono reads (明年 alone it does not).
    .replace(/^(今年|明年)(?=\s*\d{1,2}\s*月)/u, (m) => `${localParts(now).year + (m === "明年" ? 1 : 0)}年`)
    .replace(/^(\d{1,2})\s*[/.-]\s*(\d{1,2})(?!\d)/u, "$1月$2日")
    .replace(/號/gu, "号");
  // A day of the month without its month: the next such day, this month or the next.
  const bare = /^(\d{1,2})\s*[号日](?!\d)/u.exec(s);
  if (bare) {
    const day = Number(bare[1]);
    const today = localParts(now);
    const month = day >= today.day ? today.month : (today.month % 12) + 1;
    s = `${month}月${day}日${s.slice(bare[0].length)}`;
  }
  return s;
}

/**
 * Reads a date and time at the start of `text`. `rest` is what follows it (separators taken off). Not a date there,
 * no hour, or a moment already past: the problem, for a usage hint.
 */
export function parseWhenZh(text: string, now: Date): When {
  const s = normalize(text, now);
  const [found] = chrono.zh.hans.parse(s, { instant: now, timezone: SHANGHAI_MINUTES }, { forwardDate: true });
  if (!found || s.slice(0, found.index).trim() !== "") return { ok: false, problem: "no_date" };
  const day = found.start.isCertain("day") || found.start.isCertain("weekday");
  if (!day) return { ok: false, problem: "no_date" };
  if (!found.start.isCertain("hour")) return { ok: false, problem: "no_time" };
  const at = found.start.date();
  if (at.getTime() <= now.getTime()) return { ok: false, problem: "past" };
  if (at.getTime() > now.getTime() + MAX_AHEAD_MS) return { ok: false, problem: "far" };
  const rest = s.slice(found.index + found.text.length).replace(LEAD, "").trim();
  return { ok: true, at, rest };
}

const WEEKDAY_ZH = ["", "周一", "周二", "周三", "周四", "周五", "周六", "周日"];
const hm = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false });

/** "12月20日（周六）19:00". */
export function formatMeetingTime(at: Date): string {
  const p = localParts(at);
  return `${p.month}月${p.day}日（${WEEKDAY_ZH[p.weekday]}）${hm.format(at)}`;
}
