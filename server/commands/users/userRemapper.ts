import type { UserRow } from "../../models/rows.ts";
import { membershipsOfUsers } from "../../models/membershipQueries.ts";
import { execute, select } from "../../models/sql.ts";
import { presentAppUser } from "../../presenters/appViews.ts";
import { recordEvent } from "../../webhooks/outbox.ts";
import { mapUser } from "../userMapping.ts";
import { stableJson } from "../../stableJson.ts";
import type { UserWriteContext } from "./userWriter.ts";

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
  const users = await select<UserRow>(
    sequelize,
    `UPDATE users SET version = version + 1, updated_at = $3 WHERE organization_id = $1 AND id = ANY($2::text[]) AND deleted_at IS NULL RETURNING *`,
    [ctx.tenant.organizationId, ids, now],
    transaction,
  );
  const memberships = await membershipsOfUsers(sequelize, users.map((u) => u.id), transaction);
  const changed: string[] = [];
  for (const user of users) {
    const teams = memberships.get(user.id) ?? [];
    const { fields, errors } = mapUser(ctx.mapping, user.scim_resource, teams.map((m) => m.display_name));
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
    for (const error of errors) ctx.metrics.mappingFailures.inc({ destination: error.destination.split(".")[0] ?? "unknown" });
    const [updated] = await execute<UserRow>(
      sequelize,
      `UPDATE users SET organization_role = $2, public_metadata = $3, private_metadata = $4, first_name = $5, last_name = $6,
         app_external_id = $7, mapping_errors = $8, mapping_version = $9 WHERE id = $1 RETURNING *`,
      [user.id, next.organization_role, JSON.stringify(next.public_metadata), JSON.stringify(next.private_metadata), next.first_name,
        next.last_name, next.app_external_id, JSON.stringify(next.mapping_errors), ctx.mapping.version],
      transaction,
    );
    changed.push(user.id);
    await recordEvent(sequelize, transaction, {
      organizationId: ctx.tenant.organizationId,
      type: "scimUser.updated",
      subjectId: user.id,
      data: { user: presentAppUser(updated!, teams), enterprise_connection_id: user.enterprise_connection_id },
    }, now);
  }
  return changed;
}
