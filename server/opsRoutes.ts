import Router from "@koa/router";
import type { AppState } from "./context.ts";
import type { AppDeps } from "./deps.ts";
import { migrationsPending } from "./db/migrator.ts";
import { signingKeySet } from "./webhooks/signingKeys.ts";

/**
 * /healthz (process up), /readyz (database reachable and migrated), /metrics (Prometheus text), and
 * /.well-known/jwks.json: the public keys SCIM security events are signed with (no auth: receivers
 * fetch it to verify; it holds nothing secret).
 */
export function buildOpsRouter(deps: AppDeps): Router<AppState> {
  const router = new Router<AppState>();
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", async (ctx) => {
    try {
      const pending = await migrationsPending(deps.db.sequelize, deps.logger);
      ctx.status = pending === 0 ? 200 : 503;
      ctx.body = pending === 0 ? { status: "ready" } : { status: "migrating", pending_migrations: pending };
    } catch (error) {
      ctx.state.log.warn({ err: error }, "readiness check failed");
      ctx.status = 503;
      ctx.body = { status: "unavailable", reason: "database unreachable" };
    }
  });
  router.get("/.well-known/jwks.json", async (ctx) => {
    ctx.type = "application/jwk-set+json";
    // Short enough that a receiver sees a new key soon after it is introduced.
    ctx.set("Cache-Control", "public, max-age=300");
    ctx.body = await signingKeySet(deps.db.sequelize, deps.clock.now());
  });
  router.get("/metrics", async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
  return router;
}
