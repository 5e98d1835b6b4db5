/**
 * What every dashboard page module shares: the Hono env (the signed-in viewer), the dependencies a page needs, the
 * page frame for the viewer, and the guard for admin-only pages. A page module is `(deps) => Hono<DashboardEnv>`
 * mounted by one line in routes.ts.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { Db } from "../db/client.js";
import type { Runtime } from "../runtime.js";
import type { Signer } from "./auth.js";
import type { Viewer } from "./session.js";
import { h, page, type Raw } from "./views.js";

export type DashboardEnv = { Variables: { viewer: Viewer } };
export type DashboardApp = Hono<DashboardEnv>;

export type DashboardDeps = {
  runtime: Runtime;
  db: Db;
  signer: Signer;
  /** The runtime's clock (tests inject it). */
  now: () => Date;
  /** How long a leader's login link is valid. */
  linkTtlMs: number;
  /** Behind a TLS-terminating proxy (TRUST_PROXY). */
  trustProxy: boolean;
};

/** A page module: its routes (full paths under /dashboard), mounted after the sign-in check unless it says otherwise. */
export type DashboardPage = (deps: DashboardDeps) => DashboardApp;

/** A page in the dashboard's frame, for the signed-in viewer. */
export const render = (c: Context<DashboardEnv>, title: string, body: Raw) => page(title, body, c.get("viewer").name, c.req.path);

/**
 * A page that is not there for this viewer: whether it does not exist or lies outside the viewer's scope, the answer is
 * the same words (another village's page tells nothing about it), with a way back.
 */
export const notFoundPage = (c: Context<DashboardEnv>, what: string, back: readonly [href: string, label: string]) =>
  c.html(
    render(c, what, h`<div class="card" id="not-found"><h1>${what}</h1><p>它不存在，或不在你负责的范围内。</p><p><a class="button" href="${back[0]}">← ${back[1]}</a></p></div>`),
    404,
  );

/** A picture stored by us (re-encoded, no metadata), served inline as the type it was checked to be. */
export const imageResponse = (c: Context<DashboardEnv>, file: { mime: string; data: Uint8Array }) =>
  c.body(new Uint8Array(file.data), 200, {
    "content-type": file.mime,
    "content-disposition": "inline",
    "cache-control": "private, max-age=3600",
    "x-content-type-options": "nosniff",
  });

/** What a signed-in leader sees on a page only the admin may use (the dashboard's and the simulator's). */
export const adminOnlyHtml = (who: string) =>
  page(
    "仅限管理员",
    h`<div class="card" id="admin-only"><h1>这一页只对管理员开放</h1>
      <p>你现在以 ${who} 的身份登录，可以查看本单位及下级的工单、评议和走访。</p>
      <p>需要这里的内容，请联系管理员。</p>
      <p><a class="button" href="/dashboard">← 返回概览</a></p></div>`,
    who,
  );

/** Admin-only routes: anyone else gets a short page saying so, with a way back (not a bare 403 text). */
export const adminOnlyPage: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  if (c.get("viewer").admin) return next();
  if (c.req.method !== "GET") return c.text("只有管理员可以这样做", 403);
  return c.html(adminOnlyHtml(c.get("viewer").name), 403);
};
