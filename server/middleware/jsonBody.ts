import type { Next } from "koa";
import getRawBody from "raw-body";
import type { AppContext } from "../context.ts";
import { type AppError, InvalidSyntaxError, LimitExceededError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from "../errors.ts";

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

/** The shape limits, and the 413 a request answers with when not the default one (SCIM Bulk words it as RFC 7644 §3.7.4 does). */
export type JsonBodyOptions = JsonShapeLimits & { tooLarge?: (ctx: AppContext, limitBytes: number) => AppError | undefined };

/** Where a value sits in the body; built only for an error message, never while walking. */
type Place = { readonly parent: Place | undefined; readonly key: string | number };

function describePlace(place: Place | undefined): string {
  const parts: string[] = [];
  for (let at = place; at !== undefined; at = at.parent) parts.push(typeof at.key === "number" ? `[${at.key}]` : `.${at.key}`);
  const path = parts.reverse().join("").replace(/^\./, "");
  return path === "" ? "the body" : path;
}

/**
 * One iterative walk (no recursion, so no stack to overflow) over the parsed body: depth,
 * forbidden keys, and the key and string-length limits. Runs before any recursive code sees it.
 * Only containers are pushed, so a 30,000-element array costs one pass and no strings.
 */
function assertShape(root: unknown, limits: JsonShapeLimits): void {
  const maxString = limits.maxStringLength ?? Infinity;
  const maxKeys = limits.maxObjectKeys ?? Infinity;
  const checkString = (value: string, place: Place | undefined) => {
    if (value.length > maxString) {
      const where = describePlace(place);
      throw new LimitExceededError(`The string at ${where} (${value.length} characters)`, maxString, "ROLLCALL_SCIM_MAX_STRING_LENGTH", where);
    }
  };
  if (typeof root === "string") checkString(root, undefined);
  const stack: Array<{ value: object; depth: number; place: Place | undefined }> = [];
  if (root !== null && typeof root === "object") stack.push({ value: root, depth: 1, place: undefined });
  while (stack.length > 0) {
    const { value, depth, place } = stack.pop()!;
    if (depth > MAX_DEPTH) throw new InvalidSyntaxError(`JSON is nested deeper than ${MAX_DEPTH} levels.`);
    const visit = (child: unknown, key: string | number) => {
      if (typeof child === "string") {
        if (child.length > maxString) checkString(child, { parent: place, key });
      } else if (child !== null && typeof child === "object") {
        stack.push({ value: child, depth: depth + 1, place: { parent: place, key } });
      }
    };
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) visit(value[i], i);
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > maxKeys) {
      const where = describePlace(place);
      throw new LimitExceededError(`The object at ${where} has ${keys.length} keys and`, maxKeys, "ROLLCALL_SCIM_MAX_OBJECT_KEYS", where);
    }
    for (const key of keys) {
      if (FORBIDDEN_KEYS.has(key)) {
        const where = describePlace({ parent: place, key });
        throw new ValidationError(`The key "${key}" (at ${where}) is not allowed in a request body.`, { field: where }, "invalidSyntax");
      }
      visit((value as Record<string, unknown>)[key], key);
    }
  }
}

/**
 * Reads a JSON request body for writes: size limit (413), media type gate (415), strict UTF-8 and
 * JSON (400 invalidSyntax), then the shape checks above. The parsed value lands on ctx.state.body.
 * Mounted after authentication, so an unauthenticated client never gets its body read or parsed.
 */
export function jsonBody(limitBytes: number, shape: JsonBodyOptions = {}) {
  const tooLarge = (ctx: AppContext) => shape.tooLarge?.(ctx, limitBytes) ?? new PayloadTooLargeError(limitBytes);
  return async function jsonBodyMiddleware(ctx: AppContext, next: Next): Promise<void> {
    if (ctx.method !== "POST" && ctx.method !== "PUT" && ctx.method !== "PATCH") return next();
    const declared = ctx.request.length;
    if (declared !== undefined && declared > limitBytes) throw tooLarge(ctx);
    const mediaType = (ctx.get("Content-Type").split(";")[0] ?? "").trim().toLowerCase();
    let raw: Buffer;
    try {
      raw = await getRawBody(ctx.req, { limit: limitBytes, length: declared });
    } catch (error) {
      if ((error as { type?: string }).type === "entity.too.large") throw tooLarge(ctx);
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
