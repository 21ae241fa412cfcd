import type { Next } from "koa";
import getRawBody from "raw-body";
import { InvalidSyntaxError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.ts";
import type { PortalContext } from "./context.ts";

const LIMIT_BYTES = 256 * 1024;

/**
 * Reads portal request bodies: HTML forms (urlencoded, so every page works without script) and the
 * JSON the enhancement scripts send. The admin API's reader accepts JSON only, so the portal is
 * mounted before it and reads its own.
 */
export function portalBody() {
  return async function portalBodyMiddleware(ctx: PortalContext, next: Next): Promise<void> {
    ctx.state.form = {};
    ctx.state.json = undefined;
    if (ctx.method !== "POST") return next();
    const mediaType = (ctx.get("Content-Type").split(";")[0] ?? "").trim().toLowerCase();
    let raw: string;
    try {
      raw = (await getRawBody(ctx.req, { limit: LIMIT_BYTES, length: ctx.request.length, encoding: "utf-8" })).toString();
    } catch (error) {
      if ((error as { type?: string }).type === "entity.too.large") throw new PayloadTooLargeError(LIMIT_BYTES);
      throw new InvalidSyntaxError("The request body could not be read.");
    }
    if (raw.length === 0) return next();
    if (mediaType === "application/x-www-form-urlencoded") {
      for (const [key, value] of new URLSearchParams(raw)) ctx.state.form[key] = value;
    } else if (mediaType === "application/json") {
      try {
        ctx.state.json = JSON.parse(raw);
      } catch {
        throw new InvalidSyntaxError("The request body is not valid JSON.");
      }
    } else {
      throw new UnsupportedMediaTypeError(mediaType);
    }
    return next();
  };
}
