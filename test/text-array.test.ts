/**
 * textArray (src/db/client.ts): many strings as one text[] parameter. Every string comes back as it went in, whatever
 * it holds (quotes, backslashes, commas, braces, spaces, NULL as a word, CJK, the empty string), on both drivers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows, sql, textArray } from "../src/db/client.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.close();
});

describe("textArray", () => {
  it("round-trips awkward strings in order", async () => {
    const values = ['a"b', "c\\d", "e,f", "{g}", " h ", "NULL", "东村一组", "", "i'j", "\\\"", "k\nl"];
    const rows = await queryRows<{ v: string; n: number | string }>(
      t.db,
      sql`select v, n from unnest(${textArray(values)}) with ordinality as x(v, n) order by n`,
    );
    expect(rows.map((r) => r.v)).toEqual(values);
  });

  it("an empty list is an empty array", async () => {
    const rows = await queryRows<{ n: number | string }>(t.db, sql`select cardinality(${textArray([])}) as n`);
    expect(Number(rows[0]?.n)).toBe(0);
  });
});
