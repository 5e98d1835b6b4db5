/**
 * Visit coverage of many households at once (a county's tens of thousands) reads their histories in one pass by
 * household of the units; it must count exactly what the household-by-household path counts: held here against
 * `visitCoverage` (histories read by household id), for 1,500 households with visits, contacts, unmatched and future
 * ones, and a visit logged under another unit (a household that moved keeps its history).
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { visitCoverage, visitCoverageOfRoots } from "../src/workflows/visits/coverage.js";
import { visitRulesFor } from "../src/workflows/visits/rules.js";
import { createHarness, type Harness } from "./helpers/harness.js";

let h: Harness;
const asOf = new Date("2026-03-20T02:00:00Z");

beforeAll(async () => {
  h = await createHarness({ start: false });
  await h.db.execute(sql`insert into households (id, unit_id, head_name, care_level)
    select 'm' || i, case when i % 2 = 0 then 'n1' else 'n3' end, '户' || i, case when i % 7 = 0 then 'special' else 'normal' end
    from generate_series(1, 1500) i`);
  // Visits and contacts spread over five months before and a few days after asOf; some unmatched; every 50th logged
  // under the village (v), where no household lives.
  await h.db.execute(sql`insert into visits (household_id, leader_id, unit_id, kind, channel, query, status, at)
    select 'm' || i, 'nl1', case when i % 50 = 0 then 'v' when i % 2 = 0 then 'n1' else 'n3' end,
      case when k % 2 = 0 then 'visit' else 'contact' end, 'other', '户' || i, case when i % 13 = 0 then 'unmatched' else 'matched' end,
      ${asOf.toISOString()}::timestamptz - ((i * 37 + k * 11) % 160 - 5) * interval '1 day'
    from generate_series(1, 1500) i, generate_series(1, 2) k where (i + k) % 3 <> 0`);
});
afterAll(async () => {
  await h.close();
});

describe("coverage of many households", () => {
  it("counts what the household-by-household path counts", async () => {
    const many = await visitCoverageOfRoots(h.db, ["n1", "n3", "g1"], asOf, () => visitRulesFor(undefined));
    for (const root of ["n1", "n3", "g1"]) {
      const one = await visitCoverage(h.db, { root }, asOf);
      expect(many.get(root), root).toEqual(one);
    }
    expect(many.get("g1")?.all.due).toBeGreaterThan(750);
    expect((many.get("n1")?.all.covered ?? 0) + (many.get("n3")?.all.covered ?? 0)).toBeGreaterThan(0);
  });
});
