/**
 * The per-unit table's columns and order, shared by its page (/dashboard/units) and its sheet in the XLSX export:
 * one definition, so the two never disagree on what a column is or how rows are ranked.
 */
import type { UnitRates } from "./queries/unit-rates.js";

export type Ratio = { n: number; d: number };
export type UnitColumn = {
  key: string;
  header: string;
  /** A share (n of d), or a plain count. */
  value: (r: UnitRates) => Ratio | number;
  /** Higher is better (the 红榜 end): the first click on its header sorts best first. */
  higherIsBetter: boolean;
  /** A share (value gives n of d) rather than a count. */
  ratio: boolean;
};

export const UNIT_COLUMNS: UnitColumn[] = [
  { key: "created", header: "新增", value: (r) => r.created, higherIsBetter: true, ratio: false },
  { key: "answer", header: "响应率", value: (r) => ({ n: r.answeredInTime, d: r.answerDecided }), higherIsBetter: true, ratio: true },
  { key: "resolve", header: "解决率", value: (r) => ({ n: r.resolvedOfNew, d: r.created }), higherIsBetter: true, ratio: true },
  { key: "satisfy", header: "满意率", value: (r) => ({ n: r.satisfied, d: r.rated }), higherIsBetter: true, ratio: true },
  { key: "overdue", header: "逾期", value: (r) => r.overdue, higherIsBetter: false, ratio: false },
  { key: "special", header: "特殊户走访", value: (r) => ({ n: r.coverage.special.covered, d: r.coverage.special.due }), higherIsBetter: true, ratio: true },
  { key: "coverage", header: "走访覆盖", value: (r) => ({ n: r.coverage.all.covered, d: r.coverage.all.due }), higherIsBetter: true, ratio: true },
];

export const isRatio = (v: Ratio | number): v is Ratio => typeof v === "object";
/** A share as a number 0–1, or null when there is nothing to divide. */
export const shareOf = (v: Ratio) => (v.d ? v.n / v.d : null);

export type UnitSort = { key: string; dir: "asc" | "desc" };

export function parseUnitSort(q: Record<string, string | undefined>): UnitSort {
  const col = UNIT_COLUMNS.find((c) => c.key === q.sort);
  if (!col) return q.sort === "name" ? { key: "name", dir: q.dir === "desc" ? "desc" : "asc" } : { key: "answer", dir: "desc" };
  return { key: col.key, dir: q.dir === "asc" || q.dir === "desc" ? q.dir : col.higherIsBetter ? "desc" : "asc" };
}

/** Rows in the chosen order; a share with nothing to divide ("—") goes last either way; ties by unit id. */
export function sortUnits(rows: UnitRates[], s: UnitSort): UnitRates[] {
  const col = UNIT_COLUMNS.find((c) => c.key === s.key);
  const sign = s.dir === "asc" ? 1 : -1;
  const key = (r: UnitRates): number | null => {
    if (!col) return null;
    const v = col.value(r);
    return isRatio(v) ? shareOf(v) : v;
  };
  return [...rows].sort((a, b) => {
    if (!col) return sign * a.name.localeCompare(b.name, "zh-CN") || a.unitId.localeCompare(b.unitId);
    const [x, y] = [key(a), key(b)];
    if (x === null || y === null) return x === y ? a.unitId.localeCompare(b.unitId) : x === null ? 1 : -1;
    return sign * (x - y) || a.unitId.localeCompare(b.unitId);
  });
}
