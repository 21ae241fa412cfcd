import { ValidationError } from "../../errors.ts";
import {
  addPendingMemberships,
  countPendingMemberships,
  deleteMemberships,
  deletePendingMemberships,
  memberIdsOfTeam,
  resolveMemberValues,
  upsertMemberships,
} from "../../models/membershipQueries.ts";
import type { WriteContext } from "../../domain/writeContext.ts";

/** What a member operation did: user ids added and removed, and values kept pending. */
export type MemberChange = { added: string[]; removed: string[]; pending: string[] };

/** Splits member values into known user ids and values that name no user (yet). */
async function resolve(ctx: WriteContext, values: string[]): Promise<{ userIds: string[]; unknown: string[] }> {
  const resolved = await resolveMemberValues(ctx.sequelize, ctx.transaction, ctx.organizationId, values);
  const userIds = new Set<string>();
  const unknown: string[] = [];
  for (const value of values) {
    const userId = resolved.get(value);
    if (userId) userIds.add(userId);
    else unknown.push(value);
  }
  return { userIds: [...userIds], unknown };
}

/** How long a member value that names no user waits for it, and how many may wait. */
export type PendingPolicy = {
  readonly pendingTtlMs: number;
  readonly maxPendingPerGroup: number;
  readonly maxPendingPerOrganization: number;
};

function tooManyPending(scope: string, total: number, limit: number, variable: string): ValidationError {
  return new ValidationError(
    `The ${scope} would hold ${total} pending members (member values that name no user yet); at most ${limit} are kept ` +
      `(${variable}). Provision those users first, or send fewer unknown members.`,
    { field: "members", limit, pending: total },
  );
}

/**
 * Records member values that name no user yet, until the TTL runs out. A group naming 20,000
 * unknown values would otherwise write 20,000 rows that may never be claimed, so the unexpired
 * pending members of a group and of an organization are capped, and checked before writing.
 * Two concurrent writes can each pass the check, so the cap can be overshot by one request's worth.
 */
async function keepPending(ctx: WriteContext, teamId: string, values: string[], policy: PendingPolicy): Promise<void> {
  if (values.length === 0) return;
  const organizationId = ctx.organizationId;
  if (values.length > policy.maxPendingPerGroup) {
    throw tooManyPending("group", values.length, policy.maxPendingPerGroup, "ROLLCALL_PENDING_MEMBERS_PER_GROUP");
  }
  const existing = await countPendingMemberships(ctx.sequelize, ctx.transaction, { organizationId, teamId, values }, ctx.now);
  if (existing.team + values.length > policy.maxPendingPerGroup) {
    throw tooManyPending("group", existing.team + values.length, policy.maxPendingPerGroup, "ROLLCALL_PENDING_MEMBERS_PER_GROUP");
  }
  if (existing.organization + values.length > policy.maxPendingPerOrganization) {
    throw tooManyPending("organization", existing.organization + values.length, policy.maxPendingPerOrganization, "ROLLCALL_PENDING_MEMBERS_PER_ORGANIZATION");
  }
  await addPendingMemberships(ctx.sequelize, ctx.transaction, {
    organizationId,
    teamId,
    values,
    expiresAt: new Date(ctx.now.getTime() + policy.pendingTtlMs),
  }, ctx.now);
}

/**
 * Adds members; a value that names no user is not an error (IdP traffic arrives out of order):
 * it is kept as a pending membership and applied when that user arrives.
 */
export async function addMembers(ctx: WriteContext, teamId: string, values: string[], pending: PendingPolicy): Promise<MemberChange> {
  const { userIds, unknown } = await resolve(ctx, values);
  const added = await upsertMemberships(ctx.sequelize, ctx.transaction, { organizationId: ctx.organizationId, teamId, userIds, source: "group" }, ctx.now);
  await keepPending(ctx, teamId, unknown, pending);
  return { added, removed: [], pending: unknown };
}

/** Removes the named members (and any pending membership under those values). */
export async function removeMembers(ctx: WriteContext, teamId: string, values: string[]): Promise<MemberChange> {
  const { userIds } = await resolve(ctx, values);
  const removed = await deleteMemberships(ctx.sequelize, ctx.transaction, teamId, userIds);
  await deletePendingMemberships(ctx.sequelize, ctx.transaction, teamId, values);
  return { added: [], removed, pending: [] };
}

/** Makes the membership exactly the given list (the IdP's full member list for this group). */
export async function replaceMembers(ctx: WriteContext, teamId: string, values: string[], pending: PendingPolicy): Promise<MemberChange> {
  const { userIds, unknown } = await resolve(ctx, values);
  const keep = new Set(userIds);
  const drop = (await memberIdsOfTeam(ctx.sequelize, ctx.transaction, teamId)).filter((id) => !keep.has(id));
  const removed = drop.length > 0 ? await deleteMemberships(ctx.sequelize, ctx.transaction, teamId, drop) : [];
  const added = await upsertMemberships(ctx.sequelize, ctx.transaction, { organizationId: ctx.organizationId, teamId, userIds, source: "group" }, ctx.now);
  await deletePendingMemberships(ctx.sequelize, ctx.transaction, teamId, null);
  await keepPending(ctx, teamId, unknown, pending);
  return { added, removed, pending: unknown };
}
