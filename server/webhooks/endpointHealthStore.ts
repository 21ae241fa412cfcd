import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import type { EndpointHealth } from "./circuitBreaker.ts";
import { PARKED_UNTIL } from "./outbox.ts";
import { webhookEndpointDisabled } from "../changes/payloads.ts";
import { recordChange } from "../changes/recorder.ts";

/** The health columns of a webhook endpoint, as the circuit breaker reads them. */
export type EndpointHealthRow = {
  id: string;
  organization_id: string;
  url: string;
  consecutive_failures: number;
  failing_since: Date | null;
  circuit_open_until: Date | null;
};

/** The row's health in the breaker's terms. */
export function healthOf(row: EndpointHealthRow): EndpointHealth {
  return { consecutiveFailures: row.consecutive_failures, failingSince: row.failing_since, openUntil: row.circuit_open_until };
}

/**
 * Locks the health of live, enabled endpoints for an update. Two dispatchers recording attempts of
 * one endpoint at once take turns, so neither overwrites the other's count. NO KEY UPDATE because
 * every delivery insert takes KEY SHARE on its endpoint (the foreign key): FOR UPDATE would make the
 * organization's SCIM writes wait for this transaction.
 */
export async function lockEndpointHealth(sequelize: Sequelize, transaction: Transaction, endpointIds: string[]): Promise<EndpointHealthRow[]> {
  return sequelize.query<EndpointHealthRow>(
    `SELECT id, organization_id, url, consecutive_failures, failing_since, circuit_open_until
       FROM webhook_endpoints
      WHERE id = ANY ($1::text[]) AND deleted_at IS NULL AND enabled
      ORDER BY id
        FOR NO KEY UPDATE`,
    { bind: [endpointIds], type: QueryTypes.SELECT, transaction },
  );
}

/** Stores an endpoint's new health (not an admin change: updated_at stays). */
export async function saveEndpointHealth(sequelize: Sequelize, transaction: Transaction, endpointId: string, health: EndpointHealth): Promise<void> {
  await sequelize.query(
    `UPDATE webhook_endpoints SET consecutive_failures = $2, failing_since = $3, circuit_open_until = $4 WHERE id = $1`,
    { bind: [endpointId, health.consecutiveFailures, health.failingSince, health.openUntil], transaction },
  );
}

/**
 * Parks every pending delivery of an endpoint (its circuit opened, or it was disabled). A delivery in
 * flight is parked too: its lease no longer matches, so a failure leaves it parked and a success is
 * still recorded (see RECORD in deliveryStore.ts). Rows are locked in id order, like RECORD locks
 * them, so a park and another dispatcher's record never deadlock.
 */
export async function parkPendingDeliveries(sequelize: Sequelize, transaction: Transaction | undefined, endpointId: string): Promise<number> {
  const [, affected] = await sequelize.query(
    `WITH target AS MATERIALIZED (
       SELECT id FROM webhook_deliveries
        WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at <> $2
        ORDER BY id FOR NO KEY UPDATE
     )
     UPDATE webhook_deliveries d SET next_attempt_at = $2 FROM target WHERE d.id = target.id`,
    { bind: [endpointId, PARKED_UNTIL], type: QueryTypes.UPDATE, transaction },
  );
  return affected;
}

/** Makes an endpoint's parked deliveries due now (circuit closed, or enabled again); the per-subject order still applies. */
export async function releaseParkedDeliveries(sequelize: Sequelize, transaction: Transaction | undefined, endpointId: string, now: Date): Promise<number> {
  const [, affected] = await sequelize.query(
    `WITH target AS MATERIALIZED (
       SELECT id FROM webhook_deliveries
        WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at = $3
        ORDER BY id FOR NO KEY UPDATE
     )
     UPDATE webhook_deliveries d SET next_attempt_at = $2 FROM target WHERE d.id = target.id`,
    { bind: [endpointId, now, PARKED_UNTIL], type: QueryTypes.UPDATE, transaction },
  );
  return affected;
}

/**
 * Disables an endpoint that kept failing: no new deliveries fan out to it, and the organization
 * hears about it through a `webhookEndpoint.disabled` event to its other endpoints and an audit row.
 * The caller parks its pending deliveries (PATCH enabled=true sends them).
 */
