import type { Transaction } from "sequelize";
import { ConflictError, NotFoundError } from "../../errors.ts";
import { newId } from "../../ids.ts";
import type { TeamRow } from "../../models/rows.ts";
import { lockKeys } from "../../models/sql.ts";
import { findTeam, findTeamByName, insertTeam, memberCountOf, softDeleteTeam, updateTeam } from "../../models/teamQueries.ts";
import { deleteMemberships, deletePendingMemberships } from "../../models/membershipQueries.ts";
import { parseGroupInput } from "../../scim/groupInput.ts";
import { planGroupPatch } from "../../scim/patch/index.ts";
import type { Actor } from "../../changes/change.ts";
import { teamChanged } from "../../changes/payloads.ts";
import { recordChange } from "../../changes/recorder.ts";
import type { CommandDeps, WriteContext, WriteScope } from "../../domain/writeContext.ts";
import { assertIfMatch, contextFor } from "../users/userCommands.ts";
import { remapUsersAfterMembershipChange } from "../users/userRemapper.ts";
import { addMembers, removeMembers, replaceMembers, type MemberChange, type PendingPolicy } from "./memberSync.ts";
import { writeTransaction } from "../../db/transactions.ts";

export type GroupCommandDeps = CommandDeps & PendingPolicy;

export type GroupWriteResult = { row: TeamRow };

/** Group names are unique per organization (case-insensitive); OneLogin matches teams by name. */
async function assertNameFree(ctx: WriteContext, name: string, selfId: string | null): Promise<void> {
  await lockKeys(ctx.sequelize, ctx.transaction, [`team-name:${ctx.organizationId}:${name.toLowerCase()}`]);
  const holder = await findTeamByName(ctx.sequelize, ctx.transaction, ctx.organizationId, name);
  if (holder && holder.id !== selfId) throw new ConflictError(`A group named "${name}" already exists.`, { field: "displayName", id: holder.id });
}

/** Records the group event and audit row, and re-maps users whose teams changed. */
async function finish(
  ctx: WriteContext,
  row: TeamRow & { member_count?: number },
  type: "scimGroup.created" | "scimGroup.updated" | "scimGroup.deleted",
  change: MemberChange,
  action: string,
): Promise<void> {
  await remapUsersAfterMembershipChange(ctx, [...change.added, ...change.removed]);
  const memberCount = row.member_count ?? (await memberCountOf(ctx.sequelize, row.id, ctx.transaction));
  await recordChange(ctx, teamChanged(ctx, type, { row, memberCount }, change, {
    action,
    changes: { display_name: row.display_name, added: change.added, removed: change.removed, pending: change.pending },
  }), ctx.now);
}

const noChange = (): MemberChange => ({ added: [], removed: [], pending: [] });

function merge(into: MemberChange, from: MemberChange): MemberChange {
  return { added: [...into.added, ...from.added], removed: [...into.removed, ...from.removed], pending: [...into.pending, ...from.pending] };
}

/** POST /Groups: a pushed group becomes a team, with its members (unknown ones kept pending). */
export async function createGroup(deps: GroupCommandDeps, tenant: WriteScope, actor: Actor, body: unknown): Promise<GroupWriteResult> {
  const input = parseGroupInput(body, deps.limits);
  return writeTransaction(deps.sequelize, async (transaction) => {
    const ctx = await contextFor(deps, transaction, tenant, actor);
    await assertNameFree(ctx, input.displayName, null);
    let row = await insertTeam(ctx.sequelize, transaction, { id: newId("team"), organizationId: ctx.organizationId, connectionId: ctx.connectionId }, {
      display_name: input.displayName,
      external_id: input.externalId,
      scim_resource: input.resource,
    }, ctx.now);
    let change = noChange();
    if (input.members && input.members.length > 0) {
      change = await addMembers(ctx, row.id, input.members, deps);
      row = await updateTeam(ctx.sequelize, transaction, row.id, { display_name: row.display_name, external_id: row.external_id, scim_resource: row.scim_resource, membersSynced: true }, ctx.now);
    }
    await finish(ctx, row, "scimGroup.created", change, "team.created");
    return { row };
  });
}

