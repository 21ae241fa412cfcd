import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Why a provisioning write failed; the only values the `reason` label takes. */
export type FailureReason = "validation" | "conflict" | "mapping" | "database" | "rate_limited" | "internal";

/** Every metric Rollcall exports, declared in one place with bounded labels. */
export type Metrics = ReturnType<typeof createMetrics>;

/** Creates a fresh registry with the process defaults and every Rollcall metric. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    scimRequests: new Counter({
      name: "rollcall_scim_requests_total",
      help: "SCIM requests handled, by resource type, HTTP method and status code.",
      labelNames: ["resource", "method", "status"] as const,
      registers,
    }),
    scimRequestDuration: new Histogram({
      name: "rollcall_scim_request_duration_seconds",
      help: "SCIM request latency in seconds, by resource type and method.",
      labelNames: ["resource", "method"] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    provisioningFailures: new Counter({
      name: "rollcall_provisioning_failures_total",
      help: "SCIM writes that failed, by operation and reason.",
      labelNames: ["operation", "reason"] as const,
      registers,
    }),
    provisioningOperations: new Counter({
      name: "rollcall_provisioning_operations_total",
      help: "SCIM writes attempted, by operation (the denominator of the failure ratio).",
      labelNames: ["operation"] as const,
      registers,
    }),
    mappingFailures: new Counter({
      name: "rollcall_mapping_evaluation_failures_total",
      help: "Mapping template evaluations that failed and fell back to the default, by destination.",
      labelNames: ["destination"] as const,
      registers,
    }),
    webhookDeliveries: new Counter({
      name: "rollcall_webhook_deliveries_total",
      help: "Webhook delivery attempts, by event type and outcome (success, retry, failed).",
      labelNames: ["event", "outcome"] as const,
      registers,
    }),
    webhookOutboxPending: new Gauge({
      name: "rollcall_webhook_outbox_pending",
      help: "Webhook deliveries waiting to be delivered (pending or retrying).",
      registers,
    }),
    reconcilerRuns: new Counter({
      name: "rollcall_reconciler_runs_total",
      help: "Reconciler runs per organization, by outcome (succeeded, failed, skipped).",
      labelNames: ["outcome"] as const,
      registers,
    }),
    reconcilerDriftItems: new Gauge({
      name: "rollcall_reconciler_drift_items",
      help: "Findings of the most recent reconciler run per kind, summed over organizations.",
      labelNames: ["kind"] as const,
      registers,
    }),
    reconcilerLastSuccess: new Gauge({
      name: "rollcall_reconciler_last_success_timestamp_seconds",
      help: "Unix time of the last reconciler run that succeeded.",
      registers,
    }),
    rateLimited: new Counter({
      name: "rollcall_rate_limited_total",
      help: "SCIM requests refused with 429 by the per-token rate limit.",
      registers,
    }),
    rateLimitBackendErrors: new Counter({
      name: "rollcall_rate_limit_backend_errors_total",
      help: "SCIM rate-limit checks Redis could not answer, by what the request got instead (local = limited by this process alone, refused = 429).",
      labelNames: ["fallback"] as const,
      registers,
    }),
    retentionDeletedRows: new Counter({
      name: "rollcall_retention_deleted_rows_total",
      help: "Rows deleted by the retention job, by table.",
      labelNames: ["table"] as const,
      registers,
    }),
  };
}
