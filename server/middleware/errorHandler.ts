import type { Next } from "koa";
import { ZodError } from "zod";
import { BaseError, ConnectionError, TimeoutError, UniqueConstraintError, ForeignKeyConstraintError, DatabaseError } from "sequelize";
import type { AppContext } from "../context.ts";
import { isStalePlan } from "../models/sql.ts";
import {
  AppError,
  ConflictError,
  InternalError,
  InvalidSyntaxError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  ValidationError,
} from "../errors.ts";

export const SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
export const SCIM_MEDIA_TYPE = "application/scim+json";

/** Node/pg error codes that mean the database cannot be reached right now. */
const UNAVAILABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);

/**
 * node-postgres reports a connection that died under a client (server shutdown, network cut) with
 * plain Errors that carry no code, only these messages; a PostgreSQL error always has a SQLSTATE.
 */
const PG_CONNECTION_LOST_MESSAGES = new Set([
  "Connection terminated unexpectedly",
  "Connection terminated",
  "Client has encountered a connection error and is not queryable",
  "Client was closed and is not queryable",
]);

/** Whether the error (or the driver error Sequelize wrapped) is node-postgres saying the connection is gone. */
function connectionLost(error: unknown): boolean {
  const wrapped = error as { parent?: unknown; original?: unknown };
  return [error, wrapped?.parent, wrapped?.original].some(
    (e) => e instanceof Error && (e as { code?: unknown }).code === undefined && PG_CONNECTION_LOST_MESSAGES.has(e.message),
  );
}

/**
 * PostgreSQL data exceptions that only a value from the request can cause: U+0000 in text
 * (22021), \u0000 or an unpaired surrogate escape in jsonb (22P05, 22P02), a number beyond the
 * column's type (22003). The client can fix these, so they are a 400, not a 500.
 */
const INVALID_VALUE_CODES = new Set(["22021", "22P05", "22P02", "22003"]);

function describeZodError(error: ZodError): ValidationError {
  const first = error.issues[0];
  const field = first ? first.path.map(String).join(".") : "";
  const message = first ? (field ? `${field}: ${first.message}` : first.message) : "Invalid input.";
  return new ValidationError(message, {
    issues: error.issues.map((i) => ({ field: i.path.map(String).join("."), message: i.message })),
  });
}

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { original?: unknown; parent?: unknown; cause?: unknown }).original ??
      (current as { parent?: unknown }).parent ?? (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps anything thrown to the one error model; unknown errors become a generic 500. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) return describeZodError(error);
  if (error instanceof UniqueConstraintError) {
    return new ConflictError("A resource with the same unique value already exists.", {
      fields: Object.keys(error.fields ?? {}),
    });
  }
  if (error instanceof ForeignKeyConstraintError) {
    return new ValidationError("A referenced resource does not exist.");
  }
  const code = causeCode(error);
  if (error instanceof ConnectionError || error instanceof TimeoutError || (code && UNAVAILABLE_CODES.has(code)) || (!code && connectionLost(error))) {
    return new ServiceUnavailableError(undefined, error);
  }
  if (error instanceof DatabaseError && code && INVALID_VALUE_CODES.has(code)) {
    return new ValidationError("A value in the request cannot be stored or compared (it contains U+0000, an unpaired surrogate, or a number out of range).");
  }
  if (error instanceof DatabaseError && (code === "40P01" || code === "40001")) {
    // Still deadlocked after the transaction retries (server/db/database.ts): nothing was written; retrying works.
    return new ServiceUnavailableError("The request collided with a concurrent change to the same resources; retry shortly.", error);
  }
  if (isStalePlan(error)) {
    return new ServiceUnavailableError("The database schema changed during a deployment; retry shortly.", error);
  }
  if (error instanceof DatabaseError && code === "57014") {
    return new ServiceUnavailableError("The database took too long to answer; retry shortly.", error);
  }
  if (error instanceof BaseError && /acquire/i.test(error.name)) {
    return new ServiceUnavailableError(undefined, error);
  }
  const httpish = error as { status?: unknown; type?: unknown; limit?: unknown; expose?: unknown };
  if (httpish && typeof httpish.status === "number") {
    if (httpish.type === "entity.too.large" || httpish.status === 413) {
      return new PayloadTooLargeError(typeof httpish.limit === "number" ? httpish.limit : 0);
    }
    if (httpish.status === 400) return new InvalidSyntaxError(String((error as Error).message));
    if (httpish.status > 400 && httpish.status < 600 && httpish.expose !== false) {
      const code = httpish.status === 405 ? "method_not_allowed" : httpish.status === 501 ? "not_implemented" : "http_error";
      return new AppError(httpish.status, code, String((error as Error).message));
    }
  }
  return new InternalError(error);
}

/** Renders an AppError as the SCIM error body (RFC 7644 §3.12). */
export function scimErrorBody(error: AppError): Record<string, unknown> {
  const body: Record<string, unknown> = { schemas: [SCIM_ERROR_SCHEMA], status: String(error.status) };
  if (error.scimType) body.scimType = error.scimType;
  body.detail = error.message;
  return body;
}

/** Renders an AppError as the admin API body. */
export function adminErrorBody(error: AppError): Record<string, unknown> {
  if (error.entries && error.entries.length > 0) return { errors: error.entries };
  const entry: Record<string, unknown> = { code: error.code, message: error.message };
  if (error.meta) entry.meta = error.meta;
  return { errors: [entry] };
}

/** First middleware after the request context: catches everything, renders one error model. */
export function errorHandler() {
  return async function errorHandlerMiddleware(ctx: AppContext, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError(404, "not_found", `No route for ${ctx.method} ${ctx.path}.`);
      }
    } catch (thrown) {
      const error = toAppError(thrown);
      // A 501 (not implemented) is a designed answer, not a server fault.
      if (error.status >= 500 && error.status !== 501) {
        ctx.state.log.error({ err: error.cause ?? thrown, code: error.code }, "request failed");
      } else {
        ctx.state.log.info({ code: error.code, status: error.status, detail: error.message }, "request rejected");
      }
      ctx.state.errorDetail = error.message;
      ctx.status = error.status;
      for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
      if (ctx.state.surface === "scim") {
        ctx.type = SCIM_MEDIA_TYPE;
        ctx.body = scimErrorBody(error);
      } else {
        ctx.type = "application/json";
        ctx.body = adminErrorBody(error);
      }
    }
  };
}
