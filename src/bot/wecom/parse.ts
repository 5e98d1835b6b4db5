/**
 * The decrypted 智能机器人 callback (doc 100719 messages, 101027 events), validated. WeCom's JSON examples are
 * trusted over its tables (`card_type` / `event_key` / `task_id`, not `cardtype` / `eventkey`).
 */
import { z } from "zod";

const id = z.string().min(1).max(256);
/** Longer than any text the pipeline takes (MAX_TEXT), so a too-long message is answered "too long", not refused. */
const content = z.object({ content: z.string().max(100_000) });
/** 图片 (100719): a download URL, valid five minutes, of an encrypted file (src/bot/wecom/media.ts). */
const image = z.object({ url: z.string().min(1).max(4096) });
const mixed = z.object({
  msg_item: z.array(z.object({ msgtype: z.string().max(32), text: content.optional(), image: image.optional() })).max(100),
});
const common = {
  msgid: id,
  aibotid: id,
  chatid: id.optional(),
  // from.corpid: "若为企业内部智能机器人不返回" (101027); read nowhere.
  from: z.object({ userid: z.string().min(1).max(128) }),
  response_url: z.string().max(2048).optional(),
  create_time: z.number().optional(),
};
/** 引用 (100719 结构体说明): the quoted message, of any of the message types. */
const quote = z.object({
  msgtype: z.string().max(32),
  text: content.optional(),
  mixed: mixed.optional(),
  voice: content.optional(),
});
/** Messages always say where they come from; the documented events (enter_chat, 101027) need not. */
const message = { ...common, chattype: z.enum(["single", "group"]), quote: quote.optional() };

const textMessage = z.object({ ...message, msgtype: z.literal("text"), text: content });
const mixedMessage = z.object({ ...message, msgtype: z.literal("mixed"), mixed });
const voiceMessage = z.object({ ...message, msgtype: z.literal("voice"), voice: content });
/** 图片消息 (single chat only, 100719). */
const imageMessage = z.object({ ...message, msgtype: z.literal("image"), image: image.optional() });
/** File, video and stream-refresh callbacks: understood, not acted on. */
const otherMessage = z.object({ ...message, msgtype: z.enum(["file", "video", "stream"]) });
const eventMessage = z.object({
  ...common,
  chattype: z.enum(["single", "group"]).optional(),
  msgtype: z.literal("event"),
  event: z.object({
    eventtype: z.string().min(1).max(64),
    // Every field optional: a click we cannot act on is answered 200 and dropped, never refused.
    template_card_event: z
      .object({ card_type: z.string().max(64).optional(), event_key: z.string().max(1024).optional(), task_id: z.string().max(128).optional() })
      .optional(),
  }),
});

const callback = z
  .discriminatedUnion("msgtype", [textMessage, mixedMessage, voiceMessage, imageMessage, otherMessage, eventMessage])
  .refine((m) => m.chattype !== "group" || m.chatid !== undefined, { message: "group callback without chatid" });

export type Callback = z.infer<typeof callback>;
export const KNOWN_MSGTYPES = ["text", "mixed", "voice", "image", "file", "video", "stream", "event"] as const;

export type ParseOutcome =
  | { ok: true; callback: Callback }
  | { ok: false; reason: "not_json" | "wrong_bot" | "unknown_msgtype" | "malformed" };

/** JSON, then the bot id (before the shape: a callback for another bot is refused whatever it holds), then shape. */
export function parseCallback(plaintext: string, botId: string): ParseOutcome {
  let raw: unknown;
  try {
    raw = JSON.parse(plaintext);
  } catch {
    return { ok: false, reason: "not_json" };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, reason: "malformed" };
  const r = raw as Record<string, unknown>;
  if (r.aibotid !== botId) return { ok: false, reason: "wrong_bot" };
  if (!(KNOWN_MSGTYPES as readonly unknown[]).includes(r.msgtype)) return { ok: false, reason: "unknown_msgtype" };
  const parsed = callback.safeParse(raw);
  return parsed.success ? { ok: true, callback: parsed.data } : { ok: false, reason: "malformed" };
}

type Contents = { msgtype: string; text?: { content: string }; voice?: { content: string }; mixed?: z.infer<typeof mixed> };

/** The text a message (or a quoted one) carries (mixed: its text parts), or null for one without text. */
export function messageText(m: Contents): string | null {
  switch (m.msgtype) {
    case "text":
      return m.text?.content ?? null;
    case "voice":
      return m.voice?.content ?? null;
    case "mixed": {
      const parts = (m.mixed?.msg_item ?? []).flatMap((i) => (i.msgtype === "text" && i.text ? [i.text.content.trim()] : []));
      return parts.length ? parts.join(" ") : null;
    }
    default:
      return null;
  }
}

/** The download URLs of a message's photos: an image message's, or the image parts of a mixed one, in order. */
export function messageImages(m: Callback): string[] {
  if (m.msgtype === "image") return m.image ? [m.image.url] : [];
  if (m.msgtype === "mixed") return m.mixed.msg_item.flatMap((i) => (i.msgtype === "image" && i.image ? [i.image.url] : []));
  return [];
}

/** Remove the bot's own @name at the start or end (WeCom includes it in text.content); 好邻居 is not 好邻. */
export function stripBotMention(text: string, botNames: string[]): string {
  let out = text.trim();
  const names = [...botNames].sort((a, b) => b.length - a.length);
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of names) {
      for (const tag of [`@${n}`, `＠${n}`]) {
        if (out.startsWith(tag) && (out.length === tag.length || /\s/u.test(out.charAt(tag.length)))) {
          out = out.slice(tag.length).trim();
          changed = true;
        } else if (out.endsWith(tag) && /\s/u.test(out.charAt(out.length - tag.length - 1))) {
          out = out.slice(0, -tag.length).trim();
          changed = true;
        }
      }
    }
  }
  return out;
}
