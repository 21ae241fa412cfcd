import type { Next } from "koa";
import { AppError } from "../errors.ts";
import { adminErrorBody, toAppError } from "../middleware/errorHandler.ts";
import type { PortalContext } from "./context.ts";
import { html } from "./html.ts";
import { barePage } from "./views/layout.ts";

/** Whether the request came from a portal script (JSON in, JSON out) rather than a page or form. */
function wantsJson(ctx: PortalContext): boolean {
  return ctx.state.json !== undefined || (ctx.get("Accept").includes("application/json") && !ctx.get("Accept").includes("text/html"));
}

/**
 * The portal's error renderer: the one error model (toAppError) drawn as a page for browsers, or
 * as the admin error body for the portal's scripts. Faults are logged like everywhere else.
 */
export function portalErrors() {
  return async function portalErrorsMiddleware(ctx: PortalContext, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError(404, "not_found", `No portal page at ${ctx.path}.`);
    } catch (thrown) {
      const error = toAppError(thrown);
      if (error.status >= 500) ctx.state.log.error({ err: error.cause ?? thrown, code: error.code }, "portal request failed");
      else ctx.state.log.info({ code: error.code, status: error.status }, "portal request rejected");
      ctx.status = error.status;
      if (wantsJson(ctx)) {
        ctx.type = "application/json";
        ctx.body = adminErrorBody(error);
        return;
      }
      const title = error.status === 401 ? "Portal session required" : error.status === 404 ? "Not found" : error.status === 403 ? "Request refused" : "Something went wrong";
      const detail = error.status === 404 ? "This page does not exist, or it belongs to another organization." : error.message;
      ctx.type = "text/html; charset=utf-8";
      ctx.body = barePage({ title, body: html`<p>${detail}</p>${error.status === 401 ? "" : html`<p><a href="/portal/setup">Back to the portal</a></p>`}` }).value;
    }
  };
}
