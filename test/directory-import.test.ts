import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { queryRows, sql } from "../src/db/client.js";
import { DirectoryError, importDirectory, parseDirectoryFile } from "../src/db/directory-import.js";
import { chats } from "../src/db/schema/index.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";

const DEMO = "demo/directory.yaml";
const SPECIAL_TAGS = ["留守儿童", "孤寡老人", "独居老人", "残疾", "低保"];
/** Opening a database and migrating it takes a moment, more so on PostgreSQL. */
const DB_TIMEOUT = 30_000;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haolin-directory-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let fileCounter = 0;
/** Writes lines into a fresh temp file and returns its path (messages name the file by this path). */
function writeTemp(name: string, ...lines: string[]): string {
  const dir = path.join(tmp, String(++fileCounter));
  fs.mkdirSync(dir);
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

type Counts = { units: number; households: number; people: number; identities: number; chats: number };

async function tableCounts(t: TestDatabase): Promise<Counts> {
  const [row] = await queryRows<Counts>(
    t.db,
    sql`select (select count(*)::int from units) as units, (select count(*)::int from households) as households,
        (select count(*)::int from people) as people, (select count(*)::int from identities) as identities,
        (select count(*)::int from chats) as chats`,
  );
  if (!row) throw new Error("no counts");
  return row;
}

describe("the demo directory", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  }, DB_TIMEOUT);
  afterAll(async () => {
    await t?.close();
  });

  it("imports everything as new rows", async () => {
    const summary = await importDirectory(t.db, DEMO);
    expect(summary).toEqual({
      units: { inserted: 23, updated: 0, unchanged: 0 },
      households: { inserted: 63, updated: 0, unchanged: 0 },
      people: { inserted: 34, updated: 0, unchanged: 0 },
      identities: { inserted: 102, updated: 0, unchanged: 0 },
      chats: { inserted: 5, updated: 0, unchanged: 0 },
    });
  });

  it("builds the tree town → village → (area) → group → neighborhood", async () => {
    const kinds = await queryRows<{ kind: string; n: number }>(
      t.db,
      sql`select kind, count(*)::int as n from units group by kind order by kind`,
    );
    expect(Object.fromEntries(kinds.map((k) => [k.kind, k.n]))).toEqual({
      town: 1,
      village: 2,
      area: 3,
      group: 5,
      neighborhood: 12,
    });
    const edges = await queryRows<{ edge: string }>(
      t.db,
      sql`select distinct coalesce(p.kind, '-') || '>' || u.kind as edge
          from units u left join units p on p.id = u.parent_id order by 1`,
    );
    expect(edges.map((e) => e.edge)).toEqual([
      "->town",
      "area>group",
      "group>neighborhood",
      "town>village",
      "village>area",
      "village>group", // 石桥社区二组 has no 片
    ]);
    const [town] = await queryRows<{ settings: Record<string, unknown> }>(
      t.db,
      sql`select settings from units where id = 'qh'`,
    );
    expect(town?.settings).toMatchObject({ answerDeadline: "4h", ladder: ["neighborhood", "group", "village", "town"] });
  });

  it("has leaders at every level except one vacant 邻", async () => {
    const vacant = await queryRows<{ id: string }>(
      t.db,
      sql`select u.id from units u where u.kind = 'neighborhood'
          and not exists (select 1 from people p where p.unit_id = u.id and p.role = 'neighbor_leader')`,
    );
    expect(vacant.map((v) => v.id)).toEqual(["qh-sq-p1-z1-l3"]);
    const leaders = await queryRows<{ kind: string; role: string; units: number; min: number; max: number }>(
      t.db,
      sql`select u.kind, r.role, count(*)::int as units, min(r.n)::int as min, max(r.n)::int as max
          from units u
          join lateral (select p.role, count(*) as n from people p where p.unit_id = u.id group by p.role) r on true
          where r.role <> 'resident' group by u.kind, r.role order by u.kind, r.role`,
    );
    expect(leaders).toEqual([
      { kind: "area", role: "area_leader", units: 3, min: 1, max: 1 },
      { kind: "group", role: "group_leader", units: 5, min: 1, max: 1 },
      { kind: "neighborhood", role: "neighbor_leader", units: 11, min: 1, max: 1 },
      { kind: "town", role: "admin", units: 1, min: 1, max: 1 },
      { kind: "town", role: "town_official", units: 1, min: 2, max: 2 },
      { kind: "village", role: "village_official", units: 2, min: 2, max: 2 },
    ]);
  });

  it("puts 5–8 households in every 邻 and marks special households", async () => {
    const perUnit = await queryRows<{ kind: string; n: number }>(
      t.db,
      sql`select u.kind, count(h.id)::int as n from units u join households h on h.unit_id = u.id group by u.id`,
    );
    expect(perUnit).toHaveLength(12);
    for (const { kind, n } of perUnit) {
      expect(kind).toBe("neighborhood");
      expect(n).toBeGreaterThanOrEqual(5);
      expect(n).toBeLessThanOrEqual(8);
    }
    const rows = await queryRows<{ id: string; tags: string[]; care_level: string; house_no: string | null }>(
      t.db,
      sql`select id, tags, care_level, house_no from households`,
    );
    const tagged = rows.filter((h) => h.tags.some((tag) => SPECIAL_TAGS.includes(tag)));
    expect(tagged.length / rows.length).toBeGreaterThan(0.1);
    expect(tagged.length / rows.length).toBeLessThan(0.25);
    for (const h of tagged) expect(h.care_level).toBe("special");
    // Only h-026 (tag 重病) is special without a listed tag: set explicitly in the CSV.
    expect(rows.filter((h) => h.care_level === "special" && !tagged.includes(h)).map((h) => h.id)).toEqual(["h-026"]);
    expect(rows.every((h) => h.house_no)).toBe(true);
    const namesakes = await queryRows<{ head_name: string; n: number }>(
      t.db,
      sql`select head_name, count(*)::int as n from households group by head_name having count(*) > 1`,
    );
    expect(namesakes).toEqual([{ head_name: "张建华", n: 2 }]);
  });

  it("links residents to their household, 邻长 and 组长", async () => {
    const [row] = await queryRows<{ household_unit: string; neighbor_leader: string; group_leader: string }>(
      t.db,
      sql`select h.unit_id as household_unit,
            (select l.id from people l where l.unit_id = r.unit_id and l.role = 'neighbor_leader') as neighbor_leader,
            (select g.id from people g join units n on n.parent_id = g.unit_id
              where n.id = r.unit_id and g.role = 'group_leader') as group_leader
          from people r join households h on h.id = r.household_id where r.id = 'p-lds'`,
    );
    expect(row).toEqual({ household_unit: "qh-lx-p1-z1-l1", neighbor_leader: "p-wxy", group_leader: "p-hcl" });
    const [residents] = await queryRows<{ n: number; linked: number }>(
      t.db,
      sql`select count(*)::int as n, count(household_id)::int as linked from people where role = 'resident'`,
    );
    expect(residents).toEqual({ n: 8, linked: 8 });
  });

  it("stores identities: sim = person id, WeCom lower-cased, DingTalk leading zeros kept", async () => {
    const rows = await queryRows<{ platform: string; external_id: string; person_id: string }>(
      t.db,
      sql`select platform, external_id, person_id from identities`,
    );
    const byPlatform = (p: string) => rows.filter((r) => r.platform === p);
    expect(byPlatform("sim").every((r) => r.external_id === r.person_id)).toBe(true);
    expect(byPlatform("sim")).toHaveLength(34);
    expect(byPlatform("wecom").every((r) => r.external_id === r.external_id.toLowerCase())).toBe(true);
    expect(rows).toContainEqual({ platform: "wecom", external_id: "wangxiuying", person_id: "p-wxy" });
    expect(rows).toContainEqual({ platform: "dingtalk", external_id: "0101", person_id: "p-wxy" });
  });

  it("has group chats in both villages and one village-wide chat", async () => {
    const rows = await queryRows<{ id: string; kind: string; external_id: string; status: string }>(
      t.db,
      sql`select c.id, u.kind, c.external_id, c.status from chats c join units u on u.id = c.unit_id order by c.id`,
    );
    expect(rows.map((r) => `${r.id}:${r.kind}`)).toEqual([
      "c-lx:village",
      "c-lx-z1:group",
      "c-lx-z3:group",
      "c-sq-z1:group",
      "c-sq-z2:group",
    ]);
    expect(rows.every((r) => r.external_id === r.id && r.status === "active")).toBe(true);
  });
});

