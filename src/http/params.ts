/**
 * Refuses a request whose path or query holds what no page or filter can mean — a NUL, another control character,
 * a broken percent-encoding — with 400 before any handler passes it to PostgreSQL (which refuses a NUL with an error
 * that would otherwise be a 500).
 */
import type { MiddlewareHandler } from "hono";
import { isCleanText } from "../lib/clean.js";

const bad = (c: Parameters<MiddlewareHandler>[0]) => c.text("请求参数无效。", 400);

export const cleanParams: MiddlewareHandler = async (c, next) => {
  const url = new URL(c.req.url);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return bad(c);
  }
  if (!isCleanText(path)) return bad(c);
  for (const [k, v] of url.searchParams) if (!isCleanText(k) || !isCleanText(v)) return bad(c);
  await next();
};
