import type { Next } from "koa";
import type { Sequelize } from "sequelize";
import type { Clock } from "../context.ts";
import { AppError, ForbiddenError } from "../errors.ts";
import { findLivePortalSession } from "../models/portalSessionStore.ts";
import type { PortalContext } from "./context.ts";
import { readSessionCookie } from "./cookies.ts";
import { csrfTokenFor, csrfTokenMatches, sha256 } from "./secrets.ts";

/** 401 for a request without a live session: the admin needs a new link from the application. */
export class PortalSessionRequiredError extends AppError {
  constructor() {
    super(401, "portal_session_required", "Your portal session has ended or was never started. Open a new portal link from your application.");
  }
}

/** Whether a mutation comes from a page of this origin: Origin (when sent) and Fetch Metadata must agree. */
function sameOriginRequest(ctx: PortalContext, allowedOrigins: Set<string>): boolean {
  const origin = ctx.get("Origin");
  if (origin && !allowedOrigins.has(origin)) return false;
  const site = ctx.get("Sec-Fetch-Site");
  return !site || site === "same-origin" || site === "none";
}

/**
 * Loads the session named by the cookie and puts it on ctx.state.portal; every portal query is
 * then scoped to its organization. Mutations must come from this origin and carry the session's
 * CSRF token (form field `_csrf` or header `X-CSRF-Token`).
 */
export function portalSessionGuard(sequelize: Sequelize, clock: Clock, publicUrl: string) {
  const publicOrigin = new URL(publicUrl).origin;
  return async function portalSessionGuardMiddleware(ctx: PortalContext, next: Next): Promise<void> {
    const secret = readSessionCookie(ctx.get("Cookie"));
    const row = secret ? await findLivePortalSession(sequelize, sha256(secret), clock.now()) : undefined;
    if (!secret || !row) throw new PortalSessionRequiredError();
    const csrfToken = csrfTokenFor(secret);
    if (ctx.method !== "GET" && ctx.method !== "HEAD") {
      const allowed = new Set([publicOrigin, `${ctx.protocol}://${ctx.host}`]);
      if (!sameOriginRequest(ctx, allowed)) throw new ForbiddenError("This request did not come from a portal page (cross-site requests are refused).");
      const presented = ctx.state.form._csrf ?? ctx.get("X-CSRF-Token");
      if (!csrfTokenMatches(presented || undefined, csrfToken)) {
        throw new ForbiddenError("The form's security token is missing or wrong. Reload the page and try again.");
      }
    }
    ctx.state.portal = {
      id: row.id,
      organizationId: row.organization_id,
      organizationName: row.organization_name,
      expiresAt: row.expires_at!,
      csrfToken,
    };
    await next();
  };
}
