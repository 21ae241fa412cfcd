import type { Next } from "koa";
import getRawBody from "raw-body";
import type { AppContext } from "../context.ts";
import { InvalidSyntaxError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.ts";

const ACCEPTED_TYPES = new Set(["application/scim+json", "application/json"]);
const MAX_DEPTH = 32;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Rejects JSON nested deeper than SCIM ever needs, before recursive code walks it. */
function assertDepth(root: unknown): void {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== "object") continue;
    if (depth > MAX_DEPTH) throw new InvalidSyntaxError(`JSON is nested deeper than ${MAX_DEPTH} levels.`);
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
}

/**
 * Reads a JSON request body for writes: size limit (413), media type gate (415), strict UTF-8 and
 * JSON (400 invalidSyntax). The parsed value lands on ctx.state.body.
 */
export function jsonBody(limitBytes: number) {
  return async function jsonBodyMiddleware(ctx: AppContext, next: Next): Promise<void> {
    if (ctx.method !== "POST" && ctx.method !== "PUT" && ctx.method !== "PATCH") return next();
    const declared = ctx.request.length;
    if (declared !== undefined && declared > limitBytes) throw new PayloadTooLargeError(limitBytes);
    const mediaType = (ctx.get("Content-Type").split(";")[0] ?? "").trim().toLowerCase();
    let raw: Buffer;
    try {
      raw = await getRawBody(ctx.req, { limit: limitBytes, length: declared });
    } catch (error) {
      if ((error as { type?: string }).type === "entity.too.large") throw new PayloadTooLargeError(limitBytes);
      throw new InvalidSyntaxError("The request body could not be read.");
    }
    if (raw.length === 0) {
      ctx.state.body = undefined;
      return next();
    }
    if (mediaType !== "" && !ACCEPTED_TYPES.has(mediaType)) throw new UnsupportedMediaTypeError(mediaType);
    let text: string;
    try {
      text = utf8.decode(raw);
    } catch {
      throw new InvalidSyntaxError("The request body is not valid UTF-8.");
    }
    try {
      ctx.state.body = JSON.parse(text);
    } catch {
      throw new InvalidSyntaxError("The request body is not valid JSON.");
    }
    assertDepth(ctx.state.body);
    return next();
  };
}
