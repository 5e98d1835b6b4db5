/** The unit tree in memory: names, towns and policies without a query per chat or unit. */
import { type Db, queryRows, sql } from "../../db/client.js";
import { jsonValue } from "../../db/rows.js";
import { type UnitKind, units } from "../../db/schema/index.js";
import { pathUpCte, withRecursive } from "../../db/unit-tree.js";
import { type Policy, type PolicyOverrides, policyFor } from "../policy.js";

type UnitRow = { id: string; parentId: string | null; kind: string; name: string; settings: Record<string, unknown> };

const byId = (rows: UnitRow[]) => rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/** The unit tree in memory (thousands of rows at most): names, towns and policies without a query per chat. */
export class UnitTree {
  private readonly byId: Map<string, UnitRow>;
  constructor(rows: UnitRow[]) {
    this.byId = new Map(rows.map((u) => [u.id, u]));
  }
  static async load(db: Db): Promise<UnitTree> {
    return new UnitTree(
      await db.select({ id: units.id, parentId: units.parentId, kind: units.kind, name: units.name, settings: units.settings }).from(units),
    );
  }
  /** Only the unit and the units above it (its town's settings, its name): enough for one chat's 周报. */
  static async loadPath(db: Db, unitId: string): Promise<UnitTree> {
    const rows = await queryRows<UnitRow>(
      db,
      sql`${withRecursive(pathUpCte("up", unitId))} select id, parent_id as "parentId", kind, name, settings from up`,
    );
    return new UnitTree(rows.map((u) => ({ ...u, settings: jsonValue<Record<string, unknown>>(u.settings) ?? {} })));
  }
  get(id: string) {
    return this.byId.get(id);
  }
  name(id: string) {
    return this.byId.get(id)?.name ?? id;
  }
  townOf(id: string): UnitRow | undefined {
    let u = this.byId.get(id);
    for (let i = 0; u && u.kind !== "town" && i < 10; i++) u = u.parentId ? this.byId.get(u.parentId) : undefined;
    return u;
  }
  towns(): UnitRow[] {
    return this.ofKind("town");
  }
  /** Units of one kind, by id. */
  ofKind(kind: UnitKind): UnitRow[] {
    return byId([...this.byId.values()].filter((u) => u.kind === kind));
  }
  /** A unit's children, by id. */
  children(id: string): UnitRow[] {
    return byId([...this.byId.values()].filter((u) => u.parentId === id));
  }
  policy(id: string, overrides: PolicyOverrides): Policy {
    return policyFor(this.townOf(id)?.settings, overrides);
  }
}