describe("re-import", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  }, DB_TIMEOUT);
  afterAll(async () => {
    await t?.close();
  });

  it("is idempotent", async () => {
    await importDirectory(t.db, DEMO);
    const before = await tableCounts(t);
    const again = await importDirectory(t.db, DEMO);
    expect(Object.values(again).every((c) => c.inserted === 0 && c.updated === 0)).toBe(true);
    expect(again.households.unchanged).toBe(63);
    expect(await tableCounts(t)).toEqual(before);
  });

  it("updates changed rows in place and leaves rows missing from the file alone", async () => {
    const before = await tableCounts(t);
    const yaml = fs
      .readFileSync(DEMO, "utf8")
      .replace("name: 柳溪村 }", "name: 柳溪村（新） }")
      .replace('phone: "19900001011"', 'phone: "19900001999"')
      .replace("WangXiuYing", "WangXY")
      .replace(/^.*id: c-lx, .*$/m, ""); // the village chat disappears from the file
    const dir = path.dirname(writeTemp("directory.yaml", yaml));
    const csv = fs.readFileSync("demo/households.csv", "utf8").replace("大山家", "李家大院");
    fs.writeFileSync(path.join(dir, "households.csv"), csv);

    const summary = await importDirectory(t.db, path.join(dir, "directory.yaml"));
    expect(summary.units).toEqual({ inserted: 0, updated: 1, unchanged: 22 });
    expect(summary.households).toEqual({ inserted: 0, updated: 1, unchanged: 62 });
    expect(summary.people).toEqual({ inserted: 0, updated: 1, unchanged: 33 });
    // A new WeCom id is a new identity row; the old one stays (rows are never deleted).
    expect(summary.identities).toEqual({ inserted: 1, updated: 0, unchanged: 101 });
    expect(summary.chats).toEqual({ inserted: 0, updated: 0, unchanged: 4 });

    expect(await tableCounts(t)).toEqual({ ...before, identities: before.identities + 1 });
    const [changed] = await queryRows<{ village: string; nickname: string; phone: string; touched: boolean }>(
      t.db,
      sql`select (select name from units where id = 'qh-lx') as village,
            (select nickname from households where id = 'h-001') as nickname,
            (select phone from people where id = 'p-wxy') as phone,
            (select updated_at > created_at from units where id = 'qh-lx') as touched`,
    );
    expect(changed).toEqual({ village: "柳溪村（新）", nickname: "李家大院", phone: "19900001999", touched: true });
  });
});

