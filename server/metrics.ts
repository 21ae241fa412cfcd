import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { WEBHOOK_EVENT_TYPES } from "./webhooks/outbox.ts";
import { FINDING_KINDS } from "../reconciler/types.ts";
import { DESTINATION_ROOTS } from "../mapping/destination.ts";

/** Why a provisioning write failed; the only values the `reason` label takes. */
export type FailureReason = "validation" | "conflict" | "mapping" | "database" | "rate_limited" | "internal";

/** Every value the `reason` label takes, so each series exists (at 0) before its first failure. */
export const FAILURE_REASONS: readonly FailureReason[] = ["validation", "conflict", "mapping", "database", "rate_limited", "internal"];

/** The SCIM writes counted by the provisioning counters (`<method>_<resource>`). */
export const PROVISIONING_OPERATIONS = ["post_users", "put_users", "patch_users", "delete_users", "post_groups", "put_groups", "patch_groups", "delete_groups"] as const;

/** Outcomes of a webhook delivery attempt. */
export const WEBHOOK_DELIVERY_OUTCOMES = ["success", "retry", "failed"] as const;

/** Outcomes of a reconciler run. */
export const RECONCILER_RUN_OUTCOMES = ["succeeded", "failed", "skipped"] as const;

/** Every metric Rollcall exports, declared in one place with bounded labels. */
export type Metrics = ReturnType<typeof createMetrics>;

/** Creates a fresh registry with the process defaults and every Rollcall metric. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const metrics = { registry, ...declareMetrics([registry]) };
  initialiseKnownSeries(metrics);
  return metrics;
}

function declareMetrics(registers: Registry[]) {
  return {
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
    webhookCircuitTransitions: new Counter({
      name: "rollcall_webhook_circuit_transitions_total",
      help: "Webhook endpoint circuit breaker transitions (opened, reopened, closed, disabled).",
      labelNames: ["transition"] as const,
      registers,
    }),
    webhookEndpointsDisabled: new Counter({
      name: "rollcall_webhook_endpoints_disabled_total",
      help: "Webhook endpoints disabled by the dispatcher after failing for ROLLCALL_WEBHOOK_DISABLE_AFTER_HOURS.",
      registers,
    }),
    webhookEndpointsDisabledNow: new Gauge({
      name: "rollcall_webhook_endpoints_disabled",
      help: "Webhook endpoints disabled by the circuit breaker and not enabled again or deleted since (from the database).",
      registers,
    }),
    webhookEndpointsBackingOff: new Gauge({
      name: "rollcall_webhook_endpoints_backing_off",
      help: "Webhook endpoints whose circuit is open (backed off as a whole, probed one request at a time).",
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
    directoryRequests: new Counter({
      name: "rollcall_directory_requests_total",
      help: "Requests to IdP directory APIs by provider and HTTP status (error = no answer).",
      labelNames: ["provider", "status"] as const,
      registers,
    }),
    directoryPullDuration: new Histogram({
      name: "rollcall_directory_pull_duration_seconds",
      help: "Duration of one directory pull and diff, by provider, mode (full/incremental) and outcome.",
      labelNames: ["provider", "mode", "outcome"] as const,
      buckets: [0.5, 1, 5, 15, 30, 60, 120, 300, 900, 1800],
      registers,
    }),
    directoryLastSuccess: new Gauge({
      name: "rollcall_directory_last_success_timestamp_seconds",
      help: "Unix time of the last directory pull that succeeded, by provider.",
      labelNames: ["provider"] as const,
      registers,
    }),
    directoryFindings: new Counter({
      name: "rollcall_directory_findings_total",
      help: "IdP findings (idp_* kinds) found by directory pulls, by kind.",
      labelNames: ["kind"] as const,
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

/**
 * A labelled series only appears after its first increment, and `rate()`/`increase()` alerts need
 * a series to start from (a first failure would otherwise go unseen). Every label combination
 * whose values are known in advance is created at 0; labels with open values (the HTTP status)
 * appear when first seen.
 */
function initialiseKnownSeries(metrics: ReturnType<typeof declareMetrics>): void {
  for (const operation of PROVISIONING_OPERATIONS) {
    metrics.provisioningOperations.inc({ operation }, 0);
    for (const reason of FAILURE_REASONS) metrics.provisioningFailures.inc({ operation, reason }, 0);
  }
  for (const event of WEBHOOK_EVENT_TYPES) {
    for (const outcome of WEBHOOK_DELIVERY_OUTCOMES) metrics.webhookDeliveries.inc({ event, outcome }, 0);
  }
  for (const outcome of RECONCILER_RUN_OUTCOMES) metrics.reconcilerRuns.inc({ outcome }, 0);
  for (const destination of DESTINATION_ROOTS) metrics.mappingFailures.inc({ destination }, 0);
  for (const kind of FINDING_KINDS) metrics.reconcilerDriftItems.set({ kind }, 0);
}
