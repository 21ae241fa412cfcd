import { z } from "zod";
import type { RouteDoc } from "./apiDocs.ts";
import { adminError } from "./responseSchemas.ts";

/*
 * Builds the OpenAPI 3.1 document of the admin API from the route registry (server/admin/apiDocs.ts).
 * Schemas come from the zod schemas the handlers parse with (z.toJSONSchema, JSON Schema 2020-12,
 * which is OpenAPI 3.1's schema dialect): request bodies and query parameters as the client sends
 * them (`io: "input"`: a field with a default is optional), responses as the server writes them.
 * Pure: no Koa, no database.
 */

type JsonSchema = Record<string, unknown>;

/** A zod schema as an inline JSON Schema (no `$schema`: the document's dialect applies). */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  // Refinements and transforms have no JSON Schema form: they are left out (`any`), the shape stays.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any", reused: "inline" }) as JsonSchema;
  return rest;
}

/** `/v1/organizations/:org/x/:id` → `/v1/organizations/{org}/x/{id}` (OpenAPI path templating). */
export function openApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

const pathParams = (koaPath: string) => [...koaPath.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);

const operationId = (doc: RouteDoc) =>
  [doc.method, ...doc.path.split("/").filter((s) => s !== "" && s !== "v1").map((s) => (s.startsWith(":") ? `by_${s.slice(1)}` : s.replace(/[^A-Za-z0-9]+/g, "_")))].join("_");

const ORG_PARAM = "Organization id (`org_…`) or slug.";

function parameters(doc: RouteDoc) {
  const fromPath = pathParams(doc.path).map((name) => ({
    name,
    in: "path",
    required: true,
    description: name === "org" ? ORG_PARAM : doc.params?.[name] ?? `The ${name} of the resource.`,
    schema: { type: "string" },
  }));
  const fromQuery: unknown[] = [];
  if (doc.query) {
    const object = jsonSchema(doc.query, "input") as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(object.properties ?? {})) {
      const { description, ...rest } = schema;
      fromQuery.push({ name, in: "query", required: object.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest });
    }
  }
  return [...fromPath, ...fromQuery];
}

const errorContent = { "application/json": { schema: { $ref: "#/components/schemas/AdminError" } } };

/** The error answers every admin route can give, on top of its documented successes. */
function errorResponses(doc: RouteDoc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (doc.body || doc.query) out["400"] = { description: "The request is invalid (`errors[].code` `validation_failed`, `invalid_syntax`, …).", content: errorContent };
  if (!doc.public) out["401"] = { description: "Missing or wrong admin key.", content: errorContent };
  if (pathParams(doc.path).length > 0) out["404"] = { description: "No such organization or resource.", content: errorContent };
  out.default = { description: "Any other error, in the same shape.", content: errorContent };
  return out;
}

function operation(doc: RouteDoc) {
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(doc.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.schema ? { content: { "application/json": { schema: jsonSchema(response.schema, "output") } } } : {}),
    };
  }
  return {
    operationId: operationId(doc),
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [doc.tag],
    ...(doc.public ? { security: [] } : {}),
    parameters: parameters(doc),
    // Handlers parse a missing body as {}: a body is required exactly when its schema refuses {}.
    ...(doc.body ? { requestBody: { required: !doc.body.safeParse({}).success, content: { "application/json": { schema: jsonSchema(doc.body, "input") } } } } : {}),
    responses: { ...responses, ...errorResponses(doc) },
  };
}

/** The OpenAPI 3.1 document for the documented routes, served from `serverUrl`. */
export function buildOpenApiDocument(docs: readonly RouteDoc[], options: { serverUrl: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...docs].sort((a, b) => a.path.localeCompare(b.path));
  for (const doc of sorted) {
    const path = openApiPath(doc.path);
    paths[path] ??= {};
    if (paths[path][doc.method]) throw new Error(`${doc.method.toUpperCase()} ${doc.path} is documented twice`);
    paths[path][doc.method] = operation(doc);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Rollcall admin API",
      version: options.version,
      description:
        "Manage organizations, SCIM tokens, attribute mappings, webhooks, directories and reconcile runs. " +
        "Authenticate with `Authorization: Bearer <ROLLCALL_ADMIN_KEY>`. Timestamps are milliseconds since the epoch; " +
        "lists are keyset pages (`limit`, `after` = the previous page's `next_cursor`).",
    },
    servers: [{ url: options.serverUrl }],
    security: [{ adminKey: [] }],
    tags: [...new Set(sorted.map((d) => d.tag))].sort().map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { adminKey: { type: "http", scheme: "bearer", description: "The admin key (ROLLCALL_ADMIN_KEY)." } },
      schemas: { AdminError: jsonSchema(adminError, "output") },
    },
  };
}
