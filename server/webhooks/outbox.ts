import type { Sequelize, Transaction } from "sequelize";
import { newId } from "../ids.ts";

/** The event types of SPEC "Webhooks". */
export type WebhookEventType =
  | "scimUser.provisioned"
  | "scimUser.deprovisioned"
  | "scimUser.updated"
  | "scimGroup.created"
  | "scimGroup.updated"
  | "scimGroup.deleted"
  | "reconciler.drift_detected";

/** Every event type an endpoint can subscribe to (SPEC "Webhooks"). */
export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = Object.freeze([
  "scimUser.provisioned",
  "scimUser.deprovisioned",
  "scimUser.updated",
  "scimGroup.created",
  "scimGroup.updated",
  "scimGroup.deleted",
  "reconciler.drift_detected",
]);

/** What a change tells the outbox; organization_id is added to `data` by recordEvent. */
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

/*
 * One round trip: the event row and its deliveries (one per subscribed, live endpoint) are written by
 * a single statement in the caller's transaction, so a change can never commit without them and a
 * rollback leaves nothing behind. Fanning out here rather than in the dispatcher means an event is
 * deliverable the moment it commits and there is no second "fan-out" state to crash between.
 *
 * Delivery ids are prefixed ULIDs built in SQL: the event's ULID time part plus 16 random hex digits
 * (valid Crockford base32) from gen_random_uuid(), which is evaluated per row. Building them in SQL
 * avoids first querying for the matching endpoints just to mint ids in JavaScript.
 */
const INSERT_EVENT_AND_DELIVERIES = `
  WITH event AS (
    INSERT INTO events (id, organization_id, type, subject_id, payload, fanned_out_at, created_at)
    VALUES ($1, $2, $3, $4, $5::jsonb, $6, $6)
    RETURNING id, seq
  )
  INSERT INTO webhook_deliveries (id, organization_id, event_id, endpoint_id, event_seq, subject_id, status, next_attempt_at, created_at)
  SELECT 'whdl_' || $7 || upper(substr(replace(gen_random_uuid()::text, '-', ''), 17, 16)),
         e.organization_id, event.id, e.id, event.seq, $4, 'pending', $6, $6
    FROM event
    JOIN webhook_endpoints e ON e.organization_id = $2
   WHERE e.enabled AND e.deleted_at IS NULL
     AND (cardinality(e.events) = 0 OR $3 = ANY (e.events))`;

/** Writes the event into the outbox inside the caller's transaction (so change and event commit together). Returns the msg_ id. */
export async function recordEvent(sequelize: Sequelize, transaction: Transaction, event: OutboxEvent, now: Date): Promise<string> {
  if (!WEBHOOK_EVENT_TYPES.includes(event.type)) throw new Error(`unknown webhook event type ${String(event.type)}`);
  const id = newId("msg");
  const ulidTime = id.slice("msg_".length, "msg_".length + 10);
  await sequelize.query(INSERT_EVENT_AND_DELIVERIES, {
    bind: [id, event.organizationId, event.type, event.subjectId, JSON.stringify(buildPayload(event, now)), now, ulidTime],
    transaction,
  });
  return id;
}
