/**
 * Visit coverage of many households at once (a county's tens of thousands) reads their histories in one pass by
 * household of the units; it must count exactly what the household-by-household path counts: held here against
 * `visitCoverage` (histories read by household id), for 1,500 households with visits, contacts, unmatched and future
 * ones, and a visit logged under another unit (a household that moved keeps its history); and both against counts
 * worked out by hand for visits a millisecond either side of each boundary the care plans draw.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../src/db/client.js";
import { visitCoverage, visitCoverageOfRoots } from "../src/workflows/visits/coverage.js";
import { visitRulesFor } from "../src/workflows/visits/rules.js";
import { createHarness, type Harness } from "./helpers/harness.js";

let h: Harness;
const asOf = new Date("2026-03-20T02:00:00Z"); // Friday 10:00 in Shanghai
const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * One entry per household of 二邻, at the edges the default rules draw as of asOf: special — this month from 03-01,
 * contact within 7 days from 03-13 00:00, last month from 02-01; normal — this quarter from 01-01, last quarter from
 * 10-01. The last column: what the household is as of asOf, worked out by hand.
 */
const BOUNDARY: [string, "special" | "normal", "visit" | "contact", string, "matched" | "unmatched", "covered" | "due" | "overdue"][] = [
  ["bs1", "special", "visit", "2026-03-01T00:00:00.000", "matched", "covered"],
  ["bs2", "special", "visit", "2026-02-28T23:59:59.999", "matched", "due"],
  ["bs3", "special", "contact", "2026-03-13T00:00:00.000", "matched", "covered"],
  ["bs4", "special", "contact", "2026-03-12T23:59:59.999", "matched", "overdue"],
  ["bs5", "special", "visit", "2026-03-20T10:00:00.001", "matched", "overdue"],
  ["bs6", "special", "visit", "2026-03-10T09:00:00.000", "unmatched", "overdue"],
  ["bs7", "special", "visit", "2026-02-01T00:00:00.000", "matched", "due"],
  ["bs8", "special", "visit", "2026-01-31T23:59:59.999", "matched", "overdue"],
  ["bn1", "normal", "visit", "2026-01-01T00:00:00.000", "matched", "covered"],
  ["bn2", "normal", "contact", "2026-03-19T09:00:00.000", "matched", "overdue"],
  ["bn3", "normal", "visit", "2025-12-31T23:59:59.999", "matched", "due"],
  ["bn4", "normal", "visit", "2025-10-01T00:00:00.000", "matched", "due"],
  ["bn5", "normal", "visit", "2025-09-30T23:59:59.999", "matched", "overdue"],
  ["bn6", "normal", "visit", "2026-03-20T10:00:00.000", "matched", "covered"],
];

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
  // 二邻 (n2, whose one household h2 was never visited): a household per boundary, each with one entry.
  for (const [id, plan, kind, local, status] of BOUNDARY) {
    await h.db.execute(sql`insert into households (id, unit_id, head_name, care_level) values (${id}, 'n2', ${id}, ${plan})`);
    await h.db.execute(sql`insert into visits (household_id, leader_id, unit_id, kind, channel, query, status, at)
      values (${id}, 'nl1', 'n2', ${kind}, 'other', ${id}, ${status}, ${sh(local).toISOString()}::timestamptz)`);
  }
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

  it("judges each household at the plans' edges as worked out by hand", async () => {
    // h2 (normal, never visited) is overdue as well.
    const judged = [...BOUNDARY.map(([, plan, , , , status]) => ({ plan, status })), { plan: "normal", status: "overdue" }];
    const counts = (list: typeof judged) => ({
      due: list.length,
      covered: list.filter((x) => x.status === "covered").length,
      overdue: list.filter((x) => x.status === "overdue").length,
    });
    const expected = { special: counts(judged.filter((x) => x.plan === "special")), all: counts(judged) };
    expect(expected).toEqual({ special: { due: 8, covered: 2, overdue: 4 }, all: { due: 15, covered: 4, overdue: 7 } });
    expect((await visitCoverageOfRoots(h.db, ["n2"], asOf, () => visitRulesFor(undefined))).get("n2")).toEqual(expected);
    expect(await visitCoverage(h.db, { root: "n2" }, asOf)).toEqual(expected);
  });

  it("still counts what the visits say after visits are matched by hand, moved to another household and deleted", async () => {
    await h.db.execute(sql`update visits set status = 'matched' where status = 'unmatched' and id % 2 = 0`);
    await h.db.execute(sql`update visits set household_id = 'm' || (1 + (substr(household_id, 2)::int * 7) % 1500) where household_id like 'm%' and id % 17 = 0`);
    await h.db.execute(sql`update visits set at = at - interval '40 days' where id % 19 = 0`);
    await h.db.execute(sql`delete from visits where id % 11 = 0`);
    // The triggers' marks are what a count from scratch gives.
    const [diff] = await queryRows<{ n: number | string }>(
      h.db,
      sql`select count(*) as n from household_visit_marks m
        full join (select household_id, max(at) filter (where kind = 'visit') as v, max(at) as t from visits
                   where status = 'matched' and household_id is not null group by household_id) a on a.household_id = m.household_id
        where m.last_visit_at is distinct from a.v or m.last_touch_at is distinct from a.t`,
    );
    expect(Number(diff?.n)).toBe(0);
    const roots = ["n1", "n2", "n3", "g1"];
    const many = await visitCoverageOfRoots(h.db, roots, asOf, () => visitRulesFor(undefined));
    for (const root of roots) expect(many.get(root), root).toEqual(await visitCoverage(h.db, { root }, asOf));
  });

  it("counts kept between calls follow a visit logged, a household's care level changed and a visit deleted", async () => {
    // Later than every visit, so the counts may be kept (none of the marks is after it).
    const later = new Date("2026-09-01T02:00:00Z");
    const many = async () => (await visitCoverageOfRoots(h.db, ["n2"], later, () => visitRulesFor(undefined))).get("n2");
    const one = () => visitCoverage(h.db, { root: "n2" }, later);
    const before = await many();
    expect(before).toEqual(await one());
    expect(await many()).toEqual(before);
    await h.db.execute(sql`insert into visits (household_id, leader_id, unit_id, kind, channel, query, status, at)
      values ('h2', 'nl1', 'n2', 'visit', 'home', '赵二', 'matched', ${new Date("2026-08-31T02:00:00Z").toISOString()}::timestamptz)`);
    const visited = await many();
    expect(visited?.all.covered).toBe((before?.all.covered ?? 0) + 1);
    expect(visited).toEqual(await one());
    await h.db.execute(sql`update households set care_level = 'special' where id = 'h2'`);
    const special = await many();
    expect(special?.special.due).toBe((before?.special.due ?? 0) + 1);
    expect(special).toEqual(await one());
    await h.db.execute(sql`delete from visits where household_id = 'h2'`);
    const deleted = await many();
    expect(deleted?.all.covered).toBe(before?.all.covered);
    expect(deleted).toEqual(await one());
    // As of an instant some marks are later than (bs5's visit): kept for that instant, and still following a visit.
    const past = async () => (await visitCoverageOfRoots(h.db, ["n2"], asOf, () => visitRulesFor(undefined))).get("n2");
    const pastBefore = await past();
    expect(await past()).toEqual(pastBefore);
    await h.db.execute(sql`insert into visits (household_id, leader_id, unit_id, kind, channel, query, status, at)
      values ('h2', 'nl1', 'n2', 'visit', 'home', '赵二', 'matched', ${new Date("2026-03-19T02:00:00Z").toISOString()}::timestamptz)`);
    const pastVisited = await past();
    expect(pastVisited?.special.covered).toBe((pastBefore?.special.covered ?? 0) + 1);
    expect(pastVisited).toEqual(await visitCoverage(h.db, { root: "n2" }, asOf));
  });
});
