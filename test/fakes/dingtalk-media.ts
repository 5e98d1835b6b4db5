/**
 * DingTalk's robot message files, as documented ("下载机器人接收消息的文件内容", open.dingtalk.com
 * .../download-the-file-content-of-the-robot-receiving-message; the official SDKs' downloadMessageFiles): a robot
 * message's `downloadCode` is exchanged at POST /v1.0/robot/messageFiles/download with `{downloadCode, robotCode}`
 * and the app's access token for `{downloadUrl}`, a temporary link to the file itself. Added to the FakeDingTalk as
 * one more OpenAPI route; the files are served from this fake's own HTTP server. Scripted: a code that is refused,
 * links that lapse at once, a file server that fails a few times, one that answers an error document instead.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FakeDingTalk } from "./dingtalk.js";

type File = { data: Buffer; linkValidMs: number; failFirst: number; gets: number; errorAnswer?: Record<string, unknown> };

export class FakeDingTalkMedia {
  private readonly files = new Map<string, File>();
  private readonly links = new Map<string, { code: string; expiresAt: number }>();
  private server: Server | null = null;
  /** Every exchange of a code for a link: the body as sent. */
  readonly exchanges: Record<string, unknown>[] = [];
  url = "";

  private constructor(private readonly fake: FakeDingTalk) {}

  static async attach(fake: FakeDingTalk): Promise<FakeDingTalkMedia> {
    const m = new FakeDingTalkMedia(fake);
    const server = createServer((req, res) => {
      const token = /^\/files\/([0-9a-f]+)/.exec(req.url ?? "")?.[1] ?? "";
      const link = m.links.get(token);
      const file = link ? m.files.get(link.code) : undefined;
      if (!link || !file) return void res.writeHead(404).end();
      file.gets += 1;
      if (Date.now() >= link.expiresAt) return void res.writeHead(403, { "content-type": "application/xml" }).end("<Error><Code>AccessDenied</Code></Error>");
      if (file.gets <= file.failFirst) return void res.writeHead(502).end();
      // The document says nothing of an error answer from the download link; this one is JSON with a 200.
      if (file.errorAnswer) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(file.errorAnswer));
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(file.data.length) }).end(file.data);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    m.server = server;
    m.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fake.routes.set("POST /v1.0/robot/messageFiles/download", (body) => m.exchange(body));
    return m;
  }

  /** A file a user sent; returns its downloadCode. */
  upload(data: Buffer, opts: { linkValidMs?: number; failFirst?: number; errorAnswer?: Record<string, unknown> } = {}): string {
    const code = `dlc${randomBytes(16).toString("base64url")}`;
    this.files.set(code, { data, linkValidMs: opts.linkValidMs ?? 60_000, failFirst: opts.failFirst ?? 0, gets: 0, errorAnswer: opts.errorAnswer });
    return code;
  }

  gets(code: string): number {
    return this.files.get(code)?.gets ?? 0;
  }

  private exchange(body: Record<string, unknown>) {
    this.exchanges.push(body);
    // The document's error table: HTTP 400 with these codes and messages.
    if (body.robotCode !== this.fake.clientId)
      return { status: 400, body: { code: "invalidParameter.robotCode.auth", message: "此downloadCode和机器人robotCode不匹配，请使用接收此条消息机器人robotCode和对应的downloadCode" } };
    const code = typeof body.downloadCode === "string" ? body.downloadCode : "";
    const file = this.files.get(code);
    if (!file) return { status: 400, body: { code: "invalidParameter.robotCode.downloadCode", message: "下载码有误或者已经过期" } };
    const token = randomBytes(12).toString("hex");
    this.links.set(token, { code, expiresAt: Date.now() + file.linkValidMs });
    return { status: 200, body: { downloadUrl: `${this.url}/files/${token}?Expires=${Date.now() + file.linkValidMs}` } };
  }

  async close() {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
