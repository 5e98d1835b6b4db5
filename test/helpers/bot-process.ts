/**
 * The bot as a real process (`npm start` or node itself), for tests of start-up and shutdown: free ports, the
 * child's output, waiting for a line or for readiness, and a last-resort kill of its whole process group.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
      .once("error", reject)
      .listen(0, "127.0.0.1", () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
  });
}

/** True when something accepts connections on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

export type BotProcess = {
  child: ChildProcess;
  output: () => string;
  /** Exit code, or the signal's name when it was killed by one. */
  exited: Promise<number | string | null>;
  /** Resolves once a line of output contains `text`. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  waitReady(port: number, timeoutMs?: number): Promise<void>;
  /** SIGKILL to the whole process group: cleanup after a failed test, never the subject of one. */
  killGroup(): void;
};

/** Starts `command args…` in its own process group, with the test's database and Redis settings removed. */
export function startBot(command: string, args: string[], env: Record<string, string>): BotProcess {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !["DATABASE_URL", "REDIS_URL", "NODE_ENV", "VITEST", "LOG_LEVEL"].includes(k)),
  ) as Record<string, string>;
  const child = spawn(command, args, { cwd: ROOT, env: { ...clean, LOG_LEVEL: "info", ...env }, detached: true });
  let out = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    out += d;
    for (const w of waiters.filter((w) => out.includes(w.text))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  const bot: BotProcess = {
    child,
    output: () => out,
    exited,
    waitForOutput(text, timeoutMs = 60_000) {
      if (out.includes(text)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" in the bot's output:\n${out}`)), timeoutMs);
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void exited.then((code) => reject(new Error(`the bot exited (${code}) before "${text}":\n${out}`)));
      });
    },
    async waitReady(port, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let gone = false;
      void exited.then(() => (gone = true));
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
        if (ok) return;
        if (gone) throw new Error(`the bot exited before it was ready:\n${out}`);
        if (Date.now() > deadline) throw new Error(`the bot did not become ready:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    killGroup() {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    },
  };
  return bot;
}
