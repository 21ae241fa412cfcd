import { z } from "zod";
import { listQuery } from "./schemas.ts";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../webhooks/outbox.ts";

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

/** POST …/webhook_endpoints: an http(s) URL and an optional event filter (empty = every event). */
export const createWebhookEndpointBody = z.strictObject({
  url: webhookUrl,
  events: z.array(eventType).max(WEBHOOK_EVENT_TYPES.length * 2, "lists too many event types").default([]),
});

/** PATCH …/webhook_endpoints/:id: any of url, events, enabled (SPEC "Events API and SCIM standards"). */
export const updateWebhookEndpointBody = z
  .strictObject({
    url: webhookUrl.optional(),
    events: z.array(eventType).max(WEBHOOK_EVENT_TYPES.length * 2, "lists too many event types").optional(),
    enabled: z.boolean({ message: "must be true or false" }).optional(),
  })
  .refine((body) => body.url !== undefined || body.events !== undefined || body.enabled !== undefined, {
    message: "must change at least one of url, events, enabled",
  });

/** GET …/webhook_deliveries: keyset page plus status and endpoint filters. */
export const webhookDeliveriesQuery = listQuery.extend({
  status: z.enum(["pending", "succeeded", "failed"]).optional(),
  endpoint_id: z.string().min(1).max(64).optional(),
});