async function lockedTeam(ctx: WriteContext, id: string, ifMatch: string | undefined): Promise<TeamRow> {
  const row = await findTeam(ctx.sequelize, ctx.organizationId, id, ctx.transaction, true);
  if (!row) throw new NotFoundError("Group", id);
  assertIfMatch(ifMatch, row.version);
  return row;
}

/**
 * PUT /Groups/:id: replaces name and externalId; a `members` list replaces the membership
 * (a PUT without `members` leaves members as they are, so a rename-only PUT never empties a team).
 */
export async function replaceGroup(deps: GroupCommandDeps, tenant: WriteScope, actor: Actor, id: string, body: unknown, ifMatch?: string): Promise<GroupWriteResult> {
  const input = parseGroupInput(body, deps.limits);
  return writeTransaction(deps.sequelize, async (transaction) => {
    const ctx = await contextFor(deps, transaction, tenant, actor);
    const current = await lockedTeam(ctx, id, ifMatch);
    if (input.displayName.toLowerCase() !== current.display_name.toLowerCase()) await assertNameFree(ctx, input.displayName, id);
    const change = input.members === undefined ? noChange() : await replaceMembers(ctx, id, input.members, deps);
    const row = await updateTeam(ctx.sequelize, transaction, id, {
      display_name: input.displayName,
      external_id: input.externalId,
      scim_resource: input.resource,
      membersSynced: input.members !== undefined,
    }, ctx.now);
    await finish(ctx, row, "scimGroup.updated", change, "team.replaced");
    return { row };
  });
}

/** PATCH /Groups/:id: rename, externalId, and member add/remove/replace, applied in order. */
export async function patchGroup(deps: GroupCommandDeps, tenant: WriteScope, actor: Actor, id: string, body: unknown, ifMatch?: string): Promise<GroupWriteResult> {
  const plan = planGroupPatch(body, { id, limits: deps.limits });
  return writeTransaction(deps.sequelize, async (transaction) => {
    const ctx = await contextFor(deps, transaction, tenant, actor);
    const current = await lockedTeam(ctx, id, ifMatch);
    let displayName = current.display_name;
    let externalId = current.external_id;
    let change = noChange();
    let membersSynced = false;
    for (const step of plan) {
      switch (step.kind) {
        case "setDisplayName":
          if (step.value.toLowerCase() !== displayName.toLowerCase()) await assertNameFree(ctx, step.value, id);
          displayName = step.value;
          break;
        case "setExternalId":
          externalId = step.value;
          break;
        case "addMembers":
          change = merge(change, await addMembers(ctx, id, step.values, deps));
          break;
        case "removeMembers":
          change = merge(change, await removeMembers(ctx, id, step.values));
          break;
        case "removeAllMembers":
          change = merge(change, { added: [], removed: await deleteMemberships(ctx.sequelize, transaction, id, null), pending: [] });
          await deletePendingMemberships(ctx.sequelize, transaction, id, null);
          membersSynced = true;
          break;
        case "replaceMembers":
          change = merge(change, await replaceMembers(ctx, id, step.values, deps));
          membersSynced = true;
          break;
      }
    }
    const resource = { ...current.scim_resource, displayName, ...(externalId !== null ? { externalId } : {}) };
    if (externalId === null) delete resource.externalId;
    const row = await updateTeam(ctx.sequelize, transaction, id, { display_name: displayName, external_id: externalId, scim_resource: resource, membersSynced }, ctx.now);
    await finish(ctx, row, "scimGroup.updated", change, "team.patched");
    return { row };
  });
}

/** DELETE /Groups/:id: soft-deletes the team and removes its memberships. */
export async function deleteGroup(deps: GroupCommandDeps, tenant: WriteScope, actor: Actor, id: string, ifMatch?: string): Promise<void> {
  await writeTransaction(deps.sequelize, async (transaction) => {
    const ctx = await contextFor(deps, transaction, tenant, actor);
    await lockedTeam(ctx, id, ifMatch);
    const removed = await deleteMemberships(ctx.sequelize, transaction, id, null);
    await deletePendingMemberships(ctx.sequelize, transaction, id, null);
    const row = await softDeleteTeam(ctx.sequelize, transaction, id, ctx.now);
    await finish(ctx, row, "scimGroup.deleted", { added: [], removed, pending: [] }, "team.deleted");
  });
}
