/**
 * Security headers on every response (hono's secure-headers middleware): a Content-Security-Policy that allows only
 * this origin — no framing (frame-ancestors 'none'), no plugins, forms posting only here, scripts only from here or
 * the simulator's one inline script by its hash (the dashboard has none) —, nosniff, a same-origin referrer policy,
 * and the other defaults of the middleware.
 */
import { createHash } from "node:crypto";
import { secureHeaders } from "hono/secure-headers";
import { SIM_PAGE } from "../bot/sim/page.js";

/** The hashes of the inline <script> blocks of the simulator's page, as CSP source expressions. */
function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    (m) => `'sha256-${createHash("sha256").update(m[1] ?? "").digest("base64")}'`,
  );
}

export function securityHeaders() {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", ...inlineScriptHashes(SIM_PAGE)],
      // The pages carry their CSS inline (<style> and a few style attributes); no script can be injected through it.
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:", "blob:"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    referrerPolicy: "same-origin",
    xFrameOptions: "DENY",
    // Strict-Transport-Security is left to the TLS-terminating proxy, which knows whether https is there to stay.
    strictTransportSecurity: false,
  });
}
