/**
 * A row from a raw statement (snake_case columns, driver values) turned into what drizzle's own queries return
 * for the table, for the few hot statements written as SQL (a data-modifying CTE drizzle cannot build).
 */
import { type Column, getTableColumns, type InferSelectModel, type Table } from "drizzle-orm";

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const layouts = new WeakMap<Table, [key: string, name: string, column: Column][]>();

export function fromRow<T extends Table>(table: T, raw: Record<string, unknown>): InferSelectModel<T> {
  let layout = layouts.get(table);
  if (!layout) {
    layout = Object.entries(getTableColumns(table)).map(([key, column]) => [key, snake(key), column]);
    layouts.set(table, layout);
  }
  const out: Record<string, unknown> = {};
  for (const [key, name, column] of layout) {
    const v = raw[name];
    out[key] = v === null || v === undefined ? null : column.mapFromDriverValue(v);
  }
  return out as InferSelectModel<T>;
}

/** A json/jsonb value of a raw statement's row: postgres.js parses it, PGlite may hand it back as text; null stays null. */
export function jsonValue<T>(v: unknown): T | null {
  return v === null || v === undefined ? null : typeof v === "string" ? (JSON.parse(v) as T) : (v as T);
}
