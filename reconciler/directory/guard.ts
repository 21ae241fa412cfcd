import type { Finding } from "../types.ts";

/** Why a repair was refused: what it would have done, against what the guard allows. */
export type BlastRadius = {
  deactivations: number;
  active_users: number;
  max_deactivation_ratio: number;
  teams_emptied: string[];
};

/**
 * The blast-radius guard: an IdP answering an empty list by mistake must never deprovision a
 * company. A repair that would deactivate more than `maxDeactivationRatio` of the organization's
 * active users, or leave a team with members empty, is refused (unless forced). Pure: it looks at
 * the planned fixes only.
 */
export function checkBlastRadius(planned: Finding[], limits: { activeUsers: number; maxDeactivationRatio: number }): BlastRadius | null {
  const deactivations = planned.filter((f) => f.action === "deactivate_user").length;
  const emptied = new Set<string>();
  for (const f of planned) {
    if (f.action === "delete_team" && f.subject.type === "team" && Number(f.stored.members ?? 0) > 0) emptied.add(f.subject.id);
  }
  const removals = new Map<string, number>();
  const additions = new Set<string>();
  for (const f of planned) {
    if (f.subject.type !== "membership") continue;
    if (f.action === "remove_team_members") removals.set(f.subject.team_id, (removals.get(f.subject.team_id) ?? 0) + 1);
    if (f.action === "add_team_members") additions.add(f.subject.team_id);
  }
  const membersOf = new Map<string, number>();
  for (const f of planned) {
    if (f.action === "remove_team_members" && f.subject.type === "membership" && typeof f.stored.team_members === "number") membersOf.set(f.subject.team_id, f.stored.team_members);
  }
  for (const [teamId, removed] of removals) {
    if (!additions.has(teamId) && membersOf.get(teamId) === removed) emptied.add(teamId);
  }
  const tooMany = deactivations > 0 && deactivations > limits.maxDeactivationRatio * limits.activeUsers;
  if (!tooMany && emptied.size === 0) return null;
  return { deactivations, active_users: limits.activeUsers, max_deactivation_ratio: limits.maxDeactivationRatio, teams_emptied: [...emptied].sort() };
}

/** Thrown when the guard refuses a repair: nothing was changed. */
export class BlastRadiusError extends Error {
  constructor(readonly radius: BlastRadius) {
    super(
      `blast_radius_exceeded: the repair would deactivate ${radius.deactivations} of ${radius.active_users} active users ` +
        `(limit ${Math.round(radius.max_deactivation_ratio * 100)}%)${radius.teams_emptied.length > 0 ? ` and empty ${radius.teams_emptied.length} team(s)` : ""}; ` +
        `nothing was changed. Check the IdP, then repeat with force: true if this is intended.`,
    );
    this.name = "BlastRadiusError";
  }
}
