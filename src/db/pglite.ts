/**
 * The embedded database (PGlite: PostgreSQL compiled to WebAssembly, in this process) and what it may cost in memory.
 *
 * A WebAssembly memory only grows: whatever PostgreSQL once allocated stays in the process's RSS until it exits. Two
 * things made the no-configuration start sit at ~900 MB (docs/performance.md, `npm run bench:embedded`):
 * - initdb: on an empty data directory PGlite runs initdb in a second PGlite instance inside the same process and
 *   copies its files over as a tar; the process kept ~500 MB of that. It now runs in a short-lived child process.
 * - PostgreSQL's stock shared_buffers (128 MB) sized for a server; a town's data fits in far less, and reads below
 *   the buffer pool still hit the operating system's file cache.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import type { PGlite } from "@electric-sql/pglite";

/** PostgreSQL settings of the embedded database, passed as `-c name=value` on every start. */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: "16MB",
  // Index builds (migrations) take this much once, and the WebAssembly memory never gives it back.
  maintenance_work_mem: "16MB",
};

const settingsArgs = () => Object.entries(PGLITE_SETTINGS).flatMap(([name, value]) => ["-c", `${name}=${value}`]);

/**
 * Opens (creating when needed) the embedded database; `dataDir` undefined keeps it in memory (tests). `loadDataDir`:
 * start from a data directory as PGlite's dumpDataDir wrote it (the tests' migrated template) instead of initdb.
 */
export async function openPglite(dataDir?: string, loadDataDir?: Blob): Promise<PGlite> {
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    if (!loadDataDir && !existsSync(path.join(dataDir, "PG_VERSION"))) await initdbInChild(dataDir);
  }
  // V8 compiles PostgreSQL's 9 MB of WebAssembly with its baseline compiler only: the optimising tier kept ~45 MB of
  // code and compiler memory for no CPU saved on a town's load (docs/performance.md). Set before the first compile.
  setFlagsFromString("--liftoff-only");
  const { PGlite } = await import("@electric-sql/pglite");
  const client = new PGlite({ dataDir, loadDataDir, startParams: [...PGlite.defaultStartParams, ...settingsArgs()] });
  await client.waitReady;
  return client;
}

/** Creates the cluster in `dataDir` from a child process, whose memory goes back to the system when it exits. */
async function initdbInChild(dataDir: string): Promise<void> {
  // The same settings and compiler as the bot: the child peaks at ~670 MB for a few seconds instead of ~860 MB.
  const script = `const { PGlite } = require(process.env.PGLITE_MODULE);
const db = new PGlite(process.env.PGLITE_DATA_DIR, { startParams: [...PGlite.defaultStartParams, ...JSON.parse(process.env.PGLITE_SETTINGS)] });
db.waitReady.then(() => db.close()).catch((err) => { console.error(err); process.exit(1); });`;
  const child = spawn(process.execPath, ["--liftoff-only", "-e", script], {
    env: {
      PGLITE_MODULE: createRequire(import.meta.url).resolve("@electric-sql/pglite"),
      PGLITE_DATA_DIR: path.resolve(dataDir),
      PGLITE_SETTINGS: JSON.stringify(settingsArgs()),
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (exitCode) => resolve(exitCode));
  });
  if (code !== 0) throw new Error(`PGlite initdb in ${dataDir} failed (exit ${code}): ${stderr.trim()}`);
}
