import { ms } from "./presenters.ts";
import type { WebhookEndpointRow } from "../webhooks/endpoints.ts";
import type { AttemptView, DeliveryView } from "../webhooks/deliveries.ts";
import { PARKED_UNTIL } from "../webhooks/outbox.ts";

/**
 * A webhook endpoint as the admin API shows it. The signing secret appears only in the responses
 * that create it (POST …/webhook_endpoints and …/rotate_secret): a lost secret is replaced by
 * rotating, never read back. The previous secret of a rotation is never shown, only until when it
 * still signs.
 */
export function presentWebhookEndpoint(row: WebhookEndpointRow, options: { withSecret: boolean }) {
  return {
    id: row.id,
    object: "webhook_endpoint" as const,
    organization_id: row.organization_id,
    url: row.url,
    events: row.events,
    enabled: row.enabled,
    format: row.format,
    scim_events_mode: row.scim_events_mode,
    disabled_reason: row.disabled_reason,
    circuit_state: row.circuit_open_until === null ? ("closed" as const) : ("open" as const),
    consecutive_failures: row.consecutive_failures,
    failing_since: ms(row.failing_since),
    ...(options.withSecret ? { secret: row.secret } : {}),
    previous_secret_expires_at: row.previous_secret === null ? null : ms(row.previous_secret_expires_at),
    created_at: ms(row.created_at),
    updated_at: ms(row.updated_at),
    deleted_at: ms(row.deleted_at),
  };
}

/** One attempt in a delivery's log. */
export function presentWebhookAttempt(attempt: AttemptView) {
  return {
    id: attempt.id,
    object: "webhook_attempt" as const,
    attempted_at: ms(attempt.attempted_at),
    status_code: attempt.status_code,
    latency_ms: attempt.latency_ms,
    response_excerpt: attempt.response_excerpt,
    error: attempt.error,
  };
}

/** A delivery of one event to one endpoint, with its attempts oldest first. */
export function presentWebhookDelivery(delivery: DeliveryView) {
  return {
    id: delivery.id,
    object: "webhook_delivery" as const,
    endpoint_id: delivery.endpoint_id,
    event_id: delivery.event_id,
    event_type: delivery.event_type,
    subject_id: delivery.subject_id,
    status: delivery.status,
    attempt_count: delivery.attempt_count,
    // A parked delivery waits for its endpoint (circuit open or disabled), not for a time of its own.
    next_attempt_at: delivery.status === "pending" && delivery.next_attempt_at.getTime() < PARKED_UNTIL.getTime() ? ms(delivery.next_attempt_at) : null,
    last_attempt_at: ms(delivery.last_attempt_at),
    completed_at: ms(delivery.completed_at),
    created_at: ms(delivery.created_at),
    attempts: delivery.attempts.map(presentWebhookAttempt),
  };
}
