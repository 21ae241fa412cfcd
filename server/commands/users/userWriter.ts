import { ValidationError } from "../../errors.ts";
import type { Metrics } from "../../metrics.ts";
import { newId } from "../../ids.ts";
import type { MembershipRow, UserRow } from "../../models/rows.ts";
import { insertUser, updateMappedColumns, updateUser } from "../../models/userQueries.ts";
import { claimPendingMemberships, membershipsOfUsers, upsertMemberships } from "../../models/membershipQueries.ts";
import type { UserInput } from "../../scim/userInput.ts";
import type { WebhookEventType } from "../../webhooks/eventPayload.ts";
import { userChanged } from "../../changes/payloads.ts";
import { recordChange } from "../../changes/recorder.ts";
import { expectedMappedColumns, isUsableEmail, MAPPED_COLUMNS, differingColumns, sameUserWrite, type CurrentMapping, type UserWrite } from "../../domain/userColumns.ts";
import type { WriteContext } from "../../domain/writeContext.ts";
import type { MappingRequestBudget } from "../../../mapping/index.ts";
import { applyUserGroupsAttribute } from "./userGroups.ts";
import { deactivateUser, reactivateUser, transitionOf } from "./userLifecycle.ts";

export type UserWriteResult = { row: UserRow; memberships: MembershipRow[]; event: WebhookEventType | null };

/**
 * Turns a SCIM input plus the user's teams into the stored columns, via the org's mapping.
 * `countFailures: false` leaves the mapping-failure metric to the caller (see createInOneStatement).
 */
export function userWriteOf(
  ctx: { mapping: CurrentMapping; metrics: Metrics; mappingBudget?: MappingRequestBudget | undefined },
  input: UserInput,
  teamNames: string[],
  options: { countFailures: boolean } = { countFailures: true },
): UserWrite {
  const mapped = expectedMappedColumns(ctx.mapping, input.resource, teamNames, ctx.mappingBudget);
  if (options.countFailures) countMappingFailures(ctx.metrics, mapped.mapping_errors);
  if (!isUsableEmail(mapped.email_address)) {
    throw new ValidationError(
      "An email is required: send emails[] with a value (a primary one wins), or a userName that is an email address.",
      { field: "emails" },
    );
  }
  return { ...mapped, external_id: input.externalId, user_name: input.userName, active: input.active, scim_resource: input.resource };
}

/** One increment of rollcall_mapping_evaluation_failures_total per failed mapping entry. */
export function countMappingFailures(metrics: Metrics, errors: unknown[]): void {
  for (const error of errors as Array<{ destination: string }>) metrics.mappingFailures.inc({ destination: error.destination.split(".")[0] ?? "unknown" });
}

/**
 * Creates (existing = null) or overwrites a user from a validated SCIM input, in the caller's
 * transaction: memberships (pending ones claimed, OneLogin `groups`, suspension on deactivate),
 * the mapping, the outbox event and the audit row all commit together.
 */
export async function writeUser(ctx: WriteContext, existing: UserRow | null, input: UserInput): Promise<UserWriteResult> {
  const { sequelize, transaction, organizationId, now } = ctx;
  const userId = existing?.id ?? newId("user");
  // The user's memberships as far as this write knows them; null once a change makes a reload necessary.
  let memberships: MembershipRow[] | null;
  let row: UserRow;
  if (existing) {
    memberships = (await membershipsOfUsers(sequelize, [userId], transaction)).get(userId) ?? [];
    const values = userWriteOf(ctx, input, memberships.map((m) => m.display_name));
    row = sameUserWrite(existing, values) ? existing : await updateUser(sequelize, transaction, userId, values, now);
  } else {
    memberships = [];
    const values = userWriteOf(ctx, input, []);
    row = await insertUser(sequelize, transaction, { id: userId, organizationId, connectionId: ctx.connectionId }, values, now);
  }

  let teamsChanged = false;
  // A pending membership names a user by id or externalId; a brand-new id cannot have been named yet.
  const claimable = existing ? existing.external_id !== row.external_id : row.external_id !== null;
  if (claimable) {
    const claimed = await claimPendingMemberships(sequelize, transaction, { organizationId, userId, externalId: row.external_id }, now);
    for (const teamId of claimed) {
      const added = await upsertMemberships(sequelize, transaction, { organizationId, teamId, userIds: [userId], source: "group" }, now);
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
  const transition = transitionOf(existing, row, teamsChanged);
  if (transition === "deactivated" || transition === "reactivated") {
    await (transition === "deactivated" ? deactivateUser : reactivateUser)(ctx, userId);
    memberships = null;
  }

  memberships ??= (await membershipsOfUsers(sequelize, [userId], transaction)).get(userId) ?? [];
  if (teamsChanged) row = await remapAfterTeamChange(ctx, row, input, memberships, existing !== null && row.version === existing.version);

  const done = transitionOf(existing, row, teamsChanged);
  const change = done ? userChanged(ctx, done, { row, memberships }) : null;
  if (change) await recordChange(ctx, change, now);
  return { row, memberships, event: change?.event?.type ?? null };
}

/** Re-evaluates the mapping once the user's teams changed in this same write (e.g. groups → role). */
async function remapAfterTeamChange(
  ctx: WriteContext,
  row: UserRow,
  input: UserInput,
  memberships: MembershipRow[],
  bumpVersion: boolean,
): Promise<UserRow> {
  const values = userWriteOf(ctx, input, memberships.map((m) => m.display_name));
  if (differingColumns(row, values, MAPPED_COLUMNS).length === 0 && !bumpVersion) return row;
  // The SCIM `groups` of an existing user changed, so its ETag must change even if no mapped field did.
  return updateMappedColumns(ctx.sequelize, ctx.transaction, { id: row.id, values, now: ctx.now, bumpVersion });
}
