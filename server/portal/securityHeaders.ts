import type { Next } from "koa";
import type { AppContext } from "../context.ts";

/**
 * Only this origin's own files may run or style the page: no inline script or style, no eval, no
 * framing, forms post back here only. The portal's markup never needs more, and anything injected
 * despite the escaping stays inert.
 */
export const PORTAL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Security headers on every portal response, including errors and assets. */
export function portalSecurityHeaders() {
  return async function portalSecurityHeadersMiddleware(ctx: AppContext, next: Next): Promise<void> {
    try {
      await next();
    } finally {
      ctx.set("Content-Security-Policy", PORTAL_CSP);
      ctx.set("X-Content-Type-Options", "nosniff");
      // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts, which the CSRF check must refuse.
      ctx.set("Referrer-Policy", "same-origin");
      ctx.set("X-Frame-Options", "DENY");
      ctx.set("Cross-Origin-Opener-Policy", "same-origin");
      if (!ctx.path.startsWith("/portal/assets/")) ctx.set("Cache-Control", "no-store");
    }
  };
}
