/**
 * The embedded database's memory settings (src/db/pglite.ts): an empty data directory is initialised by a child
 * process, the settings hold on every start, and what was written is there after a reopen. (PGlite in memory, as
 * most tests open it, does not take the settings; only a data directory's start is the product's.)
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, queryRows, sql } from "../src/db/client.js";

const dir = mkdtempSync(path.join(tmpdir(), "haolin-pglite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const settings = async (dataDir?: string) => {
  const database = await openDatabase({ dataDir });
  try {
    const rows = await queryRows<{ name: string; setting: string; unit: string }>(
      database.db,
      sql`select name, setting, unit from pg_settings where name in ('shared_buffers', 'maintenance_work_mem') order by name`,
    );
    return { database, rows: rows.map((r) => `${r.name}=${r.setting}${r.unit === "8kB" ? "×" : ""}${r.unit}`) };
  } catch (err) {
    await database.close();
    throw err;
  }
};

describe("embedded PGlite", () => {
  it("initialises an empty data directory, starts with the small buffers, and keeps its data across a reopen", async () => {
    const dataDir = path.join(dir, "data");
    const first = await settings(dataDir);
    // 16 MB = 2048 pages of 8 kB; maintenance_work_mem is in kB.
    expect(first.rows).toEqual(["maintenance_work_mem=16384kB", "shared_buffers=2048×8kB"]);
    expect(existsSync(path.join(dataDir, "PG_VERSION"))).toBe(true);
    await first.database.db.execute(sql`create table kept (v text)`);
    await first.database.db.execute(sql`insert into kept values ('still here')`);
    await first.database.close();

    const second = await settings(dataDir);
    expect(second.rows).toEqual(["maintenance_work_mem=16384kB", "shared_buffers=2048×8kB"]);
    expect(await queryRows(second.database.db, sql`select v from kept`)).toEqual([{ v: "still here" }]);
    await second.database.close();
  }, 120_000);
});
