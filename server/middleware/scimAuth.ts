import type { Next } from "koa";
import type { Sequelize } from "sequelize";
import type { AppContext, Clock, Tenant } from "../context.ts";
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

/**
 * Takes one token from the tenant's bucket: undefined when allowed, the 429 to answer when not.
 * A request takes one at the door; a Bulk request takes one more for each operation after its first.
 */
export async function takeScimRateToken(limiter: RateLimiter, clock: Clock, metrics: Metrics, tenant: Tenant): Promise<RateLimitedError | undefined> {
  const decision = await limiter.take(tenant.tokenId ?? tenant.organizationId, tenant.rateLimit, clock.now().getTime());
  if (decision.allowed) return undefined;
  metrics.rateLimited.inc();
  return new RateLimitedError(decision.retryAfterSeconds);
}

/** Per-token rate limit (token bucket); 429 with Retry-After and the SCIM error body when over. */
export function scimRateLimit(limiter: RateLimiter, clock: Clock, metrics: Metrics) {
  return async function scimRateLimitMiddleware(ctx: AppContext, next: Next): Promise<void> {
    const refused = await takeScimRateToken(limiter, clock, metrics, ctx.state.tenant!);
    if (refused) throw refused;
    await next();
  };
}
