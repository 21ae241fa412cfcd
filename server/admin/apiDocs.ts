import type { z } from "zod";

/*
 * The admin API's route documentation registry. Every admin route declares, next to its
 * `router.<method>(…)` line, what it takes and answers, with the same zod schemas its handler
 * parses: `documented(router, { method, path, summary, body, responses })`. The OpenAPI document
 * (server/admin/openApiDocument.ts, served at GET /v1/openapi.json) is built from these entries,
 * and test/integration/openApi.test.ts fails when a registered /v1 route has no entry or an entry
 * names no registered route. See docs/architecture.md "Documenting an admin route".
 */

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/** A success response: what it means and (unless it has no body) the schema of its JSON body. */
export type ResponseDoc = { description: string; schema?: z.ZodType };

export type RouteDoc = {
  method: HttpMethod;
  /** The full path as koa registers it, e.g. `/v1/organizations/:org/webhook_endpoints/:id`. */
  path: string;
  summary: string;
  /** Groups operations in the document (OpenAPI tag). */
  tag: string;
  description?: string;
  /** The schema the handler parses `ctx.query` with. */
  query?: z.ZodObject;
  /** The schema the handler parses the JSON body with. */
  body?: z.ZodType;
  /** Success responses by status; the admin error responses (400, 401, 404, …) are added for every route. */
  responses: Record<number, ResponseDoc>;
  /** Set for the few /v1 routes that need no admin key (the document itself). */
  public?: boolean;
  /** Descriptions of path parameters other than `:org` (which every route explains the same way). */
  params?: Record<string, string>;
};

const registry = new WeakMap<object, RouteDoc[]>();

/** Records the documentation of one route of `router` (call it next to the route). */
export function documented(router: object, doc: RouteDoc): void {
  const docs = registry.get(router) ?? [];
  docs.push(doc);
  registry.set(router, docs);
}

/** The routes documented on `router`, in the order they were declared. */
export function routeDocsOf(router: object): readonly RouteDoc[] {
  return registry.get(router) ?? [];
}
