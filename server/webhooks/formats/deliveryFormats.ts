import type { Sequelize } from "sequelize";
import type { ClaimedDelivery } from "../deliveryStore.ts";
import type { AttemptResult, WebhookSender } from "../sender.ts";
import { activeSetSigningKey } from "../signingKeys.ts";
import { securityEventClaims } from "./securityEvent.ts";
import { interpretSetResponse, securityEventHeaders, signSecurityEvent } from "./scimEvents.ts";
import { signingSecrets, standardWebhookHeaders } from "./standardWebhooks.ts";

/** An endpoint's wire format (webhook_endpoints.format). */
export type WebhookFormat = "standard-webhooks" | "scim-events";
export const WEBHOOK_FORMATS: readonly WebhookFormat[] = Object.freeze(["standard-webhooks", "scim-events"]);

/** Sends one claimed delivery in its endpoint's format; see createDeliveryFormats. */
export type DeliveryFormats = { send(sender: WebhookSender, claimed: ClaimedDelivery, at: Date): Promise<AttemptResult> };

const notSent = (error: string, permanent: boolean): AttemptResult => ({ ok: false, statusCode: null, latencyMs: 0, responseExcerpt: null, error, permanent });

/*
 * The dispatcher claims, schedules and records deliveries the same way whatever the format; this
 * module is the one place that knows formats: how a delivery is rendered and signed, and what the
 * receiver's answer means. Any failure to render becomes an attempt result (retried), never a throw.
 */
export function createDeliveryFormats(deps: { sequelize: Sequelize; issuer: string }): DeliveryFormats {
  const render = async (claimed: ClaimedDelivery, at: Date): Promise<{ headers: Record<string, string>; body: string } | AttemptResult> => {
    if (claimed.format !== "scim-events") {
      return { headers: standardWebhookHeaders({ secrets: signingSecrets(claimed, at), msgId: claimed.event_id, body: claimed.body, timestamp: at }), body: claimed.body };
    }
    const claims = securityEventClaims(claimed.payload, {
      issuer: deps.issuer,
      audience: claimed.url,
      jti: claimed.id,
      txn: claimed.event_id,
      mode: claimed.scim_events_mode,
    });
    // Only an event queued before the endpoint switched to scim-events can get here (the fan-out
    // skips the others): there is nothing to send, and trying again would not change that.
    if (!claims) return notSent(`${claimed.event_type} has no SCIM event (RFC 9967); not sent`, true);
    const key = await activeSetSigningKey(deps.sequelize, at);
    return { headers: securityEventHeaders(), body: await signSecurityEvent(claims, key) };
  };

  return {
    async send(sender, claimed, at) {
      let rendered: Awaited<ReturnType<typeof render>>;
      try {
        rendered = await render(claimed, at);
      } catch (error) {
        return notSent(`could not render the delivery: ${error instanceof Error ? error.message : String(error)}`, false);
      }
      if ("ok" in rendered) return rendered;
      const result = await sender.send({ url: claimed.url, ...rendered });
      return claimed.format === "scim-events" ? interpretSetResponse(result) : result;
    },
  };
}
