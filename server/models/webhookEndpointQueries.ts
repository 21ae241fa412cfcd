import { QueryTypes, type Sequelize, type Transaction } from "sequelize";

/**
 * The SQL of webhook endpoints. Rows come back as stored, secret still sealed: opening it with the
 * key ring is the caller's business (server/webhooks/endpoints.ts), so this module knows nothing of
 * keys. Every statement is scoped by organization. These run through sequelize.query, like the
 * webhook stores (webhooks/endpointHealthStore.ts): admin edits are rare, nothing here is hot.
 */

/** A webhook_endpoints row (migrations/20261122000000-create-schema.ts). */
export type WebhookEndpointRow = {
  id: string;
  organization_id: string;
  url: string;
  events: string[];
  secret: string;
  enabled: boolean;
  format: "standard-webhooks" | "scim-events";
  scim_events_mode: "full" | "notice";
  /** The secret a rotation replaced (sealed), signing too until previous_secret_expires_at. */
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  /** Why enabled is false: 'failing' (the circuit breaker gave up) or 'admin' (PATCH). */
  disabled_reason: "failing" | "admin" | null;
  consecutive_failures: number;
  failing_since: Date | null;
  circuit_open_until: Date | null;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

/** Inserts an enabled endpoint; `sealedSecret` is stored as given. */
export async function insertEndpoint(
  sequelize: Sequelize,
  props: { id: string; organizationId: string; url: string; events: string[]; sealedSecret: string; format: WebhookEndpointRow["format"]; scimEventsMode: WebhookEndpointRow["scim_events_mode"] },
  now: Date,
): Promise<WebhookEndpointRow> {
  const rows = await sequelize.query<WebhookEndpointRow>(
    `INSERT INTO webhook_endpoints (id, organization_id, url, events, secret, enabled, format, scim_events_mode, created_at, updated_at)
     VALUES ($1, $2, $3, $4::text[], $5, true, $7, $8, $6, $6)
     RETURNING *`,
    { bind: [props.id, props.organizationId, props.url, props.events, props.sealedSecret, now, props.format, props.scimEventsMode], type: QueryTypes.SELECT },
  );
  return rows[0]!;
}

/** The organization's live endpoints, oldest first, keyset-paginated by id. */
export async function liveEndpointsPage(
  sequelize: Sequelize,
  organizationId: string,
  page: { limit: number; after?: string | undefined },
): Promise<WebhookEndpointRow[]> {
  return sequelize.query<WebhookEndpointRow>(
    `SELECT * FROM webhook_endpoints
      WHERE organization_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR id > $2)
      ORDER BY id LIMIT $3`,
    { bind: [organizationId, page.after ?? null, page.limit], type: QueryTypes.SELECT },
  );
}

/**
 * A live endpoint of the organization, if any. With a transaction it is locked FOR NO KEY UPDATE
 * (not FOR UPDATE: every delivery insert takes KEY SHARE on its endpoint, and must not wait).
 */
export async function liveEndpoint(
  sequelize: Sequelize,
  organizationId: string,
  id: string,
  lock?: { transaction: Transaction },
): Promise<WebhookEndpointRow | undefined> {
  const rows = lock
    ? await sequelize.query<WebhookEndpointRow>(
        `SELECT * FROM webhook_endpoints WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL FOR NO KEY UPDATE`,
        { bind: [id, organizationId], type: QueryTypes.SELECT, transaction: lock.transaction },
      )
    : await sequelize.query<WebhookEndpointRow>(
        `SELECT * FROM webhook_endpoints WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL`,
        { bind: [id, organizationId], type: QueryTypes.SELECT },
      );
  return rows[0];
}

/** Soft-deletes a live endpoint (disabled too); undefined when there is none. */
export async function softDeleteEndpoint(
  sequelize: Sequelize,
  transaction: Transaction,
  organizationId: string,
  id: string,
  now: Date,
): Promise<WebhookEndpointRow | undefined> {
  const rows = await sequelize.query<WebhookEndpointRow>(
    `UPDATE webhook_endpoints SET deleted_at = $3, enabled = false, updated_at = $3
      WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL
      RETURNING *`,
    { bind: [id, organizationId, now], type: QueryTypes.SELECT, transaction },
  );
  return rows[0];
}

/** Ends the endpoint's pending deliveries as failed (an attempt already in flight is still logged). */
export async function failPendingDeliveries(sequelize: Sequelize, transaction: Transaction, organizationId: string, endpointId: string, now: Date): Promise<void> {
  await sequelize.query(
    `UPDATE webhook_deliveries SET status = 'failed', completed_at = $3
      WHERE endpoint_id = $1 AND organization_id = $2 AND status = 'pending'`,
    { bind: [endpointId, organizationId, now], transaction },
  );
}

/**
 * Writes an endpoint's URL, events and enabled flag. Disabling an enabled endpoint records
 * disabled_reason 'admin' (a breaker-disabled one keeps 'failing'); enabling clears it. With
 * `freshStart` the failure streak and an open circuit are forgotten.
 */
export async function writeEndpointSettings(
  sequelize: Sequelize,
  transaction: Transaction,
  props: {
    organizationId: string;
    id: string;
    url: string;
    events: string[];
    enabled: boolean;
    freshStart: boolean;
    format: WebhookEndpointRow["format"];
    scimEventsMode: WebhookEndpointRow["scim_events_mode"];
  },
  now: Date,
): Promise<WebhookEndpointRow> {
  const [row] = await sequelize.query<WebhookEndpointRow>(
    `UPDATE webhook_endpoints
        SET url = $3, events = $4::text[], enabled = $5, format = $8, scim_events_mode = $9,
            disabled_reason = CASE WHEN $5 THEN NULL WHEN enabled THEN 'admin' ELSE disabled_reason END,
            consecutive_failures = CASE WHEN $6 THEN 0 ELSE consecutive_failures END,
            failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END,
            circuit_open_until = CASE WHEN $6 THEN NULL ELSE circuit_open_until END,
            updated_at = $7
      WHERE id = $1 AND organization_id = $2
      RETURNING *`,
    { bind: [props.id, props.organizationId, props.url, props.events, props.enabled, props.freshStart, now, props.format, props.scimEventsMode], type: QueryTypes.SELECT, transaction },
  );
  return row!;
}

/**
 * Replaces a live endpoint's secret. With `previousExpiresAt` the replaced secret is kept (sealed as
 * it was) and signs until then; without it, it is dropped at once. A secret still in an earlier
 * rotation's overlap is dropped either way: at most two secrets sign. Undefined when there is no
 * such endpoint in the organization.
 */
export async function rotateSecret(
  sequelize: Sequelize,
  transaction: Transaction,
  props: { organizationId: string; id: string; sealedSecret: string; previousExpiresAt: Date | null },
  now: Date,
): Promise<WebhookEndpointRow | undefined> {
  const rows = await sequelize.query<WebhookEndpointRow>(
    `UPDATE webhook_endpoints
        SET previous_secret = CASE WHEN $4::timestamptz IS NULL THEN NULL ELSE secret END,
            previous_secret_expires_at = $4::timestamptz,
            secret = $3, updated_at = $5
      WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL
      RETURNING *`,
    { bind: [props.id, props.organizationId, props.sealedSecret, props.previousExpiresAt, now], type: QueryTypes.SELECT, transaction },
  );
  return rows[0];
}
