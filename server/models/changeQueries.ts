import type { Sequelize, Transaction } from "sequelize";
import { newId } from "../ids.ts";
import { BindList } from "../db/bindList.ts";
import type { AuditEntry, Change } from "../changes/change.ts";
import { buildPayload, WEBHOOK_EVENT_TYPES, type OutboxEvent } from "../webhooks/eventPayload.ts";
import { PARKED_UNTIL } from "../webhooks/parked.ts";
import { SCIM_EVENT_SOURCES } from "../webhooks/formats/securityEvent.ts";
import { execute } from "./sql.ts";
import { deliveriesCommitted } from "../webhooks/wakeUp.ts";

const PARKED_UNTIL_SQL = PARKED_UNTIL.toISOString();

/*
 * The only SQL that writes events, webhook deliveries and audit rows.
 *
 * The event row and its deliveries (one per subscribed, live endpoint) are written by one statement
 * in the caller's transaction, so a change can never commit without them and a rollback leaves
 * nothing behind. Fanning out here rather than in the dispatcher means an event is deliverable the
 * moment it commits and there is no second "fan-out" state to crash between.
 *
 * Delivery ids are prefixed ULIDs built in SQL: the event's ULID time part plus 16 random hex digits
 * (valid Crockford base32) from gen_random_uuid(), which is evaluated per row. Building them in SQL
 * avoids first querying for the matching endpoints just to mint ids in JavaScript.
 *
 * A scim-events endpoint gets only the events that have an RFC 9967 counterpart (SCIM_EVENT_SOURCES).
 *
 * A delivery to an endpoint whose circuit is open is parked at once (PARKED_UNTIL): the endpoint is
 * being probed, and its queue is released when it answers again (server/webhooks/circuitBreaker.ts).
 *
 * The event row's `xid` is left to its column default, pg_current_xact_id(): the Events API orders
 * and releases events by the writing transaction's id (server/models/eventQueries.ts).
 *
 * A change is offered as CTEs (`outbox_event`, `outbox_deliveries`, `audit_row`) so a write can put
 * its own row change in the same statement; `onlyIfRowIn` names a CTE of that statement, and the
 * change is recorded only when that CTE produced a row (e.g. the INSERT of a user that did not conflict).
 */

function eventCtes(event: OutboxEvent, now: Date, bind: BindList, onlyIfRowIn?: string): { sql: string; eventId: string } {
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
       AND (e.format <> 'scim-events' OR ${bind.add(SCIM_EVENT_SOURCES.includes(event.type))}::boolean)
    RETURNING 1
  )`;
  return { sql, eventId: id };
}

function auditCte(entry: AuditEntry, now: Date, bind: BindList, onlyIfRowIn?: string): string {
  return `
  audit_row AS (
    INSERT INTO audit_log (id, organization_id, actor_type, actor_id, action, subject_type, subject_id, changes, created_at)
    SELECT ${bind.add(newId("audit"))}, ${bind.add(entry.organizationId)}, ${bind.add(entry.actor.type)}, ${bind.add(entry.actor.id)}::text,
           ${bind.add(entry.action)}, ${bind.add(entry.subjectType)}, ${bind.add(entry.subjectId)}, ${bind.add(JSON.stringify(entry.changes ?? {}))}::jsonb,
           ${bind.add(now)}::timestamptz
    ${onlyIfRowIn ? `WHERE EXISTS (SELECT 1 FROM ${onlyIfRowIn})` : ""}
    RETURNING 1
  )`;
}

/**
 * The change's rows as CTEs of a larger statement (joined with ", "; empty when the change is
 * empty), written only if `onlyIfRowIn` produced a row. Returns the msg_ id of the event, if any.
 */
export function changeCtes(change: Change, now: Date, bind: BindList, onlyIfRowIn?: string): { sql: string; eventId: string | null } {
  const parts: string[] = [];
  let eventId: string | null = null;
  if (change.event) {
    const event = eventCtes(change.event, now, bind, onlyIfRowIn);
    parts.push(event.sql);
    eventId = event.eventId;
  }
  if (change.audit) parts.push(auditCte(change.audit, now, bind, onlyIfRowIn));
  return { sql: parts.join(","), eventId };
}

/** Writes a change's event, deliveries and audit row in one statement of the caller's transaction. */
export async function insertChange(sequelize: Sequelize, transaction: Transaction, change: Change, now: Date): Promise<{ eventId: string | null }> {
  const bind = new BindList();
  const ctes = changeCtes(change, now, bind);
  if (ctes.sql === "") return { eventId: null };
  await execute(sequelize, `WITH ${ctes.sql} SELECT 1`, bind.values, transaction);
  if (ctes.eventId) deliveriesCommitted(sequelize, transaction);
  return { eventId: ctes.eventId };
}