describe("invalid files", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  }, DB_TIMEOUT);
  afterAll(async () => {
    await t?.close();
  });

  /** A valid little tree; tests replace single lines (`UNITS.with(lineNumber - 1, …)`), so lines are easy to read off. */
  const UNITS = [
    "units:", // 1
    "  - { id: t, kind: town, name: 青禾镇 }", // 2
    "  - { id: v, parent: t, kind: village, name: 柳溪村 }", // 3
    "  - { id: g, parent: v, kind: group, name: 一组 }", // 4
    "  - { id: n, parent: g, kind: neighborhood, name: 一组一邻 }", // 5
  ];
  const HOUSEHOLDS = ["households:", "  - { id: h1, unit: n, head: 李大山 }"]; // 6, 7
  const PERSON = "  - { id: p1, name: 王秀英, role: neighbor_leader, unit: n, household: h1 }"; // 9

  /** Imports the file, expects a DirectoryError containing every `expected` line, and checks nothing was written. */
  async function expectRejected(file: string, ...expected: string[]): Promise<DirectoryError> {
    const error = await importDirectory(t.db, file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DirectoryError);
    for (const line of expected) expect((error as DirectoryError).message).toContain(line);
    expect(await tableCounts(t)).toEqual({ units: 0, households: 0, people: 0, identities: 0, chats: 0 });
    return error as DirectoryError;
  }

  it("accepts the base file (so each failure below comes from the one line changed)", async () => {
    const file = writeTemp("ok.yaml", ...UNITS, ...HOUSEHOLDS, "people:", PERSON);
    const directory = await parseDirectoryFile(file);
    expect(directory.units.map((u) => u.id)).toEqual(["t", "v", "g", "n"]);
    expect(directory.people).toHaveLength(1);
  });

  it("reports an unknown role", async () => {
    const file = writeTemp("d.yaml", ...UNITS, ...HOUSEHOLDS, "people:", PERSON.replace("neighbor_leader", "leader"));
    await expectRejected(file, `${file}:9: people[0].role: 未知角色 "leader"（可选：resident, neighbor_leader,`);
  });

  it("reports a missing name", async () => {
    const file = writeTemp("d.yaml", ...UNITS, ...HOUSEHOLDS, "people:", PERSON.replace("name: 王秀英, ", ""));
    await expectRejected(file, `${file}:9: people[0].name: 必填`);
  });

  it("reports an unknown parent", async () => {
    const units = UNITS.with(3, "  - { id: g, parent: nowhere, kind: group, name: 一组 }");
    await expectRejected(writeTemp("d.yaml", ...units), `d.yaml:4: units[2].parent: 未知单位 "nowhere"`);
  });

  it("reports a parent of the wrong kind", async () => {
    const units = UNITS.with(4, "  - { id: n, parent: v, kind: neighborhood, name: 一组一邻 }");
    await expectRejected(
      writeTemp("d.yaml", ...units),
      `d.yaml:5: units[3].parent: 邻（neighborhood）的上级应为组（group），但 "v" 是村/社区（village）`,
    );
  });

  it("reports a duplicate id with both places", async () => {
    const file = writeTemp("d.yaml", ...UNITS, "  - { id: g, parent: v, kind: group, name: 二组 }");
    await expectRejected(file, `${file}:6: units[4].id: 重复的单位 id "g"（第一次出现在 ${file}:4）`);
  });

  it("reports a leader in the wrong kind of unit", async () => {
    const file = writeTemp("d.yaml", ...UNITS, ...HOUSEHOLDS, "people:", PERSON.replace("neighbor_leader", "group_leader"));
    await expectRejected(file, `${file}:9: people[0].unit: 组长（group_leader）应属于组（group），但 "n" 是邻（neighborhood）`);
  });

  it("reports a household outside a 邻", async () => {
    const file = writeTemp("d.yaml", ...UNITS, "households:", "  - { id: h1, unit: g, head: 李大山 }");
    await expectRejected(file, `${file}:7: households[0].unit: 住户应属于邻（neighborhood），但 "g" 是组（group）`);
  });

  it("reports an unknown household reference", async () => {
    const file = writeTemp("d.yaml", ...UNITS, ...HOUSEHOLDS, "people:", PERSON.replace("h1", "h9"));
    await expectRejected(file, `${file}:9: people[0].household: 未知住户 "h9"`);
  });

  it("reports bad CSV rows with the CSV's own line numbers", async () => {
    const file = writeTemp("d.yaml", ...UNITS, "householdsCsv: homes.csv");
    const csv = path.join(path.dirname(file), "homes.csv");
    const rows = [
      "# 注释行也计入行号", // 1
      "id,unit,head,members,care_level", // 2
      "h1,n,李大山,李大山、张桂花,", // 3
      "h2,n,王二,王二,vip", // 4
      "", // 5
      "h3,g,赵三,赵三|钱四,", // 6
      "h4,n,孙五", // 7
      "h5,n,,周六,", // 8
    ];
    fs.writeFileSync(csv, rows.join("\n"));
    await expectRejected(
      file,
      `${csv}:4: care_level: 未知关怀等级 "vip"（可选：special, normal）`,
      `${csv}:7: 这一行有 3 列，表头有 5 列`,
      `${csv}:8: head: 必填`,
    );
    // Once every row is well-formed, references are checked: row 6 names a 组, not a 邻.
    fs.writeFileSync(csv, rows.slice(0, 3).concat("", "", rows[5] ?? "").join("\n"));
    await expectRejected(file, `${csv}:6: unit: 住户应属于邻（neighborhood），但 "g" 是组（group）`);
  });

  it("reports an unknown CSV column and a missing CSV file at the referencing line", async () => {
    const file = writeTemp("d.yaml", ...UNITS, "householdsCsv: homes.csv");
    await expectRejected(file, `${file}:6: householdsCsv: 找不到文件`);
    fs.writeFileSync(path.join(path.dirname(file), "homes.csv"), "id,unit,head,rooms\n");
    await expectRejected(file, `homes.csv:1: rooms: 未知列 "rooms"`);
  });

  it("lists several problems at once, in file order", async () => {
    const units = UNITS.with(3, "  - { id: g, parent: nowhere, kind: group, name: 一组 }");
    const file = writeTemp("d.yaml", ...units, ...HOUSEHOLDS, "people:", PERSON.replace("h1", "h9"));
    const error = await expectRejected(file, `d.yaml:4: units[2].parent`, `d.yaml:9: people[0].household`);
    expect(error.issues.map((i) => i.line)).toEqual([4, 9]);
  });

  it("points at nested fields and misspelt keys in block-style YAML", async () => {
    const file = writeTemp(
      "d.yaml",
      ...UNITS,
      "people:", // 6
      "  - id: p1", // 7
      "    name: 王秀英", // 8
      "    role: neighbor_leader", // 9
      "    unit: n", // 10
      "    identities:", // 11
      "      wechat: wxy", // 12
      "  - id: p2", // 13
      "    name: 李四", // 14
      "    role: resident", // 15
      "    unitt: n", // 16
    );
    await expectRejected(
      file,
      `d.yaml:12: people[0].identities.wechat: 未知字段 "wechat"（可选：wecom, dingtalk, sim, wecom_external）`,
      `d.yaml:16: people[1].unitt: 未知字段 "unitt"`,
      `d.yaml:13: people[1].unit: 必填`,
    );
  });

  it("rejects the same WeCom account twice, whatever its case", async () => {
    const file = writeTemp(
      "d.yaml",
      ...UNITS,
      "people:",
      "  - { id: p1, name: 王秀英, role: neighbor_leader, unit: n, identities: { wecom: WangXY } }",
      "  - { id: p2, name: 王小英, role: resident, unit: n, identities: { wecom: wangxy } }",
    );
    await expectRejected(file, `${file}:8: people[1].identities.wecom: 重复的账号 "wecom:wangxy"`);
  });

  it("reports YAML syntax errors with their line", async () => {
    const file = writeTemp("d.yaml", ...UNITS, "people:", "  - { id: p1, name: [王秀英 }");
    await expectRejected(file, `${file}:7: YAML 语法错误`);
  });

  it("keeps unquoted digits as text, leading zeros included", async () => {
    const file = writeTemp(
      "d.yaml",
      ...UNITS,
      "households:",
      "  - { id: h1, unit: n, head: 李大山, houseNo: 12, phone: 19900002001 }",
      "people:",
      "  - { id: p1, name: 王秀英, role: resident, unit: n, household: h1, identities: { dingtalk: 0101 } }",
    );
    const directory = await parseDirectoryFile(file);
    expect(directory.households[0]).toMatchObject({ houseNo: "12", phone: "19900002001", careLevel: "normal" });
    expect(directory.identities).toEqual([{ platform: "dingtalk", externalId: "0101", personId: "p1", kind: "userid" }]);
  });

  it("checks town settings with the policy's schema, then the ladder order and clock times", async () => {
    const town = (settings: string) => UNITS.with(1, `  - { id: t, kind: town, name: 青禾镇, settings: ${settings} }`);
    await expectRejected(
      writeTemp("d.yaml", ...town('{ answerDeadline: 4hours, quietHours: "late" }')),
      `d.yaml:2: units[0].settings.answerDeadline: not a duration`,
      `d.yaml:2: units[0].settings.quietHours: `,
    );
    await expectRejected(
      writeTemp("d.yaml", ...town('{ ladder: [town, group], quietHours: "25:00-07:00" }')),
      `d.yaml:2: units[0].settings.ladder: 应从低到高排列`,
      `d.yaml:2: units[0].settings.quietHours: 时间不对 "25:00-07:00"`,
    );
    await expectRejected(
      writeTemp("d.yaml", ...UNITS.with(2, "  - { id: v, parent: t, kind: village, name: 柳溪村, settings: {} }")),
      `d.yaml:3: units[1].settings: settings 只对镇（town）有效`,
    );
    const ok = await parseDirectoryFile(writeTemp("d.yaml", ...town("{ quietHours: false, custom: { x: 1 } }")));
    expect(ok.units[0]?.settings).toEqual({ quietHours: false, custom: { x: 1 } });
  });
});

