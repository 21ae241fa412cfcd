import Router from "@koa/router";
import type { AppState } from "../context.ts";
import type { AppDeps } from "../deps.ts";
import { scimAuth, scimRateLimit } from "../middleware/scimAuth.ts";

/** SCIM 2.0 routes under /scim/v2; the organization comes from the token, never the path. */
export function buildScimRouter(deps: AppDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: "/scim/v2" });
  router.use(scimAuth(deps.db.sequelize, deps.config.scim.rateLimit, deps.clock));
  router.use(scimRateLimit(deps.rateLimiter, deps.clock, deps.metrics));
  return router;
}
