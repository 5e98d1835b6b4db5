/** Wall-clock helpers in the towns' time zone (Asia/Shanghai, UTC+8 without daylight saving). */
export const TZ = "Asia/Shanghai";
const OFFSET_MS = 8 * 3_600_000;

const timeFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false });
const secondsFmt = new Intl.DateTimeFormat("zh-CN", {
  timeZone: TZ,
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});
const dateFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, month: "long", day: "numeric" });

/** Minutes since local midnight in Asia/Shanghai. */
export function localMinutes(at: Date): number {
  const ms = at.getTime() + OFFSET_MS;
  return Math.floor((((ms % 86_400_000) + 86_400_000) % 86_400_000) / 60_000);
}

/** The instant of local midnight (Asia/Shanghai) of the day containing `at`. */
export function localMidnight(at: Date): Date {
  const ms = at.getTime() + OFFSET_MS;
  return new Date(ms - (((ms % 86_400_000) + 86_400_000) % 86_400_000) - OFFSET_MS);
}

/** "今天 14:30", "明天 09:00" or "5月3日 09:00" relative to `now`; with seconds when it is minutes away (short demo clocks). */
export function formatWhenZh(at: Date, now: Date): string {
  const days = Math.round((localMidnight(at).getTime() - localMidnight(now).getTime()) / 86_400_000);
  const hm = (Math.abs(at.getTime() - now.getTime()) < 10 * 60_000 ? secondsFmt : timeFmt).format(at);
  if (days === 0) return `今天 ${hm}`;
  if (days === 1) return `明天 ${hm}`;
  if (days === -1) return `昨天 ${hm}`;
  return `${dateFmt.format(at)} ${hm}`;
}