describe("a large directory", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  }, DB_TIMEOUT);
  afterAll(async () => {
    await t?.close();
  });

  it("imports 10,000 households, and again changes nothing", async () => {
    const neighborhoods = Array.from({ length: 1000 }, (_, i) => `n${i}`);
    const file = writeTemp(
      "big.yaml",
      "units:",
      "  - { id: t, kind: town, name: 镇 }",
      "  - { id: v, parent: t, kind: village, name: 村 }",
      "  - { id: g, parent: v, kind: group, name: 组 }",
      ...neighborhoods.map((n) => `  - { id: ${n}, parent: g, kind: neighborhood, name: 邻${n} }`),
      "householdsCsv: big.csv",
    );
    const rows = Array.from({ length: 10_000 }, (_, i) => `h${i},n${i % 1000},户主${i},户主${i}、家人${i},${i % 7 ? "" : "低保"}`);
    fs.writeFileSync(path.join(path.dirname(file), "big.csv"), ["id,unit,head,members,tags", ...rows].join("\n"));
    // How fast is a benchmark's question, not a test's (a loaded machine took longer than any fixed bound).
    const summary = await importDirectory(t.db, file);
    expect(summary.households.inserted).toBe(10_000);
    const again = await importDirectory(t.db, file);
    expect(again.households.unchanged).toBe(10_000);
  }, 60_000);
});

