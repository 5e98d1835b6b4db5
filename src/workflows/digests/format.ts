/**
 * The words of the weekly digest and the monthly report: short markdown that also reads as plain text (bold titles,
 * "-" lists). Leaders' names only: never a phone number, address, household name or tag, nor a resident's words.
 * Platform limits (WeCom 4,096 bytes, DingTalk) are the senders' job; lists are capped so a digest stays ~1 KB.
 */
import { formatDurationZh } from "../../lib/duration.js";
import { LEVEL_ZH } from "../roles.js";
import type { MonthlyFigures, Scorecard } from "./monthly.js";
import { windowLabel } from "./period.js";
import type { WeeklyFigures } from "./weekly.js";

/** "75%（3/4）", or "—" when there is nothing to divide. */
export function pct(n: number, d: number): string {
  if (!d) return "—";
  return `${Math.round((100 * n) / d)}%（${n}/${d}）`;
}

const ratio = (n: number, d: number) => (d ? `${Math.round((100 * n) / d)}%` : "—");

const ESCALATION_ORDER = ["group", "area", "village", "town"] as const;

/** `span`: how the window is named ("近 7 天" on demand); the dates always follow, tickets and visits over the same days. */
export function formatWeeklyDigest(f: WeeklyFigures, unitName: string, span?: string): string {
  const clock = formatDurationZh(f.answerMs);
  const lines = [`**📊 ${unitName} · 周报（${span ? `${span}：` : ""}${windowLabel(f.window)}）**`];
  const esc = ESCALATION_ORDER.filter((l) => f.escalated[l]).map((l) => `${LEVEL_ZH[l]} ${f.escalated[l]}`);
  const escTotal = ESCALATION_ORDER.reduce((a, l) => a + (f.escalated[l] ?? 0), 0);
  lines.push(
    `- 工单：新增 ${f.created} 件，${clock}内答复 ${f.answeredInTime} 件，办结 ${f.resolved} 件${f.resolved ? `（附办结照片 ${f.resolvedWithPhoto} 件）` : ""}，上报 ${escTotal} 件${esc.length ? `（${esc.join("、")}）` : ""}`,
  );
  lines.push(
    `- 三率：响应率 ${pct(f.answeredInTime, f.answerDecided)}｜解决率 ${pct(f.resolvedOfNew, f.created)}｜满意率 ${pct(f.satisfied, f.rated)}`,
  );
  if (f.overdue.count === 0) lines.push("- 逾期：无 👍");
  else {
    lines.push(`- 逾期未办：${f.overdue.count} 件${f.overdue.count > f.overdue.oldest.length ? `（最久的 ${f.overdue.oldest.length} 件）` : ""}`);
    for (const o of f.overdue.oldest) {
      const who = o.holders.length ? o.holders.join("、") : "待分派";
      lines.push(`  - #${o.id} ${o.category} · ${LEVEL_ZH[o.level]}级 · 已 ${formatDurationZh(o.ageMs)} · ${who}`);
    }
  }
  lines.push(`- 重开 ${f.reopened} 件｜办结未经报事人确认 ${f.unconfirmed} 件`);
  if (f.coverage) {
    const { special, all } = f.coverage;
    const logged = f.coverage.logged ? `同期走访 ${f.coverage.logged.visits} 次、联系 ${f.coverage.logged.contacts} 次｜` : "";
    lines.push(`- 走访覆盖：${logged}特殊户 ${pct(special.visited, special.due)}｜全部 ${pct(all.visited, all.due)}`);
  } else lines.push("- 走访覆盖：暂无走访数据");
  if (f.stars.length) {
    const star = f.stars
      .map((s) => `${s.name}（${clock}内答复 ${s.inTime} 件，最快 ${formatDurationZh(s.fastestMs)}）`)
      .join("、");
    lines.push(`- 🌟 本周好邻：${star}`);
  }
  lines.push("发「周报」可随时查看。");
  return lines.join("\n");
}

const trend = (now: number, before: number) => (now > before ? `↑${now - before}` : now < before ? `↓${before - now}` : "持平");

export function scorecardLine(c: Scorecard, answerMs: number): string {
  const median = c.medianFirstAnswerMs === null ? "—" : formatDurationZh(c.medianFirstAnswerMs);
  const visits = c.visits ? pct(c.visits.visited, c.visits.due) : "—";
  return [
    `${c.name}（${c.unitName}）`,
    `综合 ${c.score ?? "—"} 分`,
    `走访按时 ${visits}`,
    `首次答复中位 ${median}`,
    `${formatDurationZh(answerMs)}内答复 ${ratio(c.answeredInTime, c.answerDecided)}`,
    `本级解决 ${ratio(c.ownLevel, c.tickets)}`,
    `满意 ${ratio(c.satisfied, c.rated)}`,
    `重开 ${c.reopened}`,
  ].join(" · ");
}

export function formatMonthlyReport(m: MonthlyFigures, unitName: string, answerMs: number): string {
  const lines = [`**📈 ${unitName} · 月度民情分析（${windowLabel(m.window)}）**`];
  lines.push(`- 工单共 ${m.total} 件（上月 ${m.previousTotal} 件，${trend(m.total, m.previousTotal)}）`);
  if (m.categories.length) {
    lines.push(`- 分类：${m.categories.map((c) => `${c.category} ${c.count}（${trend(c.count, c.previous)}）`).join("；")}`);
  }
  if (m.hotGroups.length) lines.push(`- 热点组：${m.hotGroups.map((g) => `${g.name} ${g.count} 件`).join("；")}`);
  if (m.repeated.length) {
    lines.push(`- 反复出现：${m.repeated.map((r) => `${r.name}「${r.category}」${r.count} 次`).join("；")}`);
  }
  lines.push(
    m.reachedTown.length
      ? `- 上报到镇：${m.reachedTown.length} 件（${m.reachedTown.slice(0, 10).map((t) => `#${t.id} ${t.category}`).join("、")}${m.reachedTown.length > 10 ? " 等" : ""}）`
      : "- 上报到镇：无",
  );
  const mt = m.meetings;
  if (mt.groups > 0) {
    const missing = mt.missing.length ? `；未开：${mt.missing.slice(0, 10).map((g) => g.name).join("、")}${mt.missing.length > 10 ? " 等" : ""}` : "";
    lines.push(`- 民情恳谈会（本月）：${mt.groups - mt.missing.length}/${mt.groups} 个组已开或已安排，共 ${mt.talks} 次${missing}`);
  }
  lines.push(`- 民情分析会（本月）：${mt.analyses} 次`);
  const md = m.mediations;
  lines.push(
    `- 矛盾调解：新登记 ${md.opened} 件，调解成功 ${md.settled} 件，调解不成 ${md.failed} 件，上报上一级 ${md.escalated} 次，仍在调解 ${md.open} 件`,
  );
  lines.push("", "**邻长履职评议**");
  if (m.scorecards.length === 0) lines.push("- 暂无邻长");
  for (const c of [...m.scorecards].sort((a, b) => (b.score ?? -1) - (a.score ?? -1))) lines.push(`- ${scorecardLine(c, answerMs)}`);
  lines.push("综合分 =（30×答复率 + 25×本级解决率 + 25×满意率 + 20×走访按时率）÷ 有数据的权重之和 × 100 − 5×重开次数。");
  return lines.join("\n");
}
