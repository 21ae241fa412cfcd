import type { Sequelize } from "sequelize";
import type { WriteScope } from "../../server/domain/writeContext.ts";
import type { Metrics } from "../../server/metrics.ts";
import type { Actor } from "../../server/changes/change.ts";
import type { PendingPolicy } from "../../server/commands/groups/memberSync.ts";
import { loadCurrentMapping } from "../../server/commands/userMapping.ts";
import { createUser, patchUser } from "../../server/commands/users/userCommands.ts";
import { deleteGroup, patchGroup } from "../../server/commands/groups/groupCommands.ts";

/*
 * The ONE place where directory repairs call the user and team write commands. Repairs go through
 * exactly the commands SCIM requests use, so the mapping, the outbox events (a consumer sees
 * scimUser.deprovisioned for a suspended user as if the IdP had sent it), the audit rows and the
 * per-row locking and ordering are the same; only the actor differs (`reconciler`, with the run id).
 * When the user/team writers change shape, this adapter is what to re-point.
 */

/** What a directory repair writes with. */
export type DirectoryWriter = {
  provisionUser(profile: ProvisionProfile): Promise<string>;
  setUserActive(userId: string, active: boolean): Promise<void>;
  updateUserAttributes(userId: string, changes: Record<string, unknown>): Promise<void>;
  addTeamMembers(teamId: string, userIds: string[]): Promise<void>;
  removeTeamMembers(teamId: string, userIds: string[]): Promise<void>;
  deleteTeam(teamId: string): Promise<void>;
};

/** A user the IdP assigns and Rollcall never received (e.g. assigned before SCIM was enabled). */
export type ProvisionProfile = {
  userName: string;
  externalId: string | null;
  email: string | null;
  givenName: string | null;
  familyName: string | null;
};

const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** The SCIM body an IdP would have sent for this user. */
export function scimUserOf(profile: ProvisionProfile): Record<string, unknown> {
  const name = { ...(profile.givenName ? { givenName: profile.givenName } : {}), ...(profile.familyName ? { familyName: profile.familyName } : {}) };
  return {
    schemas: [USER_SCHEMA],
    userName: profile.userName,
    ...(profile.externalId ? { externalId: profile.externalId } : {}),
    ...(Object.keys(name).length > 0 ? { name } : {}),
    ...(profile.email ? { emails: [{ value: profile.email, type: "work", primary: true }] } : {}),
    active: true,
  };
}

/** SCIM PATCH operations for drifted attributes (keys as the diff names them). */
export function attributePatch(changes: Record<string, unknown>): Record<string, unknown> {
  const ops: Array<Record<string, unknown>> = [];
  for (const [attribute, value] of Object.entries(changes)) {
    if (attribute === "emails[primary].value") ops.push({ op: "replace", path: "emails", value: [{ value, type: "work", primary: true }] });
    else ops.push({ op: "replace", path: attribute, value });
  }
  return { schemas: [PATCH_SCHEMA], Operations: ops };
}

/** Builds the writer for one run: the directory's connection as the write scope (no token or rate limit to invent), the reconciler as the actor. */
export async function directoryWriter(deps: {
  sequelize: Sequelize;
  metrics: Metrics;
  now: () => Date;
  pending: PendingPolicy;
  organizationId: string;
  connectionId: string;
  runId: string;
}): Promise<DirectoryWriter> {
  const mapping = await loadCurrentMapping(deps.sequelize, deps.organizationId);
  const scope: WriteScope = { organizationId: deps.organizationId, enterpriseConnectionId: deps.connectionId, mappingVersion: mapping.version };
  const actor: Actor = { type: "reconciler", id: deps.runId };
  const commandDeps = { sequelize: deps.sequelize, metrics: deps.metrics, now: deps.now, ...deps.pending };
  const patch = (ops: Array<Record<string, unknown>>) => ({ schemas: [PATCH_SCHEMA], Operations: ops });
  return {
    async provisionUser(profile) {
      return (await createUser(commandDeps, scope, actor, scimUserOf(profile))).row.id;
    },
    async setUserActive(userId, active) {
      await patchUser(commandDeps, scope, actor, userId, patch([{ op: "replace", path: "active", value: active }]));
    },
    async updateUserAttributes(userId, changes) {
      await patchUser(commandDeps, scope, actor, userId, attributePatch(changes));
    },
    async addTeamMembers(teamId, userIds) {
      await patchGroup(commandDeps, scope, actor, teamId, patch([{ op: "add", path: "members", value: userIds.map((value) => ({ value })) }]));
    },
    async removeTeamMembers(teamId, userIds) {
      await patchGroup(commandDeps, scope, actor, teamId, patch(userIds.map((id) => ({ op: "remove", path: `members[value eq "${id}"]` }))));
    },
    async deleteTeam(teamId) {
      await deleteGroup(commandDeps, scope, actor, teamId);
    },
  };
}
