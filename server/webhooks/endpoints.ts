import { randomBytes } from "node:crypto";
import { QueryTypes, type Sequelize } from "sequelize";
import { newId } from "../ids.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import type { WebhookEventType } from "./outbox.ts";
import { assertPublicDestination, BlockedDestinationError } from "./urlSafety.ts";
import { keyRingOf } from "../crypto/secretBox.ts";
import { parkPendingDeliveries, releaseParkedDeliveries } from "./endpointHealthStore.ts";

/** A webhook_endpoints row (migrations/20261122000000-create-schema.ts), with its secret opened. */
export type WebhookEndpointRow = {
  id: string;
  organization_id: string;
  url: string;
  events: string[];
  secret: string;
  enabled: boolean;
  /** Why enabled is false: 'failing' (the circuit breaker gave up) or 'admin' (PATCH). */
  disabled_reason: "failing" | "admin" | null;
  consecutive_failures: number;
  failing_since: Date | null;
  circuit_open_until: Date | null;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

/** A Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes (192 bits, no padding). */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/*
 * The secret is sealed in the table (server/crypto/secretBox.ts) and opened here, where rows are
 * loaded, so nothing past this module (presenters, the dispatcher's signer) sees the sealed form.
 */
function opened(sequelize: Sequelize, row: WebhookEndpointRow): WebhookEndpointRow {
  return { ...row, secret: keyRingOf(sequelize).open(row.secret, row.organization_id) };
}

/** Seals a signing secret for storage in webhook_endpoints.secret. */
export function sealSecret(sequelize: Sequelize, organizationId: string, secret: string): string {
  return keyRingOf(sequelize).seal(secret, organizationId);
}

const urlError = (message: string) => new ValidationError(`url: ${message}`, { issues: [{ field: "url", message }] });

/** Refuses a URL whose host is or resolves to a non-public address (production mode). */
export async function assertDeliverableUrl(url: string): Promise<void> {
  try {
    await assertPublicDestination(new URL(url));
  } catch (error) {
    if (error instanceof BlockedDestinationError) throw urlError(`${error.message}; webhook URLs must be publicly reachable`);
    const code = (error as { code?: unknown }).code;
    throw urlError(`the host could not be resolved${typeof code === "string" ? ` (${code})` : ""}`);
  }
}

/** Creates an endpoint with a fresh secret; empty `events` subscribes to every event type. */
export async function createEndpoint(
  sequelize: Sequelize,
  props: { organizationId: string; url: string; events: WebhookEventType[]; allowPrivateUrls: boolean },
  now: Date,
): Promise<WebhookEndpointRow> {
  if (!props.allowPrivateUrls) await assertDeliverableUrl(props.url);
  const secret = generateSecret();
  const rows = await sequelize.query<WebhookEndpointRow>(
    `INSERT INTO webhook_endpoints (id, organization_id, url, events, secret, enabled, created_at, updated_at)
     VALUES ($1, $2, $3, $4::text[], $5, true, $6, $6)
     RETURNING *`,
    { bind: [newId("whep"), props.organizationId, props.url, [...new Set(props.events)], sealSecret(sequelize, props.organizationId, secret), now], type: QueryTypes.SELECT },
  );
  return { ...rows[0]!, secret };
}

/** The organization's live endpoints, oldest first, keyset-paginated by id. */
export async function listEndpoints(
  sequelize: Sequelize,
  organizationId: string,
  page: { limit: number; after?: string | undefined },
): Promise<WebhookEndpointRow[]> {
  const rows = await sequelize.query<WebhookEndpointRow>(
    `SELECT * FROM webhook_endpoints
      WHERE organization_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR id > $2)
      ORDER BY id LIMIT $3`,
    { bind: [organizationId, page.after ?? null, page.limit], type: QueryTypes.SELECT },
  );
  return rows.map((row) => opened(sequelize, row));
}

/** A live endpoint of the organization, or 404 (also for another organization's id). */
export async function findEndpoint(sequelize: Sequelize, organizationId: string, id: string): Promise<WebhookEndpointRow> {
  const rows = await sequelize.query<WebhookEndpointRow>(
    `SELECT * FROM webhook_endpoints WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL`,
    { bind: [id, organizationId], type: QueryTypes.SELECT },
  );
  if (!rows[0]) throw new NotFoundError("Webhook endpoint", id);
  return opened(sequelize, rows[0]);
}

/**
 * Soft-deletes an endpoint (kept for the delivery log) and ends its pending deliveries as failed in
 * the same transaction, so nothing more is sent to it. An attempt already in flight is still logged.
 */
export async function deleteEndpoint(sequelize: Sequelize, organizationId: string, id: string, now: Date): Promise<WebhookEndpointRow> {
  return sequelize.transaction(async (transaction) => {
    const rows = await sequelize.query<WebhookEndpointRow>(
      `UPDATE webhook_endpoints SET deleted_at = $3, enabled = false, updated_at = $3
        WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL
        RETURNING *`,
      { bind: [id, organizationId, now], type: QueryTypes.SELECT, transaction },
    );
    if (!rows[0]) throw new NotFoundError("Webhook endpoint", id);
    await sequelize.query(
      `UPDATE webhook_deliveries SET status = 'failed', completed_at = $3
        WHERE endpoint_id = $1 AND organization_id = $2 AND status = 'pending'`,
      { bind: [id, organizationId, now], transaction },
    );
    return opened(sequelize, rows[0]);
  });
}

/** What PATCH …/webhook_endpoints/:id may change (SPEC "Events API and SCIM standards"). */
export type EndpointChanges = { url?: string | undefined; events?: WebhookEventType[] | undefined; enabled?: boolean | undefined };

/**
 * Changes an endpoint's URL, event filter or enabled flag in one transaction.
 * - Disabling (enabled=false) stops new fan-out to it and parks its pending deliveries: they are
 *   kept, not failed, and go out when it is enabled again.
 * - Enabling it, or giving it a new URL, is a fresh start: the failure streak and an open circuit
 *   are forgotten and its parked deliveries are due at once, oldest first per subject. This is how
 *   an endpoint the circuit breaker disabled is brought back.
 */
export async function updateEndpoint(
  sequelize: Sequelize,
  props: { organizationId: string; id: string; changes: EndpointChanges; allowPrivateUrls: boolean },
  now: Date,
): Promise<WebhookEndpointRow> {
  const { changes } = props;
  if (changes.url !== undefined && !props.allowPrivateUrls) await assertDeliverableUrl(changes.url);
  return sequelize.transaction(async (transaction) => {
    const [current] = await sequelize.query<WebhookEndpointRow>(
      `SELECT * FROM webhook_endpoints WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL FOR NO KEY UPDATE`,
      { bind: [props.id, props.organizationId], type: QueryTypes.SELECT, transaction },
    );
    if (!current) throw new NotFoundError("Webhook endpoint", props.id);
    const enabled = changes.enabled ?? current.enabled;
    const freshStart = enabled && ((changes.enabled === true && !current.enabled) || (changes.url !== undefined && changes.url !== current.url));
    const [row] = await sequelize.query<WebhookEndpointRow>(
      `UPDATE webhook_endpoints
          SET url = $3, events = $4::text[], enabled = $5,
              disabled_reason = CASE WHEN $5 THEN NULL WHEN enabled THEN 'admin' ELSE disabled_reason END,
              consecutive_failures = CASE WHEN $6 THEN 0 ELSE consecutive_failures END,
              failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END,
              circuit_open_until = CASE WHEN $6 THEN NULL ELSE circuit_open_until END,
              updated_at = $7
        WHERE id = $1 AND organization_id = $2
        RETURNING *`,
      {
        bind: [props.id, props.organizationId, changes.url ?? current.url, changes.events ? [...new Set(changes.events)] : current.events, enabled, freshStart, now],
        type: QueryTypes.SELECT,
        transaction,
      },
    );
    if (!enabled && current.enabled) await parkPendingDeliveries(sequelize, transaction, props.id);
    if (freshStart) await releaseParkedDeliveries(sequelize, transaction, props.id, now);
    return row!;
  });
}
