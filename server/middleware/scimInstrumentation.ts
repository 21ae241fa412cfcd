import type { Next } from "koa";
import type { AppContext, Clock } from "../context.ts";
import type { FailureReason, Metrics } from "../metrics.ts";
import type { ScimRequestLog } from "../scim/requestLog.ts";

const RESOURCES = new Set(["Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas", "Bulk", "Me"]);
const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The bounded `resource` label: the SCIM resource type named by the path, or "other". */
export function scimResourceOf(path: string): string {
  const segment = path.replace(/^\/scim\/v2\/?/i, "").split("/")[0] ?? "";
  return RESOURCES.has(segment) ? segment : "other";
}

function failureReason(status: number): FailureReason | undefined {
  if (status < 400 || status === 401) return undefined;
  if (status === 409) return "conflict";
  if (status === 429) return "rate_limited";
  if (status === 503) return "database";
  if (status >= 500) return "internal";
  return "validation";
}

function outcomeOf(status: number) {
  if (status === 429) return "rate_limited" as const;
  if (status >= 500) return "server_error" as const;
  if (status >= 400) return "client_error" as const;
  return "success" as const;
}

/**
 * Counts one write of a user or group, with its failure reason: for a single request (below) and
 * for each operation of a Bulk request, so provisioning dashboards see the same writes either way.
 */
export function countProvisioning(metrics: Metrics, method: string, resource: "Users" | "Groups", status: number): void {
  const operation = `${method.toLowerCase()}_${resource.toLowerCase()}`;
  metrics.provisioningOperations.inc({ operation });
  const reason = failureReason(status);
  if (reason) metrics.provisioningFailures.inc({ operation, reason });
}

/** Wraps the SCIM error handler: metrics for every call, and a request-log row once the tenant is known. */
export function scimInstrumentation(metrics: Metrics, requestLog: ScimRequestLog, clock: Clock) {
  return async function scimInstrumentationMiddleware(ctx: AppContext, next: Next): Promise<void> {
    const started = performance.now();
    try {
      await next();
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const resource = scimResourceOf(ctx.path);
      const method = ctx.method;
      const status = ctx.status;
      metrics.scimRequests.inc({ resource, method, status: String(status) });
      metrics.scimRequestDuration.observe({ resource, method }, seconds);
      if (WRITES.has(method) && (resource === "Users" || resource === "Groups")) countProvisioning(metrics, method, resource, status);
      const tenant = ctx.state.tenant;
      if (tenant) {
        requestLog.record({
          organizationId: tenant.organizationId,
          tokenId: tenant.tokenId,
          requestId: ctx.state.requestId,
          method,
          path: ctx.originalUrl,
          status,
          durationMs: Math.round(seconds * 1000),
          outcome: outcomeOf(status),
          error: status >= 400 ? ctx.state.errorDetail ?? null : null,
          at: clock.now(),
        });
      }
    }
  };
}
