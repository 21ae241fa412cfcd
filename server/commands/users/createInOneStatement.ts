import type { Tenant } from "../../context.ts";
import { newId } from "../../ids.ts";
import type { UserRow } from "../../models/rows.ts";
import { execute } from "../../models/sql.ts";
import { BindList } from "../../db/bindList.ts";
import type { UserWrite } from "../../models/userQueries.ts";
import { presentAppUser } from "../../presenters/appViews.ts";
import type { UserInput } from "../../scim/userInput.ts";
import { outboxCtes } from "../../webhooks/outbox.ts";
import { auditCte, type Actor } from "../audit.ts";
import { mappingForVersion } from "../userMapping.ts";
import type { UserCommandDeps } from "./userCommands.ts";
import { countMappingFailures, mappedColumns, type UserWriteResult } from "./userWriter.ts";

/** The row the INSERT below writes, as RETURNING * would give it back (the event is built from it). */
function newUserRow(id: string, tenant: Tenant, values: UserWrite, now: Date): UserRow {
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
 * The INSERT writes nothing (and so neither do the event and audit CTEs, which depend on it) when
 * - the userName or the externalId is already held: ON CONFLICT DO NOTHING on the unique indexes
 *   (it waits for a concurrent writer of the same value to finish first), or
 * - a pending group membership names the new user's externalId, which must be claimed with it.
 * Then undefined is returned and the caller runs the general transactional path, which decides
 * between an idempotent retry, a reactivation and a 409. A create that sets `groups` (OneLogin)
 * also takes the general path.
 */
export async function createInOneStatement(deps: UserCommandDeps, tenant: Tenant, actor: Actor, input: UserInput): Promise<UserWriteResult | undefined> {
  if (input.groups !== undefined && input.groups.length > 0) return undefined;
  const now = deps.now();
  const mapping = await mappingForVersion(deps.sequelize, tenant.organizationId, tenant.mappingVersion);
  // Failures are counted only if this statement writes the user: a fallback evaluates the mapping again.
  const values = mappedColumns({ mapping, metrics: deps.metrics }, input, [], { countFailures: false });
  const id = newId("user");
  const row = newUserRow(id, tenant, values, now);

  const bind = new BindList();
  const org = bind.add(tenant.organizationId);
  const externalId = bind.add(values.external_id);
  const at = bind.add(now);
  const insert = `
  blocked AS (
    SELECT 1 FROM pending_memberships WHERE organization_id = ${org} AND member_value = ${externalId}::text LIMIT 1
  ), inserted AS (
    INSERT INTO users (id, organization_id, enterprise_connection_id, external_id, user_name, app_external_id, email_address,
      first_name, last_name, active, organization_role, public_metadata, private_metadata, scim_resource, mapping_version,
      mapping_errors, version, created_at, updated_at)
    SELECT ${bind.add(id)}, ${org}, ${bind.add(tenant.enterpriseConnectionId)}, ${externalId}::text, ${bind.add(values.user_name)}::text,
           ${bind.add(values.app_external_id)}::text, ${bind.add(values.email_address)}::text, ${bind.add(values.first_name)}::text,
           ${bind.add(values.last_name)}::text, ${bind.add(values.active)}::boolean, ${bind.add(values.organization_role)}::text,
           ${bind.add(JSON.stringify(values.public_metadata))}::jsonb, ${bind.add(JSON.stringify(values.private_metadata))}::jsonb,
           ${bind.add(JSON.stringify(values.scim_resource))}::jsonb, ${bind.add(values.mapping_version)}::int,
           ${bind.add(JSON.stringify(values.mapping_errors))}::jsonb, 1, ${at}::timestamptz, ${at}::timestamptz
     WHERE NOT EXISTS (SELECT 1 FROM blocked)
    ON CONFLICT DO NOTHING
    RETURNING *
  )`;
  const outbox = outboxCtes(
    {
      organizationId: tenant.organizationId,
      type: "scimUser.provisioned",
      subjectId: id,
      data: { user: presentAppUser(row, []), enterprise_connection_id: tenant.enterpriseConnectionId },
    },
    now,
    bind,
    "inserted",
  );
  const audit = auditCte(
    {
      organizationId: tenant.organizationId,
      actor,
      action: "user.created",
      subjectType: "user",
      subjectId: id,
      changes: { user_name: values.user_name, active: values.active, version: 1 },
    },
    now,
    bind,
    "inserted",
  );
  const rows = await execute<UserRow>(deps.sequelize, `WITH ${insert}, ${outbox.sql}, ${audit} SELECT * FROM inserted`, bind.values);
  const created = rows[0];
  if (created) countMappingFailures(deps.metrics, values.mapping_errors as Array<{ destination: string }>);
  return created ? { row: created, memberships: [], event: "scimUser.provisioned" } : undefined;
}
