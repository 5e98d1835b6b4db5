/**
 * `npm start` as a supervisor runs it: SIGTERM (systemd, pm2) or SIGINT to npm's own pid stops the bot — the port is
 * closed, the embedded PGlite database is shut down cleanly, and the next start finds what the first one stored.
 * npm hands the signal to its child, so the child must be node itself (no shell or tsx CLI in between).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type BotProcess, freePort, listening, startBot } from "./helpers/bot-process.js";

const started: BotProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const bot of started) bot.killGroup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * The cluster state PostgreSQL records in global/pg_control (ControlFileData.state, a 4-byte enum after the 8-byte
 * system identifier and two 4-byte version fields): 1 = DB_SHUTDOWNED after a clean shutdown, 6 = DB_IN_PRODUCTION
 * while running or after the process was killed.
 */
function clusterState(dataDir: string): number {
  return readFileSync(path.join(dataDir, "global", "pg_control")).readUInt32LE(16);
}
const DB_SHUTDOWNED = 1;
const DB_IN_PRODUCTION = 6;

async function npmStart(dataDir: string, port: number): Promise<BotProcess> {
  const bot = startBot("npm", ["start"], { DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1" });
  started.push(bot);
  await bot.waitReady(port);
  return bot;
}

describe("npm start", () => {
  it("stops on SIGTERM and on SIGINT to npm's pid, closing the port and the embedded database cleanly", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "haolin-npm-start-"));
    dirs.push(dataDir);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;

    const first = await npmStart(dataDir, port);
    expect(clusterState(dataDir)).toBe(DB_IN_PRODUCTION);
    const dir = (await (await fetch(`${base}/sim/directory`)).json()) as { chats: { id: string }[]; people: { id: string; role: string }[] };
    const chatId = dir.chats[0]?.id;
    const resident = dir.people.find((p) => p.role === "resident");
    const res = await fetch(`${base}/sim/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chatId, userId: resident?.id, text: "报事 楼道灯坏了" }),
    });
    expect(res.status).toBe(200);
    const { replies } = (await res.json()) as { replies: { text: string }[] };
    const ticket = replies.map((r) => r.text).join("\n").match(/#\d+/)?.[0];
    expect(ticket).toBeDefined();

    first.child.kill("SIGTERM"); // npm's pid only, as a supervisor does
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('"signal":"SIGTERM"');
    expect(await listening(port)).toBe(false);
    expect(clusterState(dataDir)).toBe(DB_SHUTDOWNED);

    // The same data directory opens again and still holds the first run's report.
    const second = await npmStart(dataDir, port);
    const history = (await (await fetch(`${base}/sim/chats/${chatId}/messages`)).json()) as { messages: { text: string }[] };
    expect(history.messages.map((m) => m.text)).toContain("报事 楼道灯坏了");
    second.child.kill("SIGINT");
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain('"signal":"SIGINT"');
    expect(await listening(port)).toBe(false);
    expect(clusterState(dataDir)).toBe(DB_SHUTDOWNED);
  }, 180_000);
});
