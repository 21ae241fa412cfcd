import { AppError, InvalidSyntaxError, ValidationError } from "../../errors.ts";
import type { ScimResource } from "../resourceWrites.ts";

export const BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
export const BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

export type BulkMethod = "POST" | "PUT" | "PATCH" | "DELETE";

/** One well-formed operation of a BulkRequest; `target` (not for POST) is an id or a `bulkId:` reference. */
export type BulkOperation = {
  method: BulkMethod;
  bulkId: string | undefined;
  version: string | undefined;
  resource: ScimResource;
  target: string | undefined;
  data: unknown;
};

/**
 * An operation as the request sent it, in its position: `echo` is what the response repeats
 * (RFC 7644 §3.7.3: method and bulkId), and either the parsed operation or why it cannot run.
 * A malformed operation fails on its own (RFC 7644 §3.7: the server continues with the others).
 */
export type ParsedOperation = {
  index: number;
  echo: { method?: string; bulkId?: string };
  operation: BulkOperation | undefined;
  error: AppError | undefined;
};

export type BulkRequest = { failOnErrors: number | undefined; operations: ParsedOperation[] };

/** 413 for a Bulk request over one of the limits advertised in /ServiceProviderConfig (RFC 7644 §3.7.4). */
export class BulkLimitError extends AppError {
  constructor(detail: string, limit: number, setting: string) {
    super(413, "payload_too_large", detail, { meta: { limit, setting } });
  }
}

const METHODS = new Set<string>(["POST", "PUT", "PATCH", "DELETE"]);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** SCIM attribute names are case-insensitive (RFC 7643 §2.1). */
function field(body: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(body)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** `/Users`, `/Groups` (POST) or `/Users/{id}`, `/Groups/{id}` (the others); the id may be a `bulkId:` reference. */
function parsePath(method: BulkMethod, path: string): { resource: ScimResource; target: string | undefined } {
  const match = /^\/?(users|groups)(?:\/([^/?#]+))?\/?$/i.exec(path);
  const resource: ScimResource | undefined = match ? (match[1]!.toLowerCase() === "users" ? "Users" : "Groups") : undefined;
  const target = match?.[2];
  if (!resource) throw new ValidationError(`path "${path}" names no resource endpoint: use /Users or /Groups (with /{id} except for POST).`, { field: "path" });
  if (method === "POST" && target !== undefined) throw new ValidationError(`A POST operation's path is the resource endpoint (/${resource}), not "${path}".`, { field: "path" });
  if (method !== "POST" && target === undefined) throw new ValidationError(`A ${method} operation's path names one resource (/${resource}/{id}), not "${path}".`, { field: "path" });
  return { resource, target };
}

function parseOperation(raw: unknown): BulkOperation {
  if (!isObject(raw)) throw new InvalidSyntaxError("Each element of Operations must be an object with method and path.");
  const method = field(raw, "method");
  if (typeof method !== "string" || !METHODS.has(method.toUpperCase())) {
    throw new ValidationError("method must be one of POST, PUT, PATCH, DELETE.", { field: "method" });
  }
  const verb = method.toUpperCase() as BulkMethod;
  const bulkId = field(raw, "bulkId");
  if (bulkId !== undefined && (typeof bulkId !== "string" || bulkId.trim() === "")) throw new InvalidSyntaxError("bulkId must be a non-empty string.");
  if (verb === "POST" && bulkId === undefined) throw new InvalidSyntaxError("bulkId is required for a POST operation (RFC 7644 §3.7).");
  const version = field(raw, "version");
  if (version !== undefined && typeof version !== "string") throw new InvalidSyntaxError("version must be a string (an ETag such as W/\"3\").");
  const path = field(raw, "path");
  if (typeof path !== "string") throw new InvalidSyntaxError("path is required: /Users or /Groups for POST, /Users/{id} or /Groups/{id} otherwise.");
  const { resource, target } = parsePath(verb, path);
  const data = field(raw, "data");
  if (verb !== "DELETE" && !isObject(data)) throw new InvalidSyntaxError(`data is required for a ${verb} operation: the body of the single request.`);
  return { method: verb, bulkId: bulkId as string | undefined, version: version as string | undefined, resource, target, data: verb === "DELETE" ? undefined : data };
}

/**
 * Reads a BulkRequest (RFC 7644 §3.7). A body that is no BulkRequest at all is a 400; more
 * operations than `maxOperations` is the 413 of §3.7.4 (nothing is run); each operation is
 * parsed on its own so that one bad operation fails alone.
 */
export function parseBulkRequest(body: unknown, maxOperations: number): BulkRequest {
  if (!isObject(body)) throw new InvalidSyntaxError("The request body must be a SCIM BulkRequest object.");
  const schemas = field(body, "schemas");
  if (!Array.isArray(schemas) || !schemas.includes(BULK_REQUEST_SCHEMA)) {
    throw new InvalidSyntaxError(`schemas must contain "${BULK_REQUEST_SCHEMA}".`);
  }
  const operations = field(body, "Operations");
  if (!Array.isArray(operations)) throw new InvalidSyntaxError("Operations must be an array of operations.");
  if (operations.length > maxOperations) {
    throw new BulkLimitError(
      `The bulk request has ${operations.length} operations and exceeds the maxOperations (${maxOperations}) of /ServiceProviderConfig (ROLLCALL_SCIM_BULK_MAX_OPERATIONS).`,
      maxOperations,
      "ROLLCALL_SCIM_BULK_MAX_OPERATIONS",
    );
  }
  const failOnErrors = field(body, "failOnErrors");
  if (failOnErrors !== undefined && (typeof failOnErrors !== "number" || !Number.isInteger(failOnErrors) || failOnErrors < 1)) {
    throw new ValidationError("failOnErrors must be a whole number of 1 or more.", { field: "failOnErrors" });
  }
  return {
    failOnErrors: failOnErrors as number | undefined,
    operations: operations.map((raw, index) => {
      const echo: ParsedOperation["echo"] = {};
      if (isObject(raw)) {
        const method = field(raw, "method");
        const bulkId = field(raw, "bulkId");
        if (typeof method === "string") echo.method = METHODS.has(method.toUpperCase()) ? method.toUpperCase() : method;
        if (typeof bulkId === "string") echo.bulkId = bulkId;
      }
      try {
        return { index, echo, operation: parseOperation(raw), error: undefined };
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return { index, echo, operation: undefined, error };
      }
    }),
  };
}
