import type { Next } from "koa";
import type { Sequelize } from "sequelize";
import type { AppContext, Clock } from "../context.ts";
import { RateLimitedError, UnauthorizedError } from "../errors.ts";
import { authenticateScimToken } from "../commands/scimTokens.ts";
import type { RateLimiter } from "./rateLimiter.ts";
import type { Metrics } from "../metrics.ts";
import { bearerToken } from "./adminAuth.ts";
import type { TenantCache } from "../auth/tenantCache.ts";

/** SCIM guard: resolves the bearer token to organization + connection; revoked tokens fail at once. */
export function scimAuth(sequelize: Sequelize, tenantCache: TenantCache, defaultRateLimit: number, clock: Clock) {
  return async function scimAuthMiddleware(ctx: AppContext, next: Next): Promise<void> {
    const presented = bearerToken(ctx.get("Authorization"));
    const tenant = presented
      ? await authenticateScimToken(sequelize, tenantCache, presented, defaultRateLimit, clock.now(), (err) =>
          ctx.state.log.warn({ err }, "could not record token use"),
        )
      : undefined;
    if (!tenant) throw new UnauthorizedError("Missing, invalid or revoked SCIM bearer token.");
    ctx.state.tenant = tenant;
    await next();
  };
}

/** Per-token rate limit (token bucket); 429 with Retry-After and the SCIM error body when over. */
export function scimRateLimit(limiter: RateLimiter, clock: Clock, metrics: Metrics) {
  return async function scimRateLimitMiddleware(ctx: AppContext, next: Next): Promise<void> {
    const tenant = ctx.state.tenant!;
    const decision = await limiter.take(tenant.tokenId ?? tenant.organizationId, tenant.rateLimit, clock.now().getTime());
    if (!decision.allowed) {
      metrics.rateLimited.inc();
      throw new RateLimitedError(decision.retryAfterSeconds);
    }
    await next();
  };
}
