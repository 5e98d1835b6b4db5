/**
 * WeCom's media storage as the 智能机器人 documents it (100719 图片: "图片的下载url（五分钟内有效，已加密）"): each photo
 * in a callback gets a URL that serves the file encrypted with the bot's EncodingAESKey — AES-256-CBC, IV the key's
 * first 16 bytes, PKCS#7 padding to a multiple of 32 bytes, no framing — for five minutes. Written from the document
 * (its own cipher code, not the bot's). Scripted behaviours: a link that has lapsed, one that fails a few times
 * first, one encrypted with another key, one cut short, one that answers an error document instead of the file.
 */
import { createCipheriv, randomBytes } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { groupText } from "./wecom.js";

export const MEDIA_VALID_MS = 5 * 60_000;

/** The documented encryption of a media file. */
export function encryptMediaFile(encodingAESKey: string, file: Buffer): Buffer {
  const key = Buffer.from(`${encodingAESKey}=`, "base64");
  const pad = 32 - (file.length % 32);
  const cipher = createCipheriv("aes-256-cbc", key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([file, Buffer.alloc(pad, pad)])), cipher.final()]);
}

export type Hosted = {
  file: Buffer;
  /** Served with this key instead of the bot's (a decryption failure). */
  key?: string;
  /** Answer 503 this many times first. */
  failFirst?: number;
  /** Serve only the first n bytes of the ciphertext. */
  truncateTo?: number;
  /** Answer 200 with this JSON error document instead of the file (100719 says nothing of error answers). */
  errorAnswer?: Record<string, unknown>;
  /** Answer only once this settles (a slow download: the bot must not wait for it to reply). */
  hold?: Promise<void>;
  expiresAt: number;
  gets: number;
};

export class FakeWecomMedia {
  private server: Server | null = null;
  private readonly files = new Map<string, Hosted>();
  url = "";

  constructor(
    private readonly encodingAESKey: string,
    /** The fake's clock for link lapses (tests move it; WeCom's is its own). */
    public now: () => number = Date.now,
  ) {}

  static async start(encodingAESKey: string): Promise<FakeWecomMedia> {
    const fake = new FakeWecomMedia(encodingAESKey);
    const server = createServer((req, res) => fake.serve(req.url ?? "/", res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    fake.server = server;
    fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Put a photo up; returns the URL a callback carries. */
  host(file: Buffer, opts: Partial<Omit<Hosted, "file" | "gets" | "expiresAt">> & { validMs?: number } = {}): string {
    const id = randomBytes(12).toString("hex");
    this.files.set(id, { file, ...opts, expiresAt: this.now() + (opts.validMs ?? MEDIA_VALID_MS), gets: 0 });
    return `${this.url}/cgi-bin/aibot/media/${id}?sign=${randomBytes(6).toString("hex")}`;
  }

  /** How many times a hosted URL was asked for (a held request counts once it is answered). */
  gets(url: string): number {
    return this.files.get(/media\/([0-9a-f]+)/.exec(url)?.[1] ?? "")?.gets ?? 0;
  }

  private serve(path: string, res: ServerResponse): void {
    const id = /^\/cgi-bin\/aibot\/media\/([0-9a-f]+)/.exec(path)?.[1];
    const f = id ? this.files.get(id) : undefined;
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    f.gets += 1;
    if (f.hold) {
      const held = f.hold;
      f.hold = undefined;
      f.gets -= 1;
      void held.then(() => this.serve(path, res));
      return;
    }
    // A lapsed link: object storage answers 403 (the signature is no longer valid).
    if (this.now() >= f.expiresAt) {
      res.writeHead(403, { "content-type": "application/xml" }).end("<Error><Code>AccessDenied</Code></Error>");
      return;
    }
    if (f.errorAnswer) {
      res.writeHead(200, { "content-type": "application/json; charset=UTF-8" }).end(JSON.stringify(f.errorAnswer));
      return;
    }
    if (f.failFirst && f.gets <= f.failFirst) {
      res.writeHead(503).end();
      return;
    }
    let body = encryptMediaFile(f.key ?? this.encodingAESKey, f.file);
    if (f.truncateTo !== undefined) body = body.subarray(0, f.truncateTo);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(body.length) }).end(body);
  }

  async close() {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A group 图文混排 callback (100719): text and image items, @ the bot. */
export function groupMixed(botId: string, chatid: string, userid: string, items: ({ text: string } | { url: string })[], msgid: string) {
  const { text: _text, ...envelope } = groupText(botId, chatid, userid, "", msgid);
  return {
    ...envelope,
    msgtype: "mixed",
    mixed: { msg_item: items.map((i) => ("text" in i ? { msgtype: "text", text: { content: i.text } } : { msgtype: "image", image: { url: i.url } })) },
  };
}

/** A single-chat 图片 callback (100719): no chatid. */
export function singleImage(botId: string, userid: string, url: string, msgid: string) {
  const { text: _text, chatid: _chatid, ...envelope } = groupText(botId, "", userid, "", msgid);
  return { ...envelope, chattype: "single", msgtype: "image", image: { url } };
}
