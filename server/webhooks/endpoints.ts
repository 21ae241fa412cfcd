import { randomBytes } from "node:crypto";
import type { Sequelize } from "sequelize";
import { newId } from "../ids.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import type { WebhookEventType } from "./outbox.ts";
import { assertPublicDestination, BlockedDestinationError } from "./urlSafety.ts";
import { keyRingOf } from "../crypto/secretBox.ts";
import { parkPendingDeliveries, releaseParkedDeliveries } from "./endpointHealthStore.ts";
import {
  failPendingDeliveries,
  insertEndpoint,
  liveEndpoint,
  liveEndpointsPage,
  rotateSecret,
  softDeleteEndpoint,
  writeEndpointSettings,
  type WebhookEndpointRow,
} from "../models/webhookEndpointQueries.ts";
import { recordChange } from "../changes/recorder.ts";
import { auditedOnly } from "../changes/payloads.ts";
import type { Actor } from "../changes/change.ts";
import { SCIM_EVENT_SOURCES } from "./formats/securityEvent.ts";

export type { WebhookEndpointRow };

/** A Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes (192 bits, no padding). */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/*
 * The secret is sealed in the table (server/crypto/secretBox.ts) and opened here, where rows are
 * loaded, so nothing past this module (presenters, the dispatcher's signer) sees the sealed form.
 */
function opened(sequelize: Sequelize, row: WebhookEndpointRow): WebhookEndpointRow {
  const ring = keyRingOf(sequelize);
  return {
    ...row,
    secret: ring.open(row.secret, row.organization_id),
    previous_secret: row.previous_secret === null ? null : ring.open(row.previous_secret, row.organization_id),
  };
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
  props: {
    organizationId: string;
    url: string;
    events: WebhookEventType[];
    allowPrivateUrls: boolean;
    format?: WebhookEndpointRow["format"] | undefined;
    scimEventsMode?: WebhookEndpointRow["scim_events_mode"] | undefined;
  },
  now: Date,
): Promise<WebhookEndpointRow> {
  if (!props.allowPrivateUrls) await assertDeliverableUrl(props.url);
  const secret = generateSecret();
  const row = await insertEndpoint(
    sequelize,
    {
      id: newId("whep"),
      organizationId: props.organizationId,
      url: props.url,
      events: [...new Set(props.events)],
      sealedSecret: sealSecret(sequelize, props.organizationId, secret),
      format: props.format ?? "standard-webhooks",
      scimEventsMode: props.scimEventsMode ?? "full",
    },
    now,
  );
  return { ...row, secret };
}

/** The organization's live endpoints, oldest first, keyset-paginated by id. */
export async function listEndpoints(
  sequelize: Sequelize,
  organizationId: string,
  page: { limit: number; after?: string | undefined },
): Promise<WebhookEndpointRow[]> {
  const rows = await liveEndpointsPage(sequelize, organizationId, page);
  return rows.map((row) => opened(sequelize, row));
}

/** A live endpoint of the organization, or 404 (also for another organization's id). */
export async function findEndpoint(sequelize: Sequelize, organizationId: string, id: string): Promise<WebhookEndpointRow> {
  const row = await liveEndpoint(sequelize, organizationId, id);
  if (!row) throw new NotFoundError("Webhook endpoint", id);
  return opened(sequelize, row);
}

/**
 * Soft-deletes an endpoint (kept for the delivery log) and ends its pending deliveries as failed in
 * the same transaction, so nothing more is sent to it. An attempt already in flight is still logged.
 */
export async function deleteEndpoint(sequelize: Sequelize, organizationId: string, id: string, now: Date): Promise<WebhookEndpointRow> {
  return sequelize.transaction(async (transaction) => {
    const row = await softDeleteEndpoint(sequelize, transaction, organizationId, id, now);
    if (!row) throw new NotFoundError("Webhook endpoint", id);
    await failPendingDeliveries(sequelize, transaction, organizationId, id, now);
    return opened(sequelize, row);
  });
}

/** What PATCH …/webhook_endpoints/:id may change (SPEC "Events API and SCIM standards"). */
export type EndpointChanges = {
  url?: string | undefined;
  events?: WebhookEventType[] | undefined;
  enabled?: boolean | undefined;
  format?: WebhookEndpointRow["format"] | undefined;
  scim_events_mode?: WebhookEndpointRow["scim_events_mode"] | undefined;
};

