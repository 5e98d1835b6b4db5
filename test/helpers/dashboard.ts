/** Signing in to the dashboard as a leader, the way a leader does: the admin's links page, then the link itself. */
import type { createApp } from "../../src/app.js";

type App = ReturnType<typeof createApp>;

/** The session cookie of `personId`, from the login link the admin's links page gives out. */
export async function leaderCookie(app: App, adminCookie: string, personId: string): Promise<string> {
  const links = await (await app.request("/dashboard/links", { headers: { cookie: adminCookie } })).text();
  const url = new RegExp(`value="[^"]*(/dashboard/login/link\\?k=[^"]+)" [^>]*data-person="${personId}"`).exec(links)?.[1];
  if (!url) throw new Error(`no login link for ${personId}`);
  const res = await app.request(url.replaceAll("&amp;", "&"));
  if (res.status !== 303) throw new Error(`login link for ${personId}: HTTP ${res.status}`);
  return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
}

/** GET a dashboard page as the holder of `cookie`: its status and HTML. */
export async function page(app: App, cookie: string, path: string): Promise<{ status: number; html: string }> {
  const res = await app.request(path, { headers: { cookie } });
  return { status: res.status, html: await res.text() };
}
