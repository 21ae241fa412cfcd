/**
 * The one error model. Every failure Rollcall reports is an AppError; the error handler
 * middleware turns it into the admin API body or the SCIM error body.
 */

/** SCIM error types from RFC 7644 §3.12. */
export type ScimType =
  | "invalidFilter"
  | "tooMany"
  | "uniqueness"
  | "mutability"
  | "invalidSyntax"
  | "invalidPath"
  | "noTarget"
  | "invalidValue"
  | "invalidVers"
  | "sensitive"
  // RFC 9865 §2.1: cursor pagination errors.
  | "invalidCursor"
  | "expiredCursor";

export type ErrorMeta = Record<string, unknown>;

/** One entry of the admin API's `errors` array, for errors that report several problems at once. */
export type ErrorEntry = { code: string; message: string; meta?: ErrorMeta };

/** Base class: an HTTP status, a stable machine code, a message that says what to fix. */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly scimType: ScimType | undefined;
  readonly meta: ErrorMeta | undefined;
  readonly headers: Record<string, string>;
  readonly entries: ErrorEntry[] | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { scimType?: ScimType; meta?: ErrorMeta; headers?: Record<string, string>; cause?: unknown; entries?: ErrorEntry[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.scimType = options.scimType;
    this.meta = options.meta;
    this.headers = options.headers ?? {};
    this.entries = options.entries;
  }
}

/** 400 for input that is well-formed but wrong; names the offending field. */
export class ValidationError extends AppError {
  constructor(message: string, meta?: ErrorMeta, scimType: ScimType = "invalidValue") {
    super(400, "validation_failed", message, { scimType, meta });
  }
}

/**
 * 400 for input over one of Rollcall's documented request limits (README "Configuration"): the
 * detail names the limit, its value and the variable that sets it, so an operator can tell a
 * hostile request from an IdP that needs a larger limit.
 */
export class LimitExceededError extends AppError {
  constructor(what: string, limit: number, setting: string, field?: string) {
    super(400, "limit_exceeded", `${what} exceeds the limit of ${limit} (${setting}).`, {
      scimType: "invalidValue",
      meta: { limit, setting, ...(field === undefined ? {} : { field }) },
    });
  }
}

/** 400 listing every problem of an input at once (e.g. each bad entry of a mapping document). */
export class MultiValidationError extends AppError {
  constructor(message: string, entries: ErrorEntry[]) {
    super(400, "validation_failed", message, { scimType: "invalidValue", entries });
  }
}

/** 400 for a body that is not parseable JSON or not the expected shape at all. */
export class InvalidSyntaxError extends AppError {
  constructor(message: string) {
    super(400, "invalid_syntax", message, { scimType: "invalidSyntax" });
  }
}

/** 400 for a SCIM filter the server cannot parse or evaluate. */
export class InvalidFilterError extends AppError {
  constructor(message: string) {
    super(400, "invalid_filter", message, { scimType: "invalidFilter" });
  }
}

/**
 * 400 for a pagination cursor this server did not issue for this organization and query (unknown
 * format, failed integrity check, another organization's or another filter's cursor). One message
 * for every cause, so a refused cursor tells the client nothing about why (RFC 9865 §5.2).
 */
export class InvalidCursorError extends AppError {
  constructor() {
    super(400, "invalid_cursor", "The cursor is not valid for this query: send an empty cursor to start, then the nextCursor of the previous page with the same filter.", {
      scimType: "invalidCursor",
    });
  }
}

/** 400 for a genuine cursor older than the advertised cursorTimeout (RFC 9865 §2.1). */
export class ExpiredCursorError extends AppError {
  constructor(timeoutSeconds: number) {
    super(400, "expired_cursor", `The cursor has expired: request the next page within ${timeoutSeconds} seconds (ServiceProviderConfig pagination.cursorTimeout), or start again with an empty cursor.`, {
      scimType: "expiredCursor",
      meta: { cursorTimeout: timeoutSeconds },
    });
  }
}

/** 400 for a PATCH path that is malformed or names no attribute. */
export class InvalidPathError extends AppError {
  constructor(message: string) {
    super(400, "invalid_path", message, { scimType: "invalidPath" });
  }
}

/** 400 for a PATCH whose path filter matched nothing where a match was required. */
export class NoTargetError extends AppError {
  constructor(message: string) {
    super(400, "no_target", message, { scimType: "noTarget" });
  }
}

/** 400 for an attempt to change an immutable or read-only attribute. */
export class MutabilityError extends AppError {
  constructor(message: string) {
    super(400, "mutability", message, { scimType: "mutability" });
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = "Missing or invalid bearer token.") {
    super(401, "unauthorized", message, { headers: { "WWW-Authenticate": 'Bearer realm="rollcall"' } });
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super(403, "forbidden", message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id?: string) {
    super(404, "not_found", id === undefined ? `${what} not found.` : `${what} ${id} not found.`);
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(method: string, allowed: string[]) {
    super(405, "method_not_allowed", `${method} is not allowed here; allowed: ${allowed.join(", ")}.`, {
      headers: { Allow: allowed.join(", ") },
    });
  }
}

/** 409: a uniqueness rule would be broken. */
export class ConflictError extends AppError {
  constructor(message: string, meta?: ErrorMeta) {
    super(409, "conflict", message, { scimType: "uniqueness", meta });
  }
}

/** 412: an If-Match precondition failed. */
export class PreconditionFailedError extends AppError {
  constructor(message = "The resource was modified since the supplied version.") {
    super(412, "precondition_failed", message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super(413, "payload_too_large", `Request body exceeds the limit of ${limitBytes} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(contentType: string) {
    super(415, "unsupported_media_type", `Content-Type ${contentType} is not supported; send application/scim+json or application/json.`);
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super(429, "rate_limited", `Too many requests; retry after ${retryAfterSeconds} second(s).`, {
      scimType: undefined,
      headers: { "Retry-After": String(retryAfterSeconds) },
      meta: { retry_after: retryAfterSeconds },
    });
  }
}

/** 503: a dependency (the database) is unavailable; the client should retry. */
export class ServiceUnavailableError extends AppError {
  constructor(message = "The service is temporarily unavailable; retry shortly.", cause?: unknown) {
    super(503, "service_unavailable", message, { headers: { "Retry-After": "5" }, cause });
  }
}

/** 500 with a generic message; the cause goes to the log only. */
export class InternalError extends AppError {
  constructor(cause?: unknown) {
    super(500, "internal_error", "An unexpected error occurred.", { cause });
  }
}
