/**
 * Things that expire, through the real routes and chat with an injected clock moved past their life: a dashboard
 * session (12 h), a leader's login link (2 h) and a visit's numbered choices (30 min).
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { visits } from "../src/db/schema/index.js";
import { createHarness, type Harness, silent } from "./helpers/harness.js";

const H = 3_600_000;
const TOKEN = "admin-token-for-expiry-tests";
let now = new Date("2026-03-02T02:00:00Z");
const clock = () => now;
const later = (ms: number) => {
  now = new Date(now.getTime() + ms);
};

describe("dashboard sessions and login links", () => {
  let h: Harness;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    h = await createHarness({ clock, start: false });
    app = createApp({ runtime: h.runtime, logger: silent, sim: true, dashboard: { adminToken: TOKEN, sessionSecret: "s".repeat(40) } });
  });
  afterAll(async () => {
    await h.close();
  });
  const get = (path: string, cookie: string) => app.request(path, { headers: { cookie } });
  const cookieOf = (res: Response) => (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  async function login() {
    const res = await app.request("/dashboard/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    expect(res.status).toBe(303);
    return cookieOf(res);
  }

  it("a session works until its 12 hours are up, then sends the browser to sign in", async () => {
    const cookie = await login();
    later(12 * H - 60_000);
    expect((await get("/dashboard/tickets", cookie)).status).toBe(200);
    later(61_000);
    const res = await get("/dashboard/tickets", cookie);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard/login");
  });

  it("a login link signs in within 2 hours and is refused after", async () => {
    const links = await (await get("/dashboard/links", await login())).text();
    const url = (/value="[^"]*(\/dashboard\/login\/link\?k=[^"]+)" [^>]*data-person="nl1"/.exec(links)?.[1] ?? "").replaceAll("&amp;", "&");
    expect(url).toContain("/dashboard/login/link?k=");
    later(2 * H - 60_000);
    const ok = await app.request(url);
    expect(ok.status).toBe(303);
    expect((await get("/dashboard/tickets", cookieOf(ok))).status).toBe(200);
    later(61_000);
    const gone = await app.request(url);
    expect(gone.status).toBe(401);
    expect(await gone.text()).toContain("已过期");
    expect(gone.headers.get("set-cookie")).toBeNull();
  });
});

describe("visit choices", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ clock, start: false, directory: fileURLToPath(new URL("./fixtures/visits.yaml", import.meta.url)) });
  });
  afterAll(async () => {
    await h.close();
  });

  it("a pick within 30 minutes logs the visit; after that the number is ordinary chat and nothing is logged", async () => {
    expect((await h.say("c1", "nl1", "走访 王芳 家里都好")).text).toContain("找到 2 户符合");
    later(29 * 60_000);
    expect((await h.say("c1", "nl1", "1")).text).toContain("已记录 1 次走访");
    const logged = (await h.db.select().from(visits)).length;

    expect((await h.say("c1", "nl1", "走访 王芳 再去看看")).text).toContain("找到 2 户符合");
    later(30 * 60_000 + 1000);
    expect((await h.say("c1", "nl1", "1")).text).toBe("");
    expect((await h.db.select().from(visits)).length).toBe(logged);
  });
});
