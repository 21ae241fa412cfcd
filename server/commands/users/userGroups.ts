import type { GroupRef } from "../../scim/userInput.ts";
import { findTeamsByIdOrName } from "../../models/teamQueries.ts";
import { confirmMembershipsOfUser, deleteMembershipsOfUser, upsertMemberships } from "../../models/membershipQueries.ts";
import type { MembershipRow } from "../../models/rows.ts";
import type { WriteContext } from "../../domain/writeContext.ts";

/**
 * Applies a user's own `groups` attribute (OneLogin sends role names there): the user ends up in
 * exactly the named teams among the memberships that this attribute created. Memberships that
 * came from Group pushes are left alone, so Okta's `groups: []` on every user PUT never empties a
 * pushed group. Names that match no team are ignored (the team must be pushed first).
 * Returns whether any membership changed.
 */
export async function applyUserGroupsAttribute(
  ctx: WriteContext,
  userId: string,
  groups: GroupRef[],
  current: MembershipRow[],
): Promise<boolean> {
  const { sequelize, transaction, organizationId, now } = ctx;
  const wanted = groups.flatMap((g) => [g.value, g.display]).filter((v): v is string => v !== null);
  const teams = await findTeamsByIdOrName(sequelize, transaction, organizationId, wanted);
  const byKey = new Map<string, string>();
  for (const team of teams) {
    byKey.set(team.id, team.id);
    byKey.set(team.display_name.toLowerCase(), team.id);
  }
  const desired = new Set<string>();
  for (const group of groups) {
    const teamId = (group.value && (byKey.get(group.value) ?? byKey.get(group.value.toLowerCase()))) ??
      (group.display ? byKey.get(group.display.toLowerCase()) : undefined);
    if (teamId) desired.add(teamId);
  }
  const currentTeams = new Set(current.map((m) => m.team_id));
  let changed = false;
  for (const teamId of desired) {
    if (currentTeams.has(teamId)) continue;
    const added = await upsertMemberships(sequelize, transaction, { organizationId, teamId, userIds: [userId], source: "user_groups" }, now);
    changed ||= added.length > 0;
  }
  const dropped = current.filter((m) => m.source === "user_groups" && !desired.has(m.team_id)).map((m) => m.team_id);
  if (dropped.length > 0) {
    await deleteMembershipsOfUser(sequelize, transaction, userId, dropped);
    changed = true;
  }
  // Teams still named by the IdP are re-confirmed, so the reconciler can tell them from stale ones.
  const kept = [...desired].filter((t) => currentTeams.has(t));
  if (kept.length > 0) {
    await confirmMembershipsOfUser(sequelize, transaction, userId, kept, now);
  }
  return changed;
}
