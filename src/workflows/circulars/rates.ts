/**
 * 传达率: of the people a notice asked to pass it on, how many have confirmed — for the notice's whole subtree and for
 * each unit in it that has anyone to ask (a recipient counts for their own unit and every unit above it, up to the
 * notice's unit), with the names of those who have not confirmed yet.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../../db/client.js";
import { circularRecipients, people, type UnitKind, units } from "../../db/schema/index.js";

export type Waiting = { personId: string; name: string; unitId: string; unitName: string; remindedAt: Date | null };
export type UnitRate = { unitId: string; name: string; kind: UnitKind; depth: number; total: number; confirmed: number; waiting: Waiting[] };

const ORDER: Record<UnitKind, number> = { town: 0, village: 1, area: 2, group: 3, neighborhood: 4 };

/** One row per unit from the notice's unit down, in tree order (the notice's unit first). */
export async function relayRates(db: Db, circular: { id: number; unitId: string }): Promise<UnitRate[]> {
  const rows = await db
    .select({
      personId: circularRecipients.personId,
      unitId: circularRecipients.unitId,
      confirmedAt: circularRecipients.confirmedAt,
      remindedAt: circularRecipients.remindedAt,
      name: people.name,
    })
    .from(circularRecipients)
    .innerJoin(people, eq(people.id, circularRecipients.personId))
    .where(eq(circularRecipients.circularId, circular.id))
    .orderBy(circularRecipients.unitId, people.name);
  const all = await db.select({ id: units.id, parentId: units.parentId, kind: units.kind, name: units.name }).from(units);
  const byId = new Map(all.map((u) => [u.id, u]));
  const rates = new Map<string, UnitRate>();
  for (const r of rows) {
    // The recipient's unit and each unit above it, up to the notice's own unit.
    const chain: string[] = [];
    for (let u = byId.get(r.unitId); u && chain.length < 10; u = u.parentId ? byId.get(u.parentId) : undefined) {
      chain.push(u.id);
      if (u.id === circular.unitId) break;
    }
    if (chain.at(-1) !== circular.unitId) chain.push(circular.unitId);
    for (const id of chain) {
      const u = byId.get(id);
      const rate = rates.get(id) ?? {
        unitId: id,
        name: u?.name ?? id,
        kind: u?.kind ?? "neighborhood",
        depth: 0,
        total: 0,
        confirmed: 0,
        waiting: [],
      };
      rate.total += 1;
      if (r.confirmedAt) rate.confirmed += 1;
      else rate.waiting.push({ personId: r.personId, name: r.name, unitId: r.unitId, unitName: byId.get(r.unitId)?.name ?? r.unitId, remindedAt: r.remindedAt });
      rates.set(id, rate);
    }
  }
  // Tree order: each unit after its parent, siblings by id.
  const depthOf = (id: string): number => {
    let d = 0;
    for (let u = byId.get(id); u && u.id !== circular.unitId && d < 10; u = u.parentId ? byId.get(u.parentId) : undefined) d += 1;
    return d;
  };
  const pathKey = (id: string): string => {
    const ids: string[] = [];
    for (let u = byId.get(id); u && ids.length < 10; u = u.parentId ? byId.get(u.parentId) : undefined) {
      ids.unshift(`${ORDER[u.kind]}:${u.id}`);
      if (u.id === circular.unitId) break;
    }
    return ids.join("/");
  };
  return [...rates.values()]
    .map((r) => ({ ...r, depth: depthOf(r.unitId) }))
    .sort((a, b) => (pathKey(a.unitId) < pathKey(b.unitId) ? -1 : pathKey(a.unitId) > pathKey(b.unitId) ? 1 : 0));
}