// Child processes (tsx compiles on start): generous limits for a loaded machine.
describe("the import CLI", { timeout: 240_000 }, () => {
  const dataDir = path.join(tmp, "cli-data");
  /** Embedded mode: the child gets a private DATA_DIR and never the test's DATABASE_URL. */
  function runCli(file: string) {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
    delete env.DATABASE_URL;
    return spawnSync(process.execPath, ["--import", "tsx", "src/cli/import.ts", file], { env, encoding: "utf8" });
  }

  it("imports the demo into the embedded database and prints a summary", () => {
    const first = runCli(DEMO);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toContain("导入完成：单位 23（新增 23，更新 0，未变 0），住户 63（新增 63");
    // Same DATA_DIR: the second run finds the rows the first one wrote.
    const second = runCli(DEMO);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("单位 23（新增 0，更新 0，未变 23）");
  });

  it("exits 1 with the file, line and field of a bad file", () => {
    const file = writeTemp("bad.yaml", "units:", "  - { id: t, kind: city, name: 青禾镇 }");
    const run = runCli(file);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${file}:2: units[0].kind: 未知单位类型 "city"`);
    expect(run.stdout).toBe("");
  });
});

describe("re-import and server-side chat settings", () => {
  it("keeps a webhook bound outside the file (wecom:bind) when the file names none", async () => {
    const fixture = new URL("./fixtures/directory.yaml", import.meta.url).pathname;
    const t = await createTestDatabase();
    try {
      await importDirectory(t.db, fixture);
      await t.db.update(chats).set({ webhookUrl: "https://qyapi.example/cgi-bin/webhook/send?key=bound" }).where(eq(chats.id, "c1"));
      await importDirectory(t.db, fixture);
      const [c1] = await t.db.select().from(chats).where(eq(chats.id, "c1"));
      expect(c1?.webhookUrl).toBe("https://qyapi.example/cgi-bin/webhook/send?key=bound");
    } finally {
      await t.close();
    }
  });
});
