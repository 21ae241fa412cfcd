import type { Sequelize, Transaction } from "sequelize";
import type { Tenant } from "../../context.ts";
import { ValidationError } from "../../errors.ts";
import type { Metrics } from "../../metrics.ts";
import { newId } from "../../ids.ts";
import type { MembershipRow, UserRow } from "../../models/rows.ts";
import { insertUser, updateUser, type UserWrite } from "../../models/userQueries.ts";
import { claimPendingMemberships, membershipsOfUsers, setUserMembershipStatus, upsertMemberships } from "../../models/membershipQueries.ts";
import { presentAppUser } from "../../presenters/appViews.ts";
import type { UserInput } from "../../scim/userInput.ts";
import type { WebhookEventType } from "../../webhooks/outbox.ts";
import type { Actor } from "../audit.ts";
import { recordChange } from "../recordChange.ts";
import { mapUser, type CurrentMapping } from "../userMapping.ts";
import type { MappingRequestBudget } from "../../../mapping/index.ts";
import { applyUserGroupsAttribute } from "./userGroups.ts";
import { execute } from "../../models/sql.ts";
import { stableJson } from "../../stableJson.ts";

/** Everything a user write needs; one per request, never shared. */
export type UserWriteContext = {
  sequelize: Sequelize;
  transaction: Transaction;
  tenant: Tenant;
  actor: Actor;
  now: Date;
  mapping: CurrentMapping;
  metrics: Metrics;
  /** Shared by every mapping evaluation of the request (mapping/evaluate.ts MappingRequestBudget). */
  mappingBudget?: MappingRequestBudget;
};

export type UserWriteResult = { row: UserRow; memberships: MembershipRow[]; event: WebhookEventType | null };

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * Turns a SCIM input plus the user's teams into the stored columns, via the org's mapping.
 * `countFailures: false` leaves the mapping-failure metric to the caller (see createInOneStatement).
 */
export function mappedColumns(
  ctx: Pick<UserWriteContext, "mapping" | "metrics" | "mappingBudget">,
  input: UserInput,
  teamNames: string[],
  options: { countFailures: boolean } = { countFailures: true },
): UserWrite {
  const { fields, errors } = mapUser(ctx.mapping, input.resource, teamNames, ctx.mappingBudget);
  if (options.countFailures) countMappingFailures(ctx.metrics, errors);
  if (!fields.email_address || !EMAIL.test(fields.email_address)) {
    throw new ValidationError(
      "An email is required: send emails[] with a value (a primary one wins), or a userName that is an email address.",
      { field: "emails" },
    );
  }
  return {
    external_id: input.externalId,
    user_name: input.userName,
    app_external_id: fields.external_id,
    email_address: fields.email_address,
    first_name: fields.first_name,
    last_name: fields.last_name,
    active: input.active,
    organization_role: fields.organization_role,
    public_metadata: fields.public_metadata,
    private_metadata: fields.private_metadata,
    scim_resource: input.resource,
    mapping_version: ctx.mapping.version,
    mapping_errors: errors,
  };
}

/** One increment of rollcall_mapping_evaluation_failures_total per failed mapping entry. */
export function countMappingFailures(metrics: Metrics, errors: Array<{ destination: string }>): void {
  for (const error of errors) metrics.mappingFailures.inc({ destination: error.destination.split(".")[0] ?? "unknown" });
}

/** Which webhook event a change from `before` to `after` is, or null when nothing changed. */
function eventFor(before: UserRow | null, after: UserRow, teamsChanged: boolean): WebhookEventType | null {
  if (!before) return "scimUser.provisioned";
  if (!before.active && after.active) return "scimUser.provisioned";
  if (before.active && !after.active) return "scimUser.deprovisioned";
  return before.version === after.version && !teamsChanged ? null : "scimUser.updated";
}

/** Whether writing `values` would leave the row as it is (then the write keeps its version and sends no event). */
function sameStoredState(before: UserRow, values: UserWrite): boolean {
  return (
    stableJson([before.external_id, before.user_name, before.app_external_id, before.email_address, before.first_name, before.last_name, before.active, before.organization_role, before.public_metadata, before.private_metadata, before.scim_resource, before.mapping_version, before.mapping_errors]) ===
    stableJson([values.external_id, values.user_name, values.app_external_id, values.email_address, values.first_name, values.last_name, values.active, values.organization_role, values.public_metadata, values.private_metadata, values.scim_resource, values.mapping_version, values.mapping_errors])
  );
}

