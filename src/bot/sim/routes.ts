/**
 * The chat simulator (platform "sim"): a browser page and a small JSON API that go through exactly the pipeline
 * the real platforms use. Chat ids and user ids are the directory's own ids.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { asc, eq, gt, and } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { chats, people, simMessages, units } from "../../db/schema/index.js";
import type { Runtime } from "../../runtime.js";
import { cleanIncoming } from "../clean.js";
import { handleIncoming } from "../pipeline.js";

const page = readFileSync(new URL("./public/index.html", import.meta.url), "utf8");

const messageBody = z.object({
  chatId: z.string().min(1).max(100),
  userId: z.string().min(1).max(100),
  text: z.string().max(20_000),
  messageId: z.string().min(1).max(200).optional(),
});

export function simRoutes(runtime: Runtime): Hono {
  const app = new Hono();
  const db = runtime.pipeline.db;

  app.get("/", (c) => c.html(page));

  app.get("/sim/directory", async (c) => {
    const [u, ch, p] = await Promise.all([
      db.select({ id: units.id, parentId: units.parentId, kind: units.kind, name: units.name }).from(units).orderBy(units.id),
      db.select({ id: chats.id, name: chats.name, unitId: chats.unitId }).from(chats).where(eq(chats.platform, "sim")).orderBy(chats.id),
      db.select({ id: people.id, name: people.name, role: people.role, unitId: people.unitId }).from(people).orderBy(people.id),
    ]);
    return c.json({ units: u, chats: ch, people: p });
  });

  app.post("/sim/messages", async (c) => {
    const raw = await c.req.json().catch(() => undefined);
    const parsed = messageBody.safeParse(raw);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      return c.json({ error: raw === undefined ? "body must be JSON" : `${first?.path.join(".") || "body"}: ${first?.message}` }, 400);
    }
    // The same cleaning as every platform, before the ids are used for anything.
    const msg = cleanIncoming({
      platform: "sim",
      messageId: parsed.data.messageId ?? randomUUID(),
      chatExternalId: parsed.data.chatId,
      senderExternalId: parsed.data.userId,
      text: parsed.data.text,
      receivedAt: runtime.clock(),
    });
    const chatId = msg.chatExternalId as string;
    const userId = msg.senderExternalId;
    const [person] = await db.select({ id: people.id }).from(people).where(eq(people.id, userId));
    if (!person) return c.json({ error: `userId: unknown person "${userId}"` }, 400);
    const result = await handleIncoming(runtime.pipeline, msg, async (tx, replies) => {
      await tx.insert(simMessages).values([
        { chatId, fromId: userId, text: msg.text, mentions: [] },
        ...replies.map((r) => ({ chatId, fromId: "bot", text: r.text, mentions: r.mentions })),
      ]);
    });
    return c.json({ replies: result.replies.map((r) => ({ text: r.text, mentions: r.mentions })) });
  });

  app.get("/sim/chats/:chatId/messages", async (c) => {
    const after = Number(c.req.query("after") ?? 0);
    const rows = await db
      .select()
      .from(simMessages)
      .where(and(eq(simMessages.chatId, c.req.param("chatId")), gt(simMessages.id, Number.isFinite(after) ? after : 0)))
      .orderBy(asc(simMessages.id))
      .limit(1000);
    return c.json({
      messages: rows.map((m) => ({ id: m.id, at: m.at.toISOString(), from: m.fromId, text: m.text, mentions: m.mentions })),
    });
  });

  return app;
}
