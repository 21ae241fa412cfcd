import Koa from "koa";
import type { AppState } from "./context.ts";
import type { AppDeps } from "./deps.ts";
import { requestContext } from "./middleware/requestContext.ts";
import { errorHandler } from "./middleware/errorHandler.ts";
import { jsonBody } from "./middleware/jsonBody.ts";
import { adminAuth } from "./middleware/adminAuth.ts";
import { scimInstrumentation } from "./middleware/scimInstrumentation.ts";
import { buildAdminRouter } from "./admin/routes.ts";
import { buildMappingRouter } from "./admin/mappingRoutes.ts";
import { buildReadModelRouter } from "./admin/readModelRoutes.ts";
import { buildReconcileRouter } from "./admin/reconcileRoutes.ts";
import { buildDirectoryRouter } from "./admin/directoryRoutes.ts";
import { buildEventRouter } from "./admin/eventRoutes.ts";
import { buildWebhookRouter } from "./admin/webhookRoutes.ts";
import { buildOpsRouter } from "./opsRoutes.ts";
import { buildScimRouter } from "./scim/routes.ts";
import { buildPortal } from "./portal/router.ts";
import { buildPortalAdminRouter } from "./portal/adminRoutes.ts";
import { buildOpenApiRouter } from "./admin/openApiRoutes.ts";
import type { Next } from "koa";
import type { AppContext } from "./context.ts";
import { AppError } from "./errors.ts";

/**
 * koa-router answers a method it has no route for at all (TRACE, PROPFIND, FOO) with a 501 that
 * http-errors marks unexposed, which the error handler reports as a 500. It is the client's
 * request that is wrong, so it gets the same 405 as a known method on the wrong path.
 */
const unsupportedMethod = () => new AppError(405, "method_not_allowed", "This HTTP method is not supported here.");

/** Runs a middleware only for paths under a prefix. */
function under(prefix: string, middleware: (ctx: AppContext, next: Next) => Promise<void>) {
  return (ctx: AppContext, next: Next) => (ctx.path === prefix || ctx.path.startsWith(`${prefix}/`) ? middleware(ctx, next) : next());
}

/**
 * koa-router matches route paths case-insensitively, but the guards match their prefix exactly
 * (`under("/v1", adminAuth)`, the SCIM router's own `use(scimAuth)`): `/V1/organizations` reached
 * the admin API without the admin key, and `/scim/V2/Users` ran a handler without a tenant. Only
 * the canonical spelling of a guarded prefix is served; any other casing is a 404.
 */
function canonicalPrefixCase(prefixes: string[]) {
  return (ctx: AppContext, next: Next) => {
    const lower = ctx.path.toLowerCase();
    for (const prefix of prefixes) {
      const matchesIgnoringCase = lower === prefix || lower.startsWith(`${prefix}/`);
      if (matchesIgnoringCase && !(ctx.path === prefix || ctx.path.startsWith(`${prefix}/`))) {
        throw new AppError(404, "not_found", `No route for ${ctx.method} ${ctx.path}; paths start with ${prefix} (lowercase).`);
      }
    }
    return next();
  };
}

/** Builds the Koa application (no listen), wiring middleware in the documented order. */
export function buildApp(deps: AppDeps): Koa<AppState> {
  const app = new Koa<AppState>({ proxy: false });
  app.silent = true;
  const admin = buildAdminRouter(deps);
  const scim = buildScimRouter(deps);
  const ops = buildOpsRouter(deps);
  app.use(requestContext(deps.logger));
  app.use(under("/scim", scimInstrumentation(deps.metrics, deps.requestLog, deps.clock)));
  app.use(errorHandler());
  app.use(canonicalPrefixCase(["/v1", "/scim/v2"]));
  app.use(under("/portal", buildPortal(deps)));
  app.use(ops.routes());
  // Every router of the admin API; each documents its routes (server/admin/apiDocs.ts) for /v1/openapi.json.
  const adminRouters = [
    admin,
    buildWebhookRouter(deps),
    buildMappingRouter(deps),
    buildReadModelRouter(deps),
    buildReconcileRouter(deps),
    buildPortalAdminRouter(deps),
    buildDirectoryRouter(deps),
    buildEventRouter(deps),
  ];
  // The document is public: served before the admin key is checked.
  app.use(buildOpenApiRouter(deps, adminRouters).routes());
  app.use(under("/v1", adminAuth(deps.adminKey)));
  // Bodies are read only once the caller is authenticated (the SCIM router reads its own after scimAuth).
  app.use(under("/v1", jsonBody(deps.config.scim.bodyLimitBytes)));
  for (const router of adminRouters) app.use(router.routes());
  app.use(admin.allowedMethods({ throw: true, notImplemented: unsupportedMethod }));
  app.use(scim.routes());
  app.use(scim.allowedMethods({ throw: true, notImplemented: unsupportedMethod }));
  return app;
}
