import { newId } from "../../ids.ts";
import type { UserRow } from "../../models/rows.ts";
import { insertUserUnlessHeld } from "../../models/userQueries.ts";
import type { UserInput } from "../../scim/userInput.ts";
import { userChanged } from "../../changes/payloads.ts";
import type { Actor } from "../../changes/change.ts";
import type { CommandDeps, WriteScope } from "../../domain/writeContext.ts";
import type { UserWrite } from "../../domain/userColumns.ts";
import { mappingForVersion } from "../userMapping.ts";
import { countMappingFailures, userWriteOf, type UserWriteResult } from "./userWriter.ts";

/** The row the INSERT writes, as RETURNING * would give it back (the event is built from it). */
function newUserRow(id: string, tenant: WriteScope, values: UserWrite, now: Date): UserRow {
  return {
    id,
    organization_id: tenant.organizationId,
    enterprise_connection_id: tenant.enterpriseConnectionId,
    ...values,
    deleted_at: null,
    version: 1,
    created_at: now,
    updated_at: now,
  };
}

/**
 * The common case of POST /Users — a user nobody holds yet — as one autocommitted statement: the
 * user row, its `scimUser.provisioned` event with one delivery per subscribed endpoint, and the
 * audit row. One round trip and one commit instead of a transaction of eight.
 *
 * Nothing is written (see insertUserUnlessHeld) when the userName or the externalId is already
 * held, or a pending group membership names the new user's externalId. Then undefined is returned
 * and the caller runs the general transactional path, which decides between an idempotent retry, a
 * reactivation and a 409. A create that sets `groups` (OneLogin) also takes the general path.
 */
export async function createInOneStatement(deps: CommandDeps, tenant: WriteScope, actor: Actor, input: UserInput): Promise<UserWriteResult | undefined> {
  if (input.groups !== undefined && input.groups.length > 0) return undefined;
  const now = deps.now();
  const mapping = await mappingForVersion(deps.sequelize, tenant.organizationId, tenant.mappingVersion);
  // Failures are counted only if this statement writes the user: a fallback evaluates the mapping again.
  const values = userWriteOf({ mapping, metrics: deps.metrics }, input, [], { countFailures: false });
  const id = newId("user");
  const change = userChanged({ organizationId: tenant.organizationId, actor }, "created", { row: newUserRow(id, tenant, values, now), memberships: [] });
  const created = await insertUserUnlessHeld(deps.sequelize, {
    id, organizationId: tenant.organizationId, connectionId: tenant.enterpriseConnectionId, values, now, change,
  });
  if (!created) return undefined;
  countMappingFailures(deps.metrics, values.mapping_errors);
  return { row: created, memberships: [], event: "scimUser.provisioned" };
}
