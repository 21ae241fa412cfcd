import type { Next } from "koa";
import type { AppContext } from "../context.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../logger.ts";

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Gives every request an id (kept from X-Request-Id when sane) and a child logger carrying it. */
export function requestContext(logger: Logger) {
  return async function requestContextMiddleware(ctx: AppContext, next: Next): Promise<void> {
    const incoming = ctx.get("X-Request-Id");
    const requestId = INCOMING_ID.test(incoming) ? incoming : newId("req");
    ctx.state.requestId = requestId;
    ctx.state.surface = ctx.path.startsWith("/scim/") || ctx.path === "/scim" ? "scim" : ctx.path.startsWith("/v1") ? "admin" : "ops";
    ctx.state.log = logger.child({ requestId });
    ctx.set("X-Request-Id", requestId);
    const started = performance.now();
    await next();
    ctx.state.log.debug(
      { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) },
      "request",
    );
  };
}