export async function disableFailingEndpoint(
  sequelize: Sequelize,
  transaction: Transaction,
  row: EndpointHealthRow,
  health: EndpointHealth,
  now: Date,
): Promise<void> {
  await sequelize.query(
    `UPDATE webhook_endpoints
        SET enabled = false, disabled_reason = 'failing', consecutive_failures = $2, failing_since = $3,
            circuit_open_until = NULL, updated_at = $4
      WHERE id = $1`,
    { bind: [row.id, health.consecutiveFailures, health.failingSince, now], transaction },
  );
  const by = { organizationId: row.organization_id, actor: { type: "system" as const, id: "webhook-dispatcher" } };
  await recordChange({ sequelize, transaction }, webhookEndpointDisabled(by, {
    id: row.id,
    url: row.url,
    consecutive_failures: health.consecutiveFailures,
    failing_since: health.failingSince?.getTime() ?? null,
  }), now);
}

/*
 * One probe per open circuit whose cooldown has passed: the endpoint's oldest pending delivery (the
 * head of its subject's queue, so order holds) becomes due now, and the circuit's time moves to the
 * end of the probe's lease, so no other dispatcher releases a second probe meanwhile. An endpoint
 * with nothing pending keeps its circuit open until a delivery arrives (it is parked and released by
 * a later call).
 */
const RELEASE_PROBES = `
  WITH ready AS (
    UPDATE webhook_endpoints SET circuit_open_until = $2
     WHERE circuit_open_until <= $1 AND enabled AND deleted_at IS NULL
    RETURNING id
  ), heads AS (
    SELECT DISTINCT ON (d.endpoint_id) d.id
      FROM webhook_deliveries d JOIN ready ON d.endpoint_id = ready.id
     WHERE d.status = 'pending'
     ORDER BY d.endpoint_id, d.event_seq
  )
  UPDATE webhook_deliveries d SET next_attempt_at = $1 FROM heads WHERE d.id = heads.id`;

/** Releases one probe delivery for each open circuit whose cooldown has passed; returns how many. */
export async function releaseProbes(sequelize: Sequelize, now: Date, leaseUntil: Date): Promise<number> {
  const [, affected] = await sequelize.query(RELEASE_PROBES, { bind: [now, leaseUntil], type: QueryTypes.UPDATE });
  return affected;
}

/**
 * Parks due deliveries of disabled endpoints: an event recorded concurrently with the disable can
 * still fan out to it; the claim skips such deliveries, and this sweep takes them out of its way.
 */
export async function parkDeliveriesOfDisabledEndpoints(sequelize: Sequelize): Promise<void> {
  await sequelize.query(
    `UPDATE webhook_deliveries d SET next_attempt_at = $1
       FROM webhook_endpoints e
      WHERE e.id = d.endpoint_id AND NOT e.enabled AND e.deleted_at IS NULL
        AND d.status = 'pending' AND d.next_attempt_at <> $1`,
    { bind: [PARKED_UNTIL] },
  );
}

/**
 * Releases parked deliveries of enabled endpoints whose circuit is closed: a dispatcher that closed
 * a circuit and died before releasing its queue would otherwise leave it parked for good.
 */
export async function releaseStrandedParkedDeliveries(sequelize: Sequelize, now: Date): Promise<void> {
  await sequelize.query(
    `WITH target AS MATERIALIZED (
       SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.status = 'pending' AND d.next_attempt_at = $2
          AND e.enabled AND e.deleted_at IS NULL AND e.circuit_open_until IS NULL
        ORDER BY d.id FOR NO KEY UPDATE OF d
     )
     UPDATE webhook_deliveries d SET next_attempt_at = $1 FROM target WHERE d.id = target.id`,
    { bind: [now, PARKED_UNTIL] },
  );
}

/** Live endpoints whose circuit is open, and those the breaker disabled, for the gauges. */
export async function countUnhealthyEndpoints(sequelize: Sequelize): Promise<{ backingOff: number; disabled: number }> {
  const rows = await sequelize.query<{ backing_off: number; disabled: number }>(
    `SELECT count(*) FILTER (WHERE circuit_open_until IS NOT NULL AND enabled) AS backing_off,
            count(*) FILTER (WHERE NOT enabled AND disabled_reason = 'failing') AS disabled
       FROM webhook_endpoints
      WHERE deleted_at IS NULL AND (circuit_open_until IS NOT NULL OR NOT enabled)`,
    { type: QueryTypes.SELECT },
  );
  return { backingOff: rows[0]?.backing_off ?? 0, disabled: rows[0]?.disabled ?? 0 };
}