/**
 * Creates (existing = null) or overwrites a user from a validated SCIM input, in the caller's
 * transaction: memberships (pending ones claimed, OneLogin `groups`, suspension on deactivate),
 * the mapping, the outbox event and the audit row all commit together.
 */
export async function writeUser(ctx: UserWriteContext, existing: UserRow | null, input: UserInput): Promise<UserWriteResult> {
  const { sequelize, transaction, tenant, now } = ctx;
  const userId = existing?.id ?? newId("user");
  // The user's memberships as far as this write knows them; null once a change makes a reload necessary.
  let memberships: MembershipRow[] | null;
  let row: UserRow;
  if (existing) {
    memberships = (await membershipsOfUsers(sequelize, [userId], transaction)).get(userId) ?? [];
    const values = mappedColumns(ctx, input, memberships.map((m) => m.display_name));
    row = sameStoredState(existing, values) ? existing : await updateUser(sequelize, transaction, userId, values, now);
  } else {
    memberships = [];
    const values = mappedColumns(ctx, input, []);
    row = await insertUser(sequelize, transaction, { id: userId, organizationId: tenant.organizationId, connectionId: tenant.enterpriseConnectionId }, values, now);
  }

  let teamsChanged = false;
  // A pending membership names a user by id or externalId; a brand-new id cannot have been named yet.
  const claimable = existing ? existing.external_id !== row.external_id : row.external_id !== null;
  if (claimable) {
    const claimed = await claimPendingMemberships(sequelize, transaction, { organizationId: tenant.organizationId, userId, externalId: row.external_id }, now);
    for (const teamId of claimed) {
      const added = await upsertMemberships(sequelize, transaction, { organizationId: tenant.organizationId, teamId, userIds: [userId], source: "group" }, now);
      if (added.length > 0) {
        teamsChanged = true;
        memberships = null;
      }
    }
  }
  if (input.groups !== undefined) {
    const current = memberships ?? (await membershipsOfUsers(sequelize, [userId], transaction)).get(userId) ?? [];
    if (await applyUserGroupsAttribute(ctx, userId, input.groups, current)) {
      teamsChanged = true;
      memberships = null;
    }
  }
  if (existing && existing.active !== row.active) {
    await setUserMembershipStatus(sequelize, transaction, userId, row.active ? "active" : "suspended", now);
    memberships = null;
  }

  memberships ??= (await membershipsOfUsers(sequelize, [userId], transaction)).get(userId) ?? [];
  if (teamsChanged) row = await remapAfterTeamChange(ctx, row, input, memberships, existing !== null && row.version === existing.version);

  const event = eventFor(existing, row, teamsChanged);
  if (event) {
    await recordChange(sequelize, transaction, {
      organizationId: tenant.organizationId,
      type: event,
      subjectId: userId,
      data: { user: presentAppUser(row, memberships), enterprise_connection_id: row.enterprise_connection_id },
    }, {
      organizationId: tenant.organizationId,
      actor: ctx.actor,
      action: existing ? (event === "scimUser.updated" ? "user.updated" : event === "scimUser.provisioned" ? "user.reactivated" : "user.deactivated") : "user.created",
      subjectType: "user",
      subjectId: userId,
      changes: { user_name: row.user_name, active: row.active, version: row.version },
    }, now);
  }
  return { row, memberships, event };
}

/** Re-evaluates the mapping once the user's teams changed in this same write (e.g. groups → role). */
async function remapAfterTeamChange(
  ctx: UserWriteContext,
  row: UserRow,
  input: UserInput,
  memberships: MembershipRow[],
  bumpVersion: boolean,
): Promise<UserRow> {
  const values = mappedColumns(ctx, input, memberships.map((m) => m.display_name));
  if (sameStoredState(row, values) && !bumpVersion) return row;
  // The SCIM `groups` of an existing user changed, so its ETag must change even if no mapped field did.
  const rows = await execute<UserRow>(
    ctx.sequelize,
    `UPDATE users SET organization_role = $2, public_metadata = $3, private_metadata = $4, email_address = $5,
       first_name = $6, last_name = $7, app_external_id = $8, mapping_errors = $9, updated_at = $10,
       version = version + CASE WHEN $11 THEN 1 ELSE 0 END
     WHERE id = $1 RETURNING *`,
    [row.id, values.organization_role, JSON.stringify(values.public_metadata), JSON.stringify(values.private_metadata),
      values.email_address, values.first_name, values.last_name, values.app_external_id, JSON.stringify(values.mapping_errors),
      ctx.now, bumpVersion],
    ctx.transaction,
  );
  return rows[0]!;
}