/**
 * Changes an endpoint's URL, event filter, enabled flag, format or SCIM events mode in one
 * transaction, audited as webhook_endpoint.updated with the fields the request changed. A new
 * format applies to every delivery sent from then on, including ones already queued.
 * - Disabling (enabled=false) stops new fan-out to it and parks its pending deliveries: they are
 *   kept, not failed, and go out when it is enabled again.
 * - Enabling it, or giving it a new URL, is a fresh start: the failure streak and an open circuit
 *   are forgotten and its parked deliveries are due at once, oldest first per subject. This is how
 *   an endpoint the circuit breaker disabled is brought back.
 */
export async function updateEndpoint(
  sequelize: Sequelize,
  props: { organizationId: string; id: string; changes: EndpointChanges; allowPrivateUrls: boolean; actor: Actor },
  now: Date,
): Promise<WebhookEndpointRow> {
  const { changes } = props;
  if (changes.url !== undefined && !props.allowPrivateUrls) await assertDeliverableUrl(changes.url);
  return sequelize.transaction(async (transaction) => {
    const current = await liveEndpoint(sequelize, props.organizationId, props.id, { transaction });
    if (!current) throw new NotFoundError("Webhook endpoint", props.id);
    const format = changes.format ?? current.format;
    const events = changes.events ? [...new Set(changes.events)] : current.events;
    const unsendable = format === "scim-events" ? events.filter((type) => !(SCIM_EVENT_SOURCES as readonly string[]).includes(type)) : [];
    if (unsendable.length > 0) {
      const message = `a scim-events endpoint cannot subscribe to ${unsendable.join(", ")} (no RFC 9967 event); change events too`;
      throw new ValidationError(`events: ${message}`, { issues: [{ field: "events", message }] });
    }
    const enabled = changes.enabled ?? current.enabled;
    const freshStart = enabled && ((changes.enabled === true && !current.enabled) || (changes.url !== undefined && changes.url !== current.url));
    const row = await writeEndpointSettings(
      sequelize,
      transaction,
      {
        organizationId: props.organizationId,
        id: props.id,
        url: changes.url ?? current.url,
        events,
        enabled,
        freshStart,
        format,
        scimEventsMode: changes.scim_events_mode ?? current.scim_events_mode,
      },
      now,
    );
    if (!enabled && current.enabled) await parkPendingDeliveries(sequelize, transaction, props.id);
    if (freshStart) await releaseParkedDeliveries(sequelize, transaction, props.id, now);
    const changed = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    await recordChange(
      { sequelize, transaction },
      auditedOnly({ organizationId: props.organizationId, actor: props.actor }, { action: "webhook_endpoint.updated", subjectType: "webhook_endpoint", subjectId: props.id, changes: changed }),
      now,
    );
    return opened(sequelize, row);
  });
}

/**
 * Gives an endpoint a new signing secret and returns the endpoint with it (the only time it is
 * shown besides creation). For `overlapMs` the old secret keeps signing next to the new one, so
 * consumers can deploy the new secret without dropping a request; 0 retires it at once. Audited
 * as webhook_endpoint.secret_rotated (without either secret).
 */
export async function rotateEndpointSecret(
  sequelize: Sequelize,
  props: { organizationId: string; id: string; overlapMs: number; actor: Actor },
  now: Date,
): Promise<WebhookEndpointRow> {
  const secret = generateSecret();
  const previousExpiresAt = props.overlapMs > 0 ? new Date(now.getTime() + props.overlapMs) : null;
  return sequelize.transaction(async (transaction) => {
    const row = await rotateSecret(sequelize, transaction, { organizationId: props.organizationId, id: props.id, sealedSecret: sealSecret(sequelize, props.organizationId, secret), previousExpiresAt }, now);
    if (!row) throw new NotFoundError("Webhook endpoint", props.id);
    await recordChange(
      { sequelize, transaction },
      auditedOnly({ organizationId: props.organizationId, actor: props.actor }, {
        action: "webhook_endpoint.secret_rotated",
        subjectType: "webhook_endpoint",
        subjectId: props.id,
        changes: { previous_secret_expires_at: previousExpiresAt ? previousExpiresAt.getTime() : null },
      }),
      now,
    );
    return { ...opened(sequelize, row), secret };
  });
}
