/**
 * The chat simulator (platform "sim"): a browser page and a small JSON API that go through exactly the pipeline
 * the real platforms use. Chat ids and user ids are the directory's own ids.
 */
import { randomUUID } from "node:crypto";
import { asc, eq, gt, and } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { queryRows, sql } from "../../db/client.js";
import { chats, people, simMessages, units } from "../../db/schema/index.js";
import { postedImage } from "../../workflows/media/posted.js";
import type { Runtime } from "../../runtime.js";
import { cleanIncoming } from "../clean.js";
import { handleIncoming } from "../pipeline.js";
import { SIM_PAGE } from "./page.js";
import { dmChatId } from "./sender.js";


/** Base64 of a little more than the 10 MB limit, so an oversized photo is answered as such rather than refused. */
const MAX_BASE64 = 16 * 1024 * 1024;
/** How long an inline photo may wait for its job (it is in the database already; this only bounds a stuck row). */
const INLINE_VALID_MS = 24 * 3600_000;

const attachment = z.object({
  kind: z.literal("image"),
  dataBase64: z.string().min(1).max(MAX_BASE64).regex(/^[A-Za-z0-9+/\r\n]*={0,2}$/, "not base64"),
  fileName: z.string().max(200).optional(),
});

const messageBody = z
  .object({
    /** The group; omitted with `private`: a single chat with the bot (its log is the person's 私信). */
    chatId: z.string().min(1).max(100).optional(),
    private: z.boolean().optional(),
    userId: z.string().min(1).max(100),
    text: z.string().max(20_000).default(""),
    messageId: z.string().min(1).max(200).optional(),
    attachments: z.array(attachment).max(9).optional(),
    /** A shared location: coordinates and the name of the place (neither platform's robot documents define one). */
    location: z
      .object({ latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180), name: z.string().max(200).default("") })
      .optional(),
    /** The text stands for a voice message (as the platforms' transcriptions do). */
    voice: z.boolean().optional(),
    /** The message being quoted, as the platforms give it: its text. */
    quote: z.object({ text: z.string().max(20_000) }).optional(),
  })
  .refine((b) => b.text.trim() !== "" || (b.attachments?.length ?? 0) > 0 || b.location, {
    message: "text is required unless an attachment or a location is sent",
    path: ["text"],
  })
  .refine((b) => (b.private === true) === (b.chatId === undefined), {
    message: "give either a chatId (a group) or private: true (a single chat with the bot)",
    path: ["chatId"],
  });

export function simRoutes(runtime: Runtime): Hono {
  const app = new Hono();
  const db = runtime.pipeline.db;

  app.get("/", (c) => c.html(SIM_PAGE));

  app.get("/sim/directory", async (c) => {
    const [u, ch, p] = await Promise.all([
      db.select({ id: units.id, parentId: units.parentId, kind: units.kind, name: units.name }).from(units).orderBy(units.id),
      // The simulator names a chat by its platform id (as WeCom and DingTalk do): a group bound on the dashboard has an id of its own.
      db.select({ id: chats.externalId, name: chats.name, unitId: chats.unitId }).from(chats).where(eq(chats.platform, "sim")).orderBy(chats.id),
      // A deactivated person (停用) is nobody to speak as.
      db.select({ id: people.id, name: people.name, role: people.role, unitId: people.unitId }).from(people).where(eq(people.active, true)).orderBy(people.id),
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
    const { attachments = [], location, quote, voice } = parsed.data;
    const msg = cleanIncoming({
      platform: "sim",
      messageId: parsed.data.messageId ?? randomUUID(),
      chatExternalId: parsed.data.chatId ?? null,
      senderExternalId: parsed.data.userId,
      text: parsed.data.text,
      receivedAt: runtime.clock(),
      attachments: attachments.map((a) => ({
        kind: "image" as const,
        source: { platform: "sim" as const, ...(a.fileName ? { fileName: a.fileName } : {}) },
        data: Buffer.from(a.dataBase64, "base64"),
        validMs: INLINE_VALID_MS,
      })),
      ...(location ? { location } : {}),
      ...(quote ? { quote } : {}),
      ...(voice ? { voice } : {}),
    });
    const userId = msg.senderExternalId;
    // A single chat's messages and answers go to the person's 私信 log, where the bot's private messages are.
    const chatId = msg.chatExternalId ?? dmChatId(userId);
    const [person] = await db.select({ id: people.id }).from(people).where(eq(people.id, userId));
    if (!person) return c.json({ error: `userId: unknown person "${userId}"` }, 400);
    const result = await handleIncoming(runtime.pipeline, msg, async (tx, replies) => {
      // The chat log shows that a photo or a place was sent, not the photo itself.
      const marks = [attachments.length ? `[照片 ×${attachments.length}]` : "", location ? "[位置]" : ""].filter(Boolean);
      await tx.insert(simMessages).values([
        { chatId, fromId: userId, text: [msg.text, ...marks].filter(Boolean).join(" "), mentions: [] },
        ...replies.map((r) => ({ chatId, fromId: "bot", text: r.text, mentions: r.mentions })),
      ]);
    });
    return c.json({ replies: result.replies.map((r) => ({ text: r.text, mentions: r.mentions })) });
  });

  // A picture the bot posted (the 好邻 poster), for the page to show: only images some outbox row carried, never a
  // ticket's photo (those stay behind the dashboard's sign-in).
  app.get("/sim/media/:sha256", async (c) => {
    const sha = c.req.param("sha256");
    if (!/^[0-9a-f]{64}$/.test(sha)) return c.text("not found", 404);
    const posted = await queryRows(db, sql`select 1 from outbox where payload -> 'image' ->> 'sha256' = ${sha} limit 1`);
    if (posted.length === 0) return c.text("not found", 404);
    const img = await postedImage(db, sha);
    if (!img) return c.text("not found", 404);
    return c.body(new Uint8Array(img.data), 200, { "content-type": img.mime, "cache-control": "private, max-age=86400" });
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
