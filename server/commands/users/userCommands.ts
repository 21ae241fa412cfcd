import type { Transaction } from "sequelize";
import { ConflictError, NotFoundError, PreconditionFailedError } from "../../errors.ts";
import type { MembershipRow, UserRow } from "../../models/rows.ts";
import { lockKeys } from "../../models/sql.ts";
import { findUser, findUsersByIdentity, softDeleteUser } from "../../models/userQueries.ts";
import { deleteUserMemberships, membershipsOfUsers } from "../../models/membershipQueries.ts";
import { applyPatch } from "../../scim/patch/index.ts";
import { parseUserInput, type UserInput } from "../../scim/userInput.ts";
import { ifMatchAllows } from "../../domain/etag.ts";
import type { CommandDeps, WriteContext, WriteScope } from "../../domain/writeContext.ts";
import type { Actor } from "../../changes/change.ts";
import { userChanged } from "../../changes/payloads.ts";
import { recordChange } from "../../changes/recorder.ts";
import { MappingRequestBudget } from "../../../mapping/index.ts";

/** ROLLCALL_MAPPING_REQUEST_BUDGET_MS's default, for callers without a config. */
const DEFAULT_MAPPING_REQUEST_BUDGET_MS = 250;
import { mappingForVersion } from "../userMapping.ts";
import { writeUser, type UserWriteResult } from "./userWriter.ts";
import { writeTransaction } from "../../db/transactions.ts";
import { createInOneStatement } from "./createInOneStatement.ts";

/** What every user command needs from the process. */
export type UserCommandDeps = CommandDeps;

/** RFC 7644 §3.14: a write with If-Match must name the current version (or `*`). */
export function assertIfMatch(ifMatch: string | undefined, version: number): void {
  if (!ifMatch) return;
  if (!ifMatchAllows(ifMatch, version)) throw new PreconditionFailedError();
}

/** A SCIM request's write context: the token's organization and connection, the actor, the time and the mapping the token lookup saw. */
export async function contextFor(deps: CommandDeps, transaction: Transaction, tenant: WriteScope, actor: Actor): Promise<WriteContext> {
  return {
    sequelize: deps.sequelize,
    transaction,
    metrics: deps.metrics,
    organizationId: tenant.organizationId,
    connectionId: tenant.enterpriseConnectionId,
    actor,
    now: deps.now(),
    mapping: await mappingForVersion(deps.sequelize, tenant.organizationId, tenant.mappingVersion, transaction),
    mappingBudget: new MappingRequestBudget(deps.mappingBudgetMs ?? DEFAULT_MAPPING_REQUEST_BUDGET_MS),
  };
}

/** Serialises writers of the same userName / externalId, then finds who already holds them. */
async function lockIdentity(ctx: WriteContext, input: UserInput): Promise<{ byName?: UserRow; byExternalId?: UserRow }> {
  await lockKeys(ctx.sequelize, ctx.transaction, [
    `user-name:${ctx.organizationId}:${input.userName.toLowerCase()}`,
    ...(input.externalId ? [`external-id:${ctx.connectionId}:${input.externalId}`] : []),
  ]);
  const holders = await findUsersByIdentity(ctx.sequelize, ctx.transaction, {
    organizationId: ctx.organizationId,
    connectionId: ctx.connectionId,
    userName: input.userName,
    externalId: input.externalId,
  });
  return {
    byName: holders.find((u) => u.user_name.toLowerCase() === input.userName.toLowerCase()),
    byExternalId: input.externalId
      ? holders.find((u) => u.enterprise_connection_id === ctx.connectionId && u.external_id === input.externalId)
      : undefined,
  };
}

/**
 * POST /Users. The externalId is the idempotency key: a retried create returns the same user.
 * A create for an inactive user's userName reactivates that user (same id); for an active one it
 * is a 409 uniqueness error.
 */
export async function createUser(deps: CommandDeps, tenant: WriteScope, actor: Actor, body: unknown): Promise<UserWriteResult> {
  const input = parseUserInput(body, deps.limits);
  const created = await createInOneStatement(deps, tenant, actor, input);
  if (created) return created;
  return writeTransaction(deps.sequelize, async (transaction) => {
    const ctx = await contextFor(deps, transaction, tenant, actor);
    const { byName, byExternalId } = await lockIdentity(ctx, input);
    if (byExternalId) {
      if (byName && byName.id !== byExternalId.id) {
        throw new ConflictError(`userName "${input.userName}" is already taken by another user.`, { field: "userName" });
      }
      return writeUser(ctx, byExternalId, input);
    }
    if (byName) {
      if (byName.active) throw new ConflictError(`A user with userName "${input.userName}" already exists.`, { field: "userName", id: byName.id });
      return writeUser(ctx, byName, input);
    }
    return writeUser(ctx, null, input);
  });
}

