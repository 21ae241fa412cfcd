import { z } from "zod";
import { listQuery } from "./schemas.ts";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../webhooks/outbox.ts";
import { WEBHOOK_FORMATS, type WebhookFormat } from "../webhooks/formats/deliveryFormats.ts";
import { SCIM_EVENT_SOURCES } from "../webhooks/formats/securityEvent.ts";

const eventType = z.enum(WEBHOOK_EVENT_TYPES as [WebhookEventType, ...WebhookEventType[]], {
  message: `must be one of ${WEBHOOK_EVENT_TYPES.join(", ")}`,
});

const webhookUrl = z
  .string()
  .trim()
  .max(2048, "must be at most 2048 characters")
  .refine((value) => URL.canParse(value), "must be an absolute URL")
  .refine((value) => !URL.canParse(value) || ["http:", "https:"].includes(new URL(value).protocol), "must use http or https")
  .refine((value) => !URL.canParse(value) || new URL(value).hostname !== "", "must name a host");

const format = z.enum(WEBHOOK_FORMATS as [WebhookFormat, ...WebhookFormat[]], { message: `must be one of ${WEBHOOK_FORMATS.join(", ")}` });
const scimEventsMode = z.enum(["full", "notice"], { message: "must be full or notice" });
const eventList = z.array(eventType).max(WEBHOOK_EVENT_TYPES.length * 2, "lists too many event types");

/** A scim-events endpoint can only subscribe to events that have an RFC 9967 counterpart. */
const scimEventsOnly = {
  check: (body: { format?: WebhookFormat | undefined; events?: WebhookEventType[] | undefined }) =>
    body.format !== "scim-events" || (body.events ?? []).every((type) => SCIM_EVENT_SOURCES.includes(type)),
  params: { message: `a scim-events endpoint can subscribe only to ${SCIM_EVENT_SOURCES.join(", ")}`, path: ["events"] },
};

/**
 * POST …/webhook_endpoints: an http(s) URL, an optional event filter (empty = every event), the
 * format (standard-webhooks by default, or scim-events: RFC 8417 SETs) and, for scim-events,
 * whether SETs carry the resource (full, default) or only attribute names (notice).
 */
export const createWebhookEndpointBody = z
  .strictObject({
    url: webhookUrl,
    events: eventList.default([]),
    format: format.default("standard-webhooks"),
    scim_events_mode: scimEventsMode.default("full"),
  })
  .refine(scimEventsOnly.check, scimEventsOnly.params);

/** PATCH …/webhook_endpoints/:id: any of url, events, enabled, format, scim_events_mode (SPEC "Events API and SCIM standards"). */
export const updateWebhookEndpointBody = z
  .strictObject({
    url: webhookUrl.optional(),
    events: eventList.optional(),
    enabled: z.boolean({ message: "must be true or false" }).optional(),
    format: format.optional(),
    scim_events_mode: scimEventsMode.optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    message: "must change at least one of url, events, enabled, format, scim_events_mode",
  })
  .refine(scimEventsOnly.check, scimEventsOnly.params);

/** POST …/webhook_endpoints/:id/rotate_secret: how long the old secret keeps signing (default ROLLCALL_WEBHOOK_SECRET_OVERLAP_HOURS). */
export const rotateWebhookSecretBody = z.strictObject({
  overlap_seconds: z
    .number({ message: "must be a number of seconds" })
    .int("must be a whole number of seconds")
    .min(0, "must be at least 0")
    .max(30 * 24 * 3600, "must be at most 30 days")
    .optional(),
});

/** GET …/webhook_deliveries: keyset page plus status and endpoint filters. */
export const webhookDeliveriesQuery = listQuery.extend({
  status: z.enum(["pending", "succeeded", "failed"]).optional(),
  endpoint_id: z.string().min(1).max(64).optional(),
});
