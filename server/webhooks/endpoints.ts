import { randomBytes } from "node:crypto";
import { QueryTypes, type Sequelize } from "sequelize";
import { newId } from "../ids.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import type { WebhookEventType } from "./outbox.ts";
import { assertPublicDestination, BlockedDestinationError } from "./urlSafety.ts";

/** A webhook_endpoints row (migrations/20261122000000-create-schema.ts). */
export type WebhookEndpointRow = {
  id: string;
  organization_id: string;
  url: string;
  events: string[];
  secret: string;
  enabled: boolean;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

/** A Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes (192 bits, no padding). */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
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
  const rows = await sequelize.query<WebhookEndpointRow>(
    `INSERT INTO webhook_endpoints (id, organization_id, url, events, secret, enabled, created_at, updated_at)
     VALUES ($1, $2, $3, $4::text[], $5, true, $6, $6)
     RETURNING *`,
    { bind: [newId("whep"), props.organizationId, props.url, [...new Set(props.events)], generateSecret(), now], type: QueryTypes.SELECT },
  );
  return rows[0]!;
}

/** The organization's live endpoints, oldest first, keyset-paginated by id. */
export async function listEndpoints(
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

/** A live endpoint of the organization, or 404 (also for another organization's id). */
export async function findEndpoint(sequelize: Sequelize, organizationId: string, id: string): Promise<WebhookEndpointRow> {
  const rows = await sequelize.query<WebhookEndpointRow>(
    `SELECT * FROM webhook_endpoints WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL`,
    { bind: [id, organizationId], type: QueryTypes.SELECT },
  );
  if (!rows[0]) throw new NotFoundError("Webhook endpoint", id);
  return rows[0];
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
    return rows[0];
  });
}
