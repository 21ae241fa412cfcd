import type { UserRow } from "../../models/rows.ts";
import { bumpUserVersions, updateMappedColumns } from "../../models/userQueries.ts";
import { userChanged } from "../../changes/payloads.ts";
import { differingColumns, expectedMappedColumns, isUsableEmail, MAPPED_COLUMNS, storedMappedColumns } from "../../domain/userColumns.ts";
import type { WriteContext } from "../../domain/writeContext.ts";
import { countMappingFailures } from "./userWriter.ts";

/**
 * After team memberships changed, re-evaluates the mapping of each affected user in the same
 * transaction. Every affected user's version moves (their SCIM `groups` changed); users whose
 * mapped fields changed are rewritten and announced with scimUser.updated.
 * Returns the ids of users whose mapped fields changed.
 */
export async function remapUsersAfterMembershipChange(ctx: WriteContext, userIds: string[]): Promise<string[]> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return [];
  const { sequelize, transaction, now } = ctx;
  const users = await bumpUserVersions(sequelize, transaction, ctx.organizationId, ids, now);
  const changed: string[] = [];
  for (const { memberships: teams, ...user } of users) {
    // Each evaluation is synchronous: between users the event loop gets its turn (health probes,
    // other tenants' requests), so re-mapping 10,000 members never holds it for more than one user.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const stored = storedMappedColumns(user);
    const next = expectedMappedColumns(ctx.mapping, user.scim_resource, teams.map((m) => m.display_name), ctx.mappingBudget);
    // An email the SCIM writer would refuse is never written here either (the reconciler reports it).
    if (!isUsableEmail(next.email_address)) next.email_address = stored.email_address;
    // A version that is all that differs is stamped by the reconciler, without an event per user.
    if (differingColumns(stored, next, MAPPED_COLUMNS).every((c) => c === "mapping_version")) continue;
    countMappingFailures(ctx.metrics, next.mapping_errors);
    // The row as the UPDATE leaves it, so the row and its scimUser.updated event go out in one statement.
    const updated: UserRow = { ...user, ...next };
    await updateMappedColumns(sequelize, transaction, {
      id: user.id, values: next, now, bumpVersion: false,
      change: userChanged(ctx, "remapped", { row: updated, memberships: teams }, null),
    });
    changed.push(user.id);
  }
  return changed;
}
