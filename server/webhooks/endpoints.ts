import { randomBytes } from "node:crypto";
import type { Sequelize } from "sequelize";
import { ValidationError } from "../errors.ts";
import { insertEndpoint, type WebhookEndpointRow } from "./endpointQueries.ts";

export { deleteEndpoint, findEndpoint, listEndpoints, type WebhookEndpointRow } from "./endpointQueries.ts";
import type { WebhookEventType } from "./outbox.ts";
import { assertPublicDestination, BlockedDestinationError } from "./urlSafety.ts";

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
  return insertEndpoint(sequelize, { organizationId: props.organizationId, url: props.url, events: [...new Set(props.events)], secret: generateSecret() }, now);
}
