/** The real binary: `npm start`'s embedded default comes up with the demo directory, answers, and stops cleanly. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadEnv } from "../src/env.js";

const root = path.resolve(import.meta.dirname, "..");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function start(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !["DATABASE_URL", "REDIS_URL", "NODE_ENV", "VITEST", "LOG_LEVEL"].includes(k)),
  ) as Record<string, string>;
  // No LOG_LEVEL: the level production runs at (the default, info), so log-content checks see every line it writes.
  const child = spawn(process.execPath, ["--import", "tsx", "src/index.ts"], { cwd: root, env: { ...clean, ...env } });
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// Child processes (tsx compiles on start): generous limits for a loaded machine; the waits are for the events.
describe("start-up", { timeout: 240_000 }, () => {
  it("embedded default: PGlite under DATA_DIR, demo directory, simulator; SIGTERM stops it", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "haolin-boot-"));
    dirs.push(dataDir);
    const port = await freePort();
    const bot = start({ DATA_DIR: dataDir, PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 180_000;
    for (;;) {
      const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`bot did not become ready:\n${bot.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const dir = (await (await fetch(`${base}/sim/directory`)).json()) as { units: { kind: string }[]; chats: { id: string }[]; people: { id: string; role: string }[] };
    expect(dir.units.filter((u) => u.kind === "town")).toHaveLength(1);
    expect(dir.units.filter((u) => u.kind === "village")).toHaveLength(2);
    expect(dir.chats.length).toBeGreaterThanOrEqual(2);
    const page = await (await fetch(base)).text();
    expect(page).toContain("好邻");
    const resident = dir.people.find((p) => p.role === "resident");
    const res = await fetch(`${base}/sim/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chatId: dir.chats[0]?.id, userId: resident?.id, text: "报事 测试启动" }),
    });
    expect(res.status).toBe(200);
    // The demo's 好邻 list of last month was loaded with the directory: 好邻榜 in the village chat shows it.
    const good = await fetch(`${base}/sim/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chatId: "c-lx", userId: "p-lds", text: "好邻榜" }),
    });
    const goodText = ((await good.json()) as { replies: { text: string }[] }).replies[0]?.text ?? "";
    expect(goodText).toContain("🏅 柳溪村 ·");
    expect(goodText).toContain("1. 王秀英（柳溪村一组一邻）综合 96 分");
    bot.child.kill("SIGTERM");
    expect(await bot.exited).toBe(0);
    // The logs were written at info (the start-up and shutdown lines are there), and the message text is not.
    expect(bot.output()).toContain('"msg":"listening"');
    expect(bot.output()).toContain('"msg":"shutting down"');
    expect(bot.output()).not.toContain("测试启动"); // message text never reaches the logs
  });

  it("a bad value stops start-up with a message naming the variable", async () => {
    const bot = start({ PORT: "not-a-port", DATA_DIR: "/nonexistent" });
    expect(await bot.exited).toBe(1);
    expect(bot.output()).toContain("PORT");
    expect(() => loadEnv({ ANSWER_DEADLINE: "soon" })).toThrow(/ANSWER_DEADLINE/);
    expect(() => loadEnv({ DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL/);
    expect(loadEnv({ ANSWER_DEADLINE: "20s", RESOLVE_DEADLINE: "1h30m" })).toMatchObject({ ANSWER_DEADLINE: 20_000, RESOLVE_DEADLINE: 5_400_000 });
  });
});
