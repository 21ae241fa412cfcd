import type { Next } from "koa";
import getRawBody from "raw-body";
import type { AppContext } from "../context.ts";
import { InvalidSyntaxError, LimitExceededError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from "../errors.ts";

const ACCEPTED_TYPES = new Set(["application/scim+json", "application/json"]);
const MAX_DEPTH = 32;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Keys that mean something to JavaScript's object model. `JSON.parse` stores `__proto__` as a
 * plain own key, but every later `copy[key] = value` (canonicalization, PATCH, mapping) would turn
 * it into the copy's prototype: validation and writers would then see attributes the stored
 * resource does not hold. Such keys are refused outright, for every JSON body.
 */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Shape limits of a body; SCIM bodies carry the per-object key and per-string length limits too. */
export type JsonShapeLimits = { maxObjectKeys?: number; maxStringLength?: number };

function describePath(path: string): string {
  return path === "" ? "the body" : path;
}

/**
 * One iterative walk (no recursion, so no stack to overflow) over the parsed body: depth,
 * forbidden keys, and the key and string-length limits. Runs before any recursive code sees it.
 */
function assertShape(root: unknown, limits: JsonShapeLimits): void {
  const stack: Array<[unknown, number, string]> = [[root, 1, ""]];
  while (stack.length > 0) {
    const [value, depth, path] = stack.pop()!;
    if (typeof value === "string") {
      if (limits.maxStringLength !== undefined && value.length > limits.maxStringLength) {
        throw new LimitExceededError(`The string at ${describePath(path)} (${value.length} characters)`, limits.maxStringLength, "ROLLCALL_SCIM_MAX_STRING_LENGTH", path);
      }
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    if (depth > MAX_DEPTH) throw new InvalidSyntaxError(`JSON is nested deeper than ${MAX_DEPTH} levels.`);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push([value[i], depth + 1, `${path}[${i}]`]);
      continue;
    }
    const keys = Object.keys(value);
    if (limits.maxObjectKeys !== undefined && keys.length > limits.maxObjectKeys) {
      throw new LimitExceededError(`The object at ${describePath(path)} has ${keys.length} keys and`, limits.maxObjectKeys, "ROLLCALL_SCIM_MAX_OBJECT_KEYS", path);
    }
    for (const key of keys) {
      const at = path === "" ? key : `${path}.${key}`;
      if (FORBIDDEN_KEYS.has(key)) throw new ValidationError(`The key "${key}" (at ${at}) is not allowed in a request body.`, { field: at }, "invalidSyntax");
      stack.push([(value as Record<string, unknown>)[key], depth + 1, at]);
    }
  }
}

/**
 * Reads a JSON request body for writes: size limit (413), media type gate (415), strict UTF-8 and
 * JSON (400 invalidSyntax), then the shape checks above. The parsed value lands on ctx.state.body.
 * Mounted after authentication, so an unauthenticated client never gets its body read or parsed.
 */
export function jsonBody(limitBytes: number, shape: JsonShapeLimits = {}) {
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
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new InvalidSyntaxError("The request body is not valid JSON.");
    }
    assertShape(parsed, shape);
    ctx.state.body = parsed;
    return next();
  };
}