/** Loads a live user under lock for a write, or 404; checks If-Match. */
async function lockedUser(ctx: WriteContext, id: string, ifMatch: string | undefined): Promise<UserRow> {
  const row = await findUser(ctx.sequelize, ctx.organizationId, id, ctx.transaction, true);
  if (!row) throw new NotFoundError("User", id);
  assertIfMatch(ifMatch, row.version);
  return row;
}

/** Writes new content for an existing user after checking its new userName/externalId are free. */
async function overwrite(ctx: WriteContext, row: UserRow, input: UserInput): Promise<UserWriteResult> {
  const { byName, byExternalId } = await lockIdentity(ctx, input);
  if (byName && byName.id !== row.id) throw new ConflictError(`userName "${input.userName}" is already taken by another user.`, { field: "userName" });
  if (byExternalId && byExternalId.id !== row.id) throw new ConflictError(`externalId "${input.externalId}" belongs to another user.`, { field: "externalId" });
  return writeUser(ctx, row, input);
}

/** PUT /Users/:id: full replace (Okta's update style). id and meta in the body are ignored. */
export async function replaceUser(
  deps: CommandDeps,
  tenant: WriteScope,
  actor: Actor,
  id: string,
  body: unknown,
  ifMatch?: string,
): Promise<UserWriteResult> {
  const input = parseUserInput(body, deps.limits);
  return writeTransaction(deps.sequelize, async (transaction) => {
    const ctx = await contextFor(deps, transaction, tenant, actor);
    return overwrite(ctx, await lockedUser(ctx, id, ifMatch), input);
  });
}

/** The resource a PATCH applies to: the stored one plus the indexed fields and current teams. */
function patchTarget(row: UserRow, memberships: MembershipRow[]): Record<string, unknown> {
  return {
    ...row.scim_resource,
    userName: row.user_name,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    active: row.active,
    groups: memberships.map((m) => ({ value: m.team_id, display: m.display_name })),
  };
}

/** PATCH /Users/:id (RFC 7644 §3.5.2 with the IdP quirks applyPatch tolerates). */
export async function patchUser(
  deps: CommandDeps,
  tenant: WriteScope,
  actor: Actor,
  id: string,
  body: unknown,
  ifMatch?: string,
): Promise<UserWriteResult> {
  return writeTransaction(deps.sequelize, async (transaction) => {
    const ctx = await contextFor(deps, transaction, tenant, actor);
    const row = await lockedUser(ctx, id, ifMatch);
    const memberships = (await membershipsOfUsers(deps.sequelize, [id], transaction)).get(id) ?? [];
    const target = patchTarget(row, memberships);
    const patched = applyPatch("User", target, body, { id, limits: deps.limits });
    const input = parseUserInput(patched, deps.limits);
    // Only a PATCH that touched `groups` changes memberships through it.
    if (JSON.stringify(patched.groups) === JSON.stringify(target.groups)) input.groups = undefined;
    // Keep the groups attribute as the IdP last sent it (the reconciler compares against it).
    if (input.groups !== undefined) input.resource.groups = input.groups.map((g) => ({ value: g.value, display: g.display }));
    else if (row.scim_resource.groups !== undefined) input.resource.groups = row.scim_resource.groups;
    else delete input.resource.groups;
    return overwrite(ctx, row, input);
  });
}

/** DELETE /Users/:id: soft delete (404 afterwards, row kept for audit), memberships removed. */
export async function deleteUser(deps: CommandDeps, tenant: WriteScope, actor: Actor, id: string, ifMatch?: string): Promise<void> {
  await writeTransaction(deps.sequelize, async (transaction) => {
    const ctx = await contextFor(deps, transaction, tenant, actor);
    await lockedUser(ctx, id, ifMatch);
    const memberships = (await membershipsOfUsers(deps.sequelize, [id], transaction)).get(id) ?? [];
    const deleted = await softDeleteUser(deps.sequelize, transaction, id, ctx.now);
    const teamIds = await deleteUserMemberships(deps.sequelize, transaction, id);
    await recordChange(ctx, userChanged(ctx, "deleted", { row: deleted, memberships }, { removed_from_teams: teamIds }), ctx.now);
  });
}
