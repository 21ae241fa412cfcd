import type { OutboxEvent } from "../webhooks/eventPayload.ts";

/** Who made a change: an IdP's SCIM token, the admin API, a reconcile run, or Rollcall itself. */
export type Actor = { type: "scim_token" | "admin" | "reconciler" | "system" | "portal_session"; id: string | null };

/** One audit_log row. */
export type AuditEntry = {
  organizationId: string;
  actor: Actor;
  action: string;
  subjectType: "user" | "team" | "attribute_mapping" | "webhook_endpoint" | "organization" | "scim_token" | "webhook_delivery" | "reconcile_run" | "portal_session" | "directory_connection";
  subjectId: string;
  changes?: Record<string, unknown>;
};

/**
 * Everything a change leaves behind besides the changed rows: the webhook event (with one delivery
 * per subscribed endpoint) and the audit row. Either may be absent (a re-map after a group push is
 * announced but not audited; a mapping upload is audited but not announced). Built by the payload
 * builders of server/changes/payloads.ts and written by server/changes/recorder.ts.
 */
export type Change = { event?: OutboxEvent | undefined; audit?: AuditEntry | undefined };

/** Who is changing what, for which organization: enough for a payload builder to fill in a Change. */
export type ChangeAuthor = { organizationId: string; actor: Actor; reconcileRunId?: string | undefined };
