/**
 * The demo's notices and mediation cases (demo/notices-and-mediations.yaml), loaded with the demo directory on the
 * first start through the same workflows as chat, each step at its own time in the past: a notice a few days old
 * with some confirmations (so the 传达率 page has figures and the reminder task has someone to remind), one settled
 * case and one handed up to the 组.
 */
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { z } from "zod";
import { confirmCircular } from "./circulars/confirm.js";
import { sendCircular } from "./circulars/send.js";
import type { Ctx } from "./context.js";
import { getPerson, type Person } from "./directory.js";
import { failMediation, openMediation, settleMediation } from "./mediations/cases.js";

const step = z.object({ daysAgo: z.number(), text: z.string() });
const file = z.object({
  circulars: z.array(z.object({ sender: z.string(), daysAgo: z.number(), text: z.string(), confirmed: z.array(z.string()).default([]) })).default([]),
  mediations: z.array(z.object({ opener: z.string(), daysAgo: z.number(), text: z.string(), settled: step.optional(), failed: step.optional() })).default([]),
});

export async function loadDemoActivity(ctx: Ctx, path: string): Promise<{ circulars: number; mediations: number }> {
  const demo = file.parse(parse(await readFile(path, "utf8")));
  const at = (daysAgo: number): Ctx => ({ ...ctx, now: new Date(ctx.now.getTime() - daysAgo * 86_400_000) });
  const person = async (id: string): Promise<Person> => {
    const p = await getPerson(ctx.db, id);
    if (!p) throw new Error(`demo activity: unknown person ${id}`);
    return p;
  };
  for (const c of demo.circulars) {
    const sent = await sendCircular(at(c.daysAgo), await person(c.sender), null, c.text);
    if (!sent.ok) throw new Error(`demo activity: notice from ${c.sender} not sent`);
    for (const id of c.confirmed) await confirmCircular(at(c.daysAgo - 0.5), await person(id), sent.circular.id);
  }
  for (const m of demo.mediations) {
    const opener = await person(m.opener);
    const opened = await openMediation(at(m.daysAgo), opener, null, m.text);
    if (m.settled) await settleMediation(at(m.settled.daysAgo), opener, opened.id, m.settled.text);
    if (m.failed) await failMediation(at(m.failed.daysAgo), opener, opened.id, m.failed.text);
  }
  return { circulars: demo.circulars.length, mediations: demo.mediations.length };
}
