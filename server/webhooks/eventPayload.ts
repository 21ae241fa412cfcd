/*
 * The webhook contract: event types and the body consumers receive. No database here; the rows
 * are written by server/models/changeQueries.ts.
 */
/** The event types of SPEC "Webhooks". */
export type WebhookEventType =
  | "scimUser.provisioned"
  | "scimUser.deprovisioned"
  | "scimUser.updated"
  | "scimGroup.created"
  | "scimGroup.updated"
  | "scimGroup.deleted"
  | "reconciler.drift_detected"
  | "webhookEndpoint.disabled";

/** Every event type an endpoint can subscribe to (SPEC "Webhooks"). */
export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = Object.freeze([
  "scimUser.provisioned",
  "scimUser.deprovisioned",
  "scimUser.updated",
  "scimGroup.created",
  "scimGroup.updated",
  "scimGroup.deleted",
  "reconciler.drift_detected",
  "webhookEndpoint.disabled",
]);

/** What a change tells the outbox; organization_id is added to `data` by buildPayload. */
export type OutboxEvent = {
  organizationId: string;
  type: WebhookEventType;
  /** User id / team id / run id: events of one subject reach an endpoint in the order they were recorded. */
  subjectId: string | null;
  data: Record<string, unknown>;
};

/** The body every endpoint receives for an event, byte for byte the same on each attempt. */
export type EventPayload = {
  type: WebhookEventType;
  object: "event";
  timestamp: string;
  data: Record<string, unknown>;
};

/** Builds the event body as stored in the outbox and sent to consumers. */
export function buildPayload(event: OutboxEvent, now: Date): EventPayload {
  return {
    type: event.type,
    object: "event",
    timestamp: now.toISOString(),
    data: { ...event.data, organization_id: event.organizationId },
  };
}

/**
 * The exact bytes sent and signed: compact JSON in the SPEC's key order. Postgres returns jsonb with
 * its own key order, so the body is rebuilt from the stored payload; the same payload always gives
 * the same bytes, across retries and endpoints.
 */
export function serializePayload(payload: EventPayload): string {
  return JSON.stringify({ type: payload.type, object: payload.object, timestamp: payload.timestamp, data: payload.data });
}
