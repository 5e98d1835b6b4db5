/** Configuration and the `wecom:bind` CLI, run as a real process against an on-disk embedded database. */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/client.js";
import { importDirectory } from "../src/db/directory-import.js";
import { migrateDatabase } from "../src/db/migrate.js";
import { chats } from "../src/db/schema/index.js";
import { EnvError, loadEnv, wecomConfig } from "../src/env.js";
import { FIXTURE } from "./helpers/harness.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "haolin-wecom-bind-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

describe("WeCom configuration", () => {
  it("is off when unset, on with all three, and names what is missing when partial", () => {
    expect(wecomConfig(loadEnv({}))).toBeNull();
    const on = wecomConfig(loadEnv({ WECOM_TOKEN: "abc123", WECOM_ENCODING_AES_KEY: KEY, WECOM_BOT_ID: "aib1", BOT_NAMES: "好邻,村务助手" }));
    expect(on).toEqual({ token: "abc123", encodingAESKey: KEY, botId: "aib1", botNames: ["好邻", "村务助手"], webhookBase: "https://qyapi.weixin.qq.com" });
    expect(() => wecomConfig(loadEnv({ WECOM_TOKEN: "abc123" }))).toThrow(/WECOM_ENCODING_AES_KEY[\s\S]*WECOM_BOT_ID/);
    expect(() => loadEnv({ WECOM_ENCODING_AES_KEY: "short" })).toThrow(EnvError);
  });
});

describe("npm run wecom:bind", () => {
  // Two child processes (tsx compiles on start): a generous limit for a loaded machine.
  it("binds a group with its webhook read from stdin, never printing it", { timeout: 400_000 }, async () => {
    const dataDir = join(dir, "data");
    const db = await openDatabase({ dataDir });
    await migrateDatabase(db);
    await importDirectory(db.db, FIXTURE);
    await db.close();

    const key = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, LOG_LEVEL: "silent" };
    const child = run("npx", ["tsx", "src/cli/wecom-bind.ts", "--chat", "wrCliGroup", "--unit", "g2", "--name", "东村二组群", "--webhook", "-"], { env, timeout: 180_000 });
    child.child.stdin?.end(`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${key}\n`);
    const { stdout, stderr } = await child;
    expect(stdout).toContain("已登记：企业微信群 wrCliGroup → 单位 g2");
    expect(stdout + stderr).not.toContain(key);

    const bad = await run("npx", ["tsx", "src/cli/wecom-bind.ts", "--chat", "wrCliGroup", "--unit", "nope", "--name", "x"], { env, timeout: 180_000 }).catch((e) => e as { code: number; stderr: string });
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stderr: string }).stderr).toContain("找不到单位");

    const check = await openDatabase({ dataDir });
    const [row] = await check.db.select().from(chats).where(eq(chats.externalId, "wrCliGroup"));
    await check.close();
    expect(row).toMatchObject({ platform: "wecom", unitId: "g2", name: "东村二组群", status: "active", webhookUrl: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${key}` });
  });
});
