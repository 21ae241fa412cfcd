import Router from "@koa/router";
import type { AppState } from "../context.ts";
import type { AppDeps } from "../deps.ts";
import { documented, routeDocsOf } from "./apiDocs.ts";
import { buildOpenApiDocument } from "./openApiDocument.ts";

/** The admin API's version as the document names it (the /v1 contract, not the build). */
const API_VERSION = "1.0.0";

/**
 * GET /v1/openapi.json: the OpenAPI 3.1 document of the admin routes of `routers` (and of itself),
 * without authentication (it holds no data). Built on first request: the routes are fixed once
 * the app is built.
 */
export function buildOpenApiRouter(deps: AppDeps, routers: readonly object[]): Router<AppState> {
  const router = new Router<AppState>({ prefix: "/v1" });
  let document: unknown;
  documented(router, {
    method: "get",
    path: "/v1/openapi.json",
    tag: "Meta",
    summary: "This OpenAPI 3.1 document",
    public: true,
    responses: { 200: { description: "The OpenAPI document of the admin API (no admin key needed)." } },
  });
  router.get("/openapi.json", (ctx) => {
    document ??= buildOpenApiDocument([...routers, router].flatMap(routeDocsOf), { serverUrl: deps.config.publicUrl, version: API_VERSION });
    ctx.body = document;
  });
  return router;
}
