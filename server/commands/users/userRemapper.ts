import type { MembershipRow, UserRow } from "../../models/rows.ts";
import { USER_MEMBERSHIPS_COLUMN } from "../../models/membershipQueries.ts";
import { execute, select } from "../../models/sql.ts";
import { BindList } from "../../db/bindList.ts";
import { presentAppUser } from "../../presenters/appViews.ts";
import { outboxCtes } from "../../webhooks/outbox.ts";
import { mapUser } from "../userMapping.ts";
import { stableJson } from "../../stableJson.ts";
import { countMappingFailures, type UserWriteContext } from "./userWriter.ts";

/**
 * After team memberships changed, re-evaluates the mapping of each affected user in the same
 * transaction. Every affected user's version moves (their SCIM `groups` changed); users whose
 * mapped fields changed are rewritten and announced with scimUser.updated.
 * Returns the ids of users whose mapped fields changed.
 */
export async function remapUsersAfterMembershipChange(ctx: UserWriteContext, userIds: string[]): Promise<string[]> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return [];
  const { sequelize, transaction, now } = ctx;
  // The version bump returns each user's memberships as this transaction now sees them: one round trip.
  const users = await select<UserRow & { memberships: MembershipRow[] }>(
    sequelize,
    `UPDATE users u SET version = u.version + 1, updated_at = $3
      WHERE u.organization_id = $1 AND u.id = ANY($2::text[]) AND u.deleted_at IS NULL
      RETURNING u.*${USER_MEMBERSHIPS_COLUMN}`,
    [ctx.tenant.organizationId, ids, now],
    transaction,
  );
  const changed: string[] = [];
  for (const { memberships: teams, ...user } of users) {
    // Each evaluation is synchronous: between users the event loop gets its turn (health probes,
    // other tenants' requests), so re-mapping 10,000 members never holds it for more than one user.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const { fields, errors } = mapUser(ctx.mapping, user.scim_resource, teams.map((m) => m.display_name), ctx.mappingBudget);
    const next = {
      organization_role: fields.organization_role,
      public_metadata: fields.public_metadata,
      private_metadata: fields.private_metadata,
      first_name: fields.first_name,
      last_name: fields.last_name,
      app_external_id: fields.external_id,
      mapping_errors: errors,
    };
    const before = {
      organization_role: user.organization_role,
      public_metadata: user.public_metadata,
      private_metadata: user.private_metadata,
      first_name: user.first_name,
      last_name: user.last_name,
      app_external_id: user.app_external_id,
      mapping_errors: user.mapping_errors,
    };
    // By value: the stored jsonb columns come back in PostgreSQL's key order.
    if (stableJson(next) === stableJson(before)) continue;
    countMappingFailures(ctx.metrics, errors);
    // The row as the UPDATE leaves it (it sets only these columns), so the row and its
    // scimUser.updated event go out in one statement.
    const updated: UserRow = { ...user, ...next, mapping_version: ctx.mapping.version };
    const bind = new BindList();
    const outbox = outboxCtes({
      organizationId: ctx.tenant.organizationId,
      type: "scimUser.updated",
      subjectId: user.id,
      data: { user: presentAppUser(updated, teams), enterprise_connection_id: user.enterprise_connection_id },
    }, now, bind);
    await execute(
      sequelize,
      `WITH remapped AS (
         UPDATE users SET organization_role = ${bind.add(next.organization_role)}, public_metadata = ${bind.add(JSON.stringify(next.public_metadata))}::jsonb,
           private_metadata = ${bind.add(JSON.stringify(next.private_metadata))}::jsonb, first_name = ${bind.add(next.first_name)}::text,
           last_name = ${bind.add(next.last_name)}::text, app_external_id = ${bind.add(next.app_external_id)}::text,
           mapping_errors = ${bind.add(JSON.stringify(next.mapping_errors))}::jsonb, mapping_version = ${bind.add(ctx.mapping.version)}::int
         WHERE id = ${bind.add(user.id)} RETURNING 1
       ), ${outbox.sql}
       SELECT 1`,
      bind.values,
      transaction,
    );
    changed.push(user.id);
  }
  return changed;
}
