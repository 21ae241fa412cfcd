import type { Sequelize, Transaction } from "sequelize";
import { newId } from "../ids.ts";
import { execute } from "../models/sql.ts";
import { BindList } from "../db/bindList.ts";

/**
 * next_attempt_at of a parked delivery: pending, but not due until its endpoint's circuit closes or
 * the endpoint is enabled again. Far enough in the future to be out of every due scan.
 */
export const PARKED_UNTIL = new Date("9999-01-01T00:00:00.000Z");
const PARKED_UNTIL_SQL = PARKED_UNTIL.toISOString();

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
 * The event row and its deliveries (one per subscribed, live endpoint) are written by one statement
 * in the caller's transaction, so a change can never commit without them and a rollback leaves
 * nothing behind. Fanning out here rather than in the dispatcher means an event is deliverable the
 * moment it commits and there is no second "fan-out" state to crash between.
 *
 * Delivery ids are prefixed ULIDs built in SQL: the event's ULID time part plus 16 random hex digits
 * (valid Crockford base32) from gen_random_uuid(), which is evaluated per row. Building them in SQL
 * avoids first querying for the matching endpoints just to mint ids in JavaScript.
 *
 * A delivery to an endpoint whose circuit is open is parked at once (PARKED_UNTIL): the endpoint is
 * being probed, and its queue is released when it answers again (server/webhooks/circuitBreaker.ts).
 *
 * The statement is offered as two CTEs (`outbox_event`, `outbox_deliveries`) so a write can put its
 * own change in the same statement; `onlyIfRowIn` names a CTE of that statement, and the event is
 * written only when that CTE produced a row (e.g. the INSERT of a user that did not conflict).
 */
export function outboxCtes(event: OutboxEvent, now: Date, bind: BindList, onlyIfRowIn?: string): { sql: string; eventId: string } {
  if (!WEBHOOK_EVENT_TYPES.includes(event.type)) throw new Error(`unknown webhook event type ${String(event.type)}`);
  const id = newId("msg");
  const ulidTime = id.slice("msg_".length, "msg_".length + 10);
  const org = bind.add(event.organizationId);
  const type = bind.add(event.type);
  const subject = bind.add(event.subjectId);
  const at = bind.add(now);
  const sql = `
  outbox_event AS (
    INSERT INTO events (id, organization_id, type, subject_id, payload, fanned_out_at, created_at)
    SELECT ${bind.add(id)}, ${org}, ${type}::text, ${subject}::text, ${bind.add(JSON.stringify(buildPayload(event, now)))}::jsonb, ${at}::timestamptz, ${at}::timestamptz
    ${onlyIfRowIn ? `WHERE EXISTS (SELECT 1 FROM ${onlyIfRowIn})` : ""}
    RETURNING id, seq
  ), outbox_deliveries AS (
    INSERT INTO webhook_deliveries (id, organization_id, event_id, endpoint_id, event_seq, subject_id, status, next_attempt_at, created_at)
    SELECT 'whdl_' || ${bind.add(ulidTime)}::text || upper(substr(replace(gen_random_uuid()::text, '-', ''), 17, 16)),
           e.organization_id, ev.id, e.id, ev.seq, ${subject}, 'pending',
           CASE WHEN e.circuit_open_until IS NULL THEN ${at}::timestamptz ELSE '${PARKED_UNTIL_SQL}'::timestamptz END, ${at}
      FROM outbox_event ev
      JOIN webhook_endpoints e ON e.organization_id = ${org}
     WHERE e.enabled AND e.deleted_at IS NULL
       AND (cardinality(e.events) = 0 OR ${type} = ANY (e.events))
    RETURNING 1
  )`;
  return { sql, eventId: id };
}

/** Writes the event into the outbox inside the caller's transaction (so change and event commit together). Returns the msg_ id. */
export async function recordEvent(sequelize: Sequelize, transaction: Transaction, event: OutboxEvent, now: Date): Promise<string> {
  const bind = new BindList();
  const { sql, eventId } = outboxCtes(event, now, bind);
  await execute(sequelize, `WITH ${sql} SELECT 1`, bind.values, transaction);
  return eventId;
}
