import type { MembershipRow, TeamRow, UserRow } from "../models/rows.ts";
import { presentAppTeam, presentAppUser } from "../presenters/appViews.ts";
import type { WebhookEventType } from "../webhooks/eventPayload.ts";
import type { AuditEntry, Change, ChangeAuthor } from "./change.ts";

/*
 * The typed builders of every change Rollcall records: one place decides which webhook event a
 * transition of a user or a team is, what its payload holds (SPEC "Webhooks") and which audit
 * action it leaves, so a change to the webhook contract is a change to this file.
 */

/** The named lifecycle transitions of a user. */
export type UserTransition = "created" | "reactivated" | "deactivated" | "updated" | "deleted" | "remapped";

const USER_EVENT: Record<UserTransition, WebhookEventType> = {
  created: "scimUser.provisioned",
  reactivated: "scimUser.provisioned",
  deactivated: "scimUser.deprovisioned",
  updated: "scimUser.updated",
  deleted: "scimUser.deprovisioned",
  remapped: "scimUser.updated",
};

/** The reconcile run a change came from, when it did (consumers can tell repairs from IdP traffic). */
const runOf = (by: ChangeAuthor) => (by.reconcileRunId ? { reconcile_run_id: by.reconcileRunId } : {});

function audited(by: ChangeAuthor, entry: Pick<AuditEntry, "action" | "subjectType" | "subjectId" | "changes">): AuditEntry {
  return { organizationId: by.organizationId, actor: by.actor, ...entry };
}

/**
 * A user changed. The event carries the app-side user with its teams; the audit row records the
 * transition (`user.<transition>`) with `audit` as its changes, or the user's name, active flag and
 * version when none are given. `audit: null` records the event alone (a re-map after a group push,
 * which the group's own audit row already explains).
 */
export function userChanged(
  by: ChangeAuthor,
  transition: UserTransition,
  user: { row: UserRow; memberships: MembershipRow[] },
  audit?: Record<string, unknown> | null,
): Change {
  const { row } = user;
  return {
    event: {
      organizationId: by.organizationId,
      type: USER_EVENT[transition],
      subjectId: row.id,
      data: {
        user: presentAppUser(row, user.memberships),
        ...(transition === "deleted" ? { deleted: true } : {}),
        // Tells a reactivation from a creation (both scimUser.provisioned): SCIM events send prov:activate for it.
        ...(transition === "reactivated" ? { reactivated: true } : {}),
        enterprise_connection_id: row.enterprise_connection_id,
        ...runOf(by),
      },
    },
    audit: audit === null ? undefined : audited(by, {
      action: `user.${transition}`,
      subjectType: "user",
      subjectId: row.id,
      changes: audit ?? { user_name: row.user_name, active: row.active, version: row.version },
    }),
  };
}

/** Who joined, left, waits for or was suspended from a team in one change. */
export type MemberChanges = {
  added: string[];
  removed: string[];
  pending: string[];
  suspended?: string[];
  pendingExpired?: string[];
};

/**
 * A team changed (created, updated, deleted). The event carries the app-side team with its member
 * count and who joined or left; the audit row records `action` with `audit` as its changes.
 */
export function teamChanged(
  by: ChangeAuthor,
  type: "scimGroup.created" | "scimGroup.updated" | "scimGroup.deleted",
  team: { row: TeamRow; memberCount: number },
  members: MemberChanges,
  audit: { action: string; changes: Record<string, unknown> },
): Change {
  const { row } = team;
  return {
    event: {
      organizationId: by.organizationId,
      type,
      subjectId: row.id,
      data: {
        group: presentAppTeam(row, team.memberCount),
        members_added: members.added,
        members_removed: members.removed,
        ...(members.suspended ? { members_suspended: members.suspended } : {}),
        members_pending: members.pending,
        ...(members.pendingExpired ? { members_pending_expired: members.pendingExpired } : {}),
        enterprise_connection_id: row.enterprise_connection_id,
        ...runOf(by),
      },
    },
    audit: audited(by, { action: audit.action, subjectType: "team", subjectId: row.id, changes: audit.changes }),
  };
}

/** A change only the audit log records (a mapping upload, a batch of version stamps). */
export function auditedOnly(by: ChangeAuthor, entry: Pick<AuditEntry, "action" | "subjectType" | "subjectId" | "changes">): Change {
  return { audit: audited(by, entry) };
}

/** A reconcile run found drift: the run (without its findings) and a sample of them. */
export function driftDetected(organizationId: string, run: { id: string }, data: { reconcile_run: unknown; findings_sample: unknown[] }): Change {
  return { event: { organizationId, type: "reconciler.drift_detected", subjectId: run.id, data } };
}

/** The dispatcher gave up on a failing endpoint and disabled it: announced (webhookEndpoint.disabled) and audited. */
export function webhookEndpointDisabled(
  by: ChangeAuthor,
  endpoint: { id: string; url: string; consecutive_failures: number; failing_since: number | null },
): Change {
  return {
    event: {
      organizationId: by.organizationId,
      type: "webhookEndpoint.disabled",
      subjectId: endpoint.id,
      data: { webhook_endpoint: { id: endpoint.id, object: "webhook_endpoint", url: endpoint.url, enabled: false, disabled_reason: "failing", consecutive_failures: endpoint.consecutive_failures, failing_since: endpoint.failing_since } },
    },
    audit: audited(by, {
      action: "webhook_endpoint.disabled",
      subjectType: "webhook_endpoint",
      subjectId: endpoint.id,
      changes: { enabled: false, disabled_reason: "failing", failing_since: endpoint.failing_since },
    }),
  };
}
