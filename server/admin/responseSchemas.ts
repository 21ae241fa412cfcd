import { z } from "zod";

/*
 * The admin API's response bodies as zod schemas, for the OpenAPI document only (the presenters in
 * server/admin/*Presenters.ts build the bodies; test/integration/openApi.test.ts checks real
 * responses against these). Timestamps are milliseconds since the epoch.
 */

const timestamp = z.number().int().describe("Milliseconds since the epoch.");
const nullableTimestamp = timestamp.nullable();

/** The admin error body (server/middleware/errorHandler.ts adminErrorBody). */
export const adminError = z.object({
  errors: z.array(z.object({ code: z.string(), message: z.string(), meta: z.record(z.string(), z.unknown()).optional() })).min(1),
});

/** A keyset page of an admin list (server/admin/presenters.ts presentList). */
export function listOf(item: z.ZodType) {
  return z.object({
    object: z.literal("list"),
    data: z.array(item),
    has_more: z.boolean(),
    next_cursor: z.string().nullable().describe("Pass as `after` to get the next page; null on the last page."),
  });
}

export const organization = z.object({
  id: z.string(),
  object: z.literal("organization"),
  name: z.string(),
  slug: z.string(),
  scim_rate_limit: z.number().int().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});

export const enterpriseConnection = z.object({
  id: z.string(),
  object: z.literal("enterprise_connection"),
  organization_id: z.string(),
  name: z.string(),
  provider: z.string(),
  is_default: z.boolean(),
  created_at: timestamp,
});

export const scimToken = z.object({
  id: z.string(),
  object: z.literal("scim_token"),
  organization_id: z.string(),
  enterprise_connection_id: z.string().nullable(),
  name: z.string(),
  prefix: z.string(),
  created_at: timestamp,
  last_used_at: nullableTimestamp,
  revoked_at: nullableTimestamp,
});

export const createdScimToken = scimToken.extend({ token: z.string().describe("The bearer token; shown only in this response.") });

export const scimEndpoint = z.object({ endpoint_url: z.string() });

export const webhookEndpoint = z.object({
  id: z.string(),
  object: z.literal("webhook_endpoint"),
  organization_id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  enabled: z.boolean(),
  format: z.enum(["standard-webhooks", "scim-events"]).describe("How deliveries go on the wire: Standard Webhooks JSON, or RFC 8417 Security Event Tokens with RFC 9967 events."),
  scim_events_mode: z.enum(["full", "notice"]).describe("For scim-events: whether a SET carries the resource's attributes (full) or only its identity (notice)."),
  disabled_reason: z.string().nullable(),
  circuit_state: z.enum(["closed", "open"]),
  consecutive_failures: z.number().int(),
  failing_since: nullableTimestamp,
  secret: z.string().optional().describe("The signing secret: only in the create and rotate_secret responses."),
  previous_secret_expires_at: nullableTimestamp.describe("While a rotated-out secret still signs: when it stops."),
  created_at: timestamp,
  updated_at: timestamp,
  deleted_at: nullableTimestamp,
});

export const webhookDelivery = z.object({
  id: z.string(),
  object: z.literal("webhook_delivery"),
  endpoint_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  subject_id: z.string().nullable(),
  status: z.enum(["pending", "succeeded", "failed"]),
  attempt_count: z.number().int(),
  next_attempt_at: nullableTimestamp,
  last_attempt_at: nullableTimestamp,
  completed_at: nullableTimestamp,
  created_at: timestamp,
  attempts: z.array(
    z.object({
      id: z.string(),
      object: z.literal("webhook_attempt"),
      attempted_at: nullableTimestamp,
      status_code: z.number().int().nullable(),
      latency_ms: z.number().nullable(),
      response_excerpt: z.string().nullable(),
      error: z.string().nullable(),
    }),
  ),
});

