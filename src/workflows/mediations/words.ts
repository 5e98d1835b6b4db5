/**
 * The words of 矛盾调解. Only private messages (to the leaders who mediate, and the one who opened the case) carry the
 * 事由, the parties or the outcome; a group ever reads only `IN_GROUP`. The private texts take the case as `secret`,
 * (and a handed-up case's reason as `why`), so test/privacy-boundary.test.ts can tell them from group texts.
 */
import { formatWhenZh } from "../../lib/time.js";
import { LEVEL_ZH } from "../roles.js";
import type { Mediation } from "./cases.js";

/** All a group ever reads about a case, whatever was done in it. */
export const IN_GROUP = "✅ 已记录一件调解";

export const STATUS_ZH: Record<Mediation["status"], string> = { mediating: "调解中", settled: "已调解", failed: "调解不成" };

/** The first `n` characters of a text, with … when cut. */
const short = (raw: string, n: number) => ([...raw].length > n ? `${[...raw].slice(0, n).join("")}…` : raw);

const next = (id: number) => `调解成功后发「调解成功 #${id} 结果」；调解不成发「调解不成 #${id} 原因」，会上报到上一级。`;

/** To the opener: the case as registered. */
export function openedText(secret: Mediation): string {
  return [`📝 已登记调解 #${secret.id}（${STATUS_ZH.mediating} · ${LEVEL_ZH[secret.level]}级）`, `事由：${secret.summary}`, next(secret.id)].join("\n");
}

/** To each leader of the level the case went up to. */
export function handedUpText(secret: Mediation, why: { from: Mediation["level"]; reason: string; opener: string; now: Date }): string {
  return [
    `⚖️ 调解 #${secret.id} 从${LEVEL_ZH[why.from]}级上报到${LEVEL_ZH[secret.level]}级，请你接手调解。`,
    `事由：${secret.summary}`,
    `${LEVEL_ZH[why.from]}级调解不成的原因：${why.reason}`,
    `登记人：${why.opener}（${formatWhenZh(secret.createdAt, why.now)}）`,
    next(secret.id),
  ].join("\n");
}

/** To whoever acted, and to the opener when someone else did: what became of the case. */
export function outcomeText(secret: Mediation, a: { outcome: "settled" | "escalated" | "failed"; by: string; leaders: string[]; mine: boolean }): string {
  const whose = a.mine ? `调解 #${secret.id}` : `你登记的调解 #${secret.id}（${short(secret.summary, 20)}）`;
  switch (a.outcome) {
    case "settled":
      return `✅ ${whose} 已调解${a.mine ? "" : `（${a.by}）`}：${secret.result ?? ""}`;
    case "escalated":
      return `⏫ ${whose} 已上报到${LEVEL_ZH[secret.level]}级${a.leaders.length ? `，由 ${a.leaders.join("、")} 接手调解` : ""}。`;
    case "failed":
      return `${whose} 记为调解不成（已到${LEVEL_ZH[secret.level]}级）。建议引导当事人申请人民调解委员会调解，或到司法所咨询、依法诉讼。`;
  }
}

/** 待调解, privately: the open cases a leader answers for. */
export function listText(list: Mediation[], now: Date): string {
  if (list.length === 0) return "你负责的范围内没有正在调解的矛盾纠纷。";
  const lines = [`正在调解的矛盾纠纷 ${list.length} 件：`];
  for (const secret of list) {
    lines.push(`#${secret.id} ${LEVEL_ZH[secret.level]}级 · ${formatWhenZh(secret.createdAt, now)} 登记 · ${short(secret.summary, 24)}`);
  }
  lines.push("调解成功发「调解成功 #编号 结果」，调解不成发「调解不成 #编号 原因」。");
  return lines.join("\n");
}

/** To the leaders of the level a case has lain at for days with nothing recorded (reminders.ts). */
export function staleText(secret: Mediation, now: Date): string {
  const days = Math.floor((now.getTime() - secret.updatedAt.getTime()) / (24 * 3600_000));
  return [
    `⏰ 调解 #${secret.id} 在${LEVEL_ZH[secret.level]}级已经 ${days} 天没有进展（${formatWhenZh(secret.createdAt, now)} 登记）。`,
    `事由：${secret.summary}`,
    next(secret.id),
  ].join("\n");
}