export const appUser = z.object({
  id: z.string(),
  object: z.literal("user"),
  organization_id: z.string(),
  enterprise_connection_id: z.string().nullable(),
  user_name: z.string(),
  email_address: z.string().nullable(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  external_id: z.string().nullable(),
  scim_external_id: z.string().nullable(),
  active: z.boolean(),
  organization_role: z.string().nullable(),
  public_metadata: z.record(z.string(), z.unknown()),
  private_metadata: z.record(z.string(), z.unknown()).optional(),
  teams: z.array(z.object({ id: z.string(), name: z.string(), status: z.string() })),
  mapping: z.object({ version: z.number().int().nullable(), errors: z.unknown() }),
  created_at: timestamp,
  updated_at: timestamp,
  deleted_at: nullableTimestamp,
});

export const appTeam = z.object({
  id: z.string(),
  object: z.literal("team"),
  organization_id: z.string(),
  enterprise_connection_id: z.string().nullable(),
  name: z.string(),
  external_id: z.string().nullable(),
  member_count: z.number().int(),
  created_at: timestamp,
  updated_at: timestamp,
  deleted_at: nullableTimestamp,
});

export const teamMember = appUser.extend({
  membership: z.object({ status: z.string(), source: z.string(), confirmed_at: timestamp }),
});

export const scimEvent = z.object({
  id: z.string(),
  object: z.literal("scim_event"),
  request_id: z.string().nullable(),
  method: z.string(),
  path: z.string(),
  status: z.number().int(),
  token_id: z.string().nullable(),
  duration_ms: z.number().nullable(),
  outcome: z.string().nullable(),
  error: z.string().nullable(),
  created_at: timestamp,
});

export const attributeMapping = z.object({
  object: z.literal("attribute_mapping"),
  organization_id: z.string(),
  id: z.string().nullable(),
  version: z.number().int().nullable(),
  mapping: z.record(z.string(), z.unknown()),
  defaults: z.record(z.string(), z.unknown()),
  created_at: nullableTimestamp,
});

export const attributeMappingPut = attributeMapping.extend({
  apply: z.looseObject({}).optional().describe("Present with `?apply=true`: the background re-mapping of existing users that was scheduled."),
});

export const mappingPreview = z.object({
  object: z.literal("mapping_preview"),
  mapping_version: z.number().int().nullable(),
  proposed: z.boolean(),
  user: z.record(z.string(), z.unknown()),
  errors: z.array(z.unknown()),
});

export const attributeMappingVersions = z.object({
  object: z.literal("list"),
  data: z.array(attributeMapping),
  has_more: z.literal(false),
  next_cursor: z.null(),
});

export const directoryConnection = z
  .looseObject({
    id: z.string(),
    object: z.literal("directory_connection"),
    organization_id: z.string(),
    enterprise_connection_id: z.string(),
    provider: z.enum(["okta", "entra", "google", "onelogin"]),
    credentials: z.looseObject({ configured: z.literal(true) }).describe("The non-secret parts of the credentials; secrets are never returned."),
    max_deactivation_ratio: z.number(),
    interval_minutes: z.number().int().nullable(),
    full_every_hours: z.number().int().nullable(),
    last_run_at: nullableTimestamp,
    last_full_run_at: nullableTimestamp,
    created_at: timestamp,
    updated_at: timestamp,
  })
  .describe("The stored directory; the provider's settings (base_url, app_id, tenant_id, …) appear as top-level fields.");

export const deletedDirectoryConnection = directoryConnection.extend({ deleted: z.literal(true) });

export const directoryTest = z.looseObject({
  ok: z.boolean(),
  detail: z.string().optional(),
  users: z.number().int().optional(),
  groups: z.number().int().optional(),
});

export const reconcileRun = z.object({
  id: z.string(),
  object: z.literal("reconcile_run"),
  organization_id: z.string(),
  status: z.string(),
  repair: z.boolean(),
  trigger: z.string(),
  summary: z.unknown(),
  error: z.string().nullable(),
  started_at: nullableTimestamp,
  finished_at: nullableTimestamp,
  findings: z.array(z.unknown()).optional().describe("On a single run (and the run a POST started), not in lists."),
});

export const portalSession = z.object({
  id: z.string(),
  object: z.literal("portal_session"),
  organization_id: z.string(),
  url: z.string().describe("The one-time portal link to hand to the customer's admin."),
  expires_at: timestamp,
});

/** One event of the Events API (server/admin/eventPresenters.ts): the webhook body's fields and its id. */
export const event = z.object({
  id: z.string().describe("The event id: the `webhook-id` of its deliveries."),
  object: z.literal("event"),
  type: z.string(),
  timestamp: z.string().describe("When the change happened (ISO 8601), as in the webhook body."),
  created_at: timestamp,
  data: z.record(z.string(), z.unknown()),
});

/** A page of the Events API: next_cursor is always present, to continue now or to poll from later. */
export const eventPage = z.object({
  object: z.literal("list"),
  data: z.array(event),
  has_more: z.boolean(),
  next_cursor: z.string().describe("Pass as `after`: the next page, or where to poll from once more events are visible."),
});
