import type { Sequelize, Transaction } from "sequelize";
import type { Clock } from "../server/context.ts";
import type { Metrics } from "../server/metrics.ts";
import { writeAudit, type Actor } from "../server/commands/audit.ts";
import { recordChange } from "../server/commands/recordChange.ts";
import { loadCurrentMapping, mapUser, type CurrentMapping } from "../server/commands/userMapping.ts";
import { remapUsersAfterMembershipChange } from "../server/commands/users/userRemapper.ts";
import type { MembershipRow, TeamRow, UserRow } from "../server/models/rows.ts";
import { execute, select } from "../server/models/sql.ts";
import { presentAppTeam, presentAppUser } from "../server/presenters/appViews.ts";
import type { RunExecutor } from "./orgLock.ts";
import { driftOf, expectedColumns, groupsAttributeKeys, membershipVerdict, namedTeamIds } from "./planner.ts";
import { lockUsers, membershipsOf, teamKeys } from "./scan.ts";
import type { ExpectedMapping, MembershipSnapshot, RepairOutcome } from "./types.ts";

/*
 * The fixes of a repair run. Each runs in its own transaction (exec.write), locks what it changes,
 * re-checks the problem on the locked rows with the planner (an IdP write may have fixed it since
 * the scan), and records its outbox event and audit row in that same transaction, exactly like an
 * IdP change. Rows are locked FOR NO KEY UPDATE: it serialises with SCIM writers (FOR UPDATE) but
 * not with the foreign-key checks of their membership inserts, which would otherwise deadlock.
 */

/** What every fix needs. */
export type RepairContext = {
  sequelize: Sequelize;
  exec: RunExecutor;
  organizationId: string;
  runId: string;
  /** The run's reference time: what was expired at the scan is what a fix may delete. */
  runStartedAt: Date;
  clock: Clock;
  metrics: Metrics;
};

/** The mapping as the planner sees it. */
export function expectedMapping(current: CurrentMapping): ExpectedMapping {
  return { version: current.version, evaluate: (resource, teamNames) => mapUser(current, resource, teamNames) };
}

const actorOf = (rc: RepairContext): Actor => ({ type: "reconciler", id: rc.runId });

/** Memberships in live teams, as presenters show them. */
const liveMemberships = (rows: MembershipSnapshot[]): MembershipRow[] =>
  rows.filter((m) => m.team_deleted_at === null).map((m) => ({ team_id: m.team_id, user_id: m.user_id, status: m.status, source: m.source, display_name: m.team_name }));

/** Re-maps one drifted user: rewrites its mapped columns and announces it with scimUser.updated. */
export async function rewriteUserMapping(rc: RepairContext, userId: string): Promise<RepairOutcome> {
  const { sequelize, organizationId } = rc;
  return rc.exec.write(async (tx) => {
    const now = rc.clock.now();
    const [user] = await lockUsers(sequelize, tx, organizationId, [userId]);
    if (!user) return "unchanged";
    const memberships = await membershipsOf(sequelize, tx, [userId]);
    const mapping = expectedMapping(await loadCurrentMapping(sequelize, organizationId, tx));
    const finding = driftOf(user, memberships, mapping);
    if (!finding || finding.action !== "rewrite_mapped_fields") return "unchanged";
    const next = expectedColumns(user, memberships, mapping);
    const [row] = await execute<UserRow>(
      sequelize,
      `UPDATE users SET email_address = $2, first_name = $3, last_name = $4, app_external_id = $5, organization_role = $6,
         public_metadata = $7, private_metadata = $8, mapping_errors = $9, mapping_version = $10, updated_at = $11
       WHERE id = $1 RETURNING *`,
      [userId, next.email_address, next.first_name, next.last_name, next.app_external_id, next.organization_role,
        JSON.stringify(next.public_metadata), JSON.stringify(next.private_metadata), JSON.stringify(next.mapping_errors),
        next.mapping_version, now],
      tx,
    );
    await recordChange(sequelize, tx, {
      organizationId,
      type: "scimUser.updated",
      subjectId: userId,
      data: { user: presentAppUser(row!, liveMemberships(memberships)), enterprise_connection_id: row!.enterprise_connection_id, reconcile_run_id: rc.runId },
    }, {
      organizationId, actor: actorOf(rc), action: "user.remapped", subjectType: "user", subjectId: userId,
      changes: { stored: finding.stored, expected: finding.expected },
    }, now);
    return "repaired";
  });
}

/**
 * Stamps the current mapping version on users whose mapped columns already match it, in one
 * transaction per batch: nothing a consumer sees changes, so there is no webhook per user (after a
 * mapping change most users of a large org are in this case) and one audit row for the batch.
 */
export async function stampMappingVersions(rc: RepairContext, userIds: string[]): Promise<Map<string, RepairOutcome>> {
  const { sequelize, organizationId } = rc;
  return rc.exec.write(async (tx) => {
    const now = rc.clock.now();
    const users = await lockUsers(sequelize, tx, organizationId, userIds);
    const memberships = await membershipsOf(sequelize, tx, userIds);
    const current = await loadCurrentMapping(sequelize, organizationId, tx);
    const mapping = expectedMapping(current);
    const stamp = users.filter((u) => driftOf(u, memberships, mapping)?.action === "stamp_mapping_version").map((u) => u.id);
    if (stamp.length > 0) {
      await execute(sequelize, `UPDATE users SET mapping_version = $2 WHERE id = ANY($1::text[])`, [stamp, current.version], tx);
      await writeAudit(sequelize, tx, {
        organizationId, actor: actorOf(rc), action: "users.mapping_version_stamped", subjectType: "organization", subjectId: organizationId,
        changes: { mapping_version: current.version, user_ids: stamp },
      }, now);
    }
    const stamped = new Set(stamp);
    return new Map(userIds.map((id) => [id, stamped.has(id) ? "repaired" : "unchanged"]));
  });
}

async function lockTeam(sequelize: Sequelize, tx: Transaction, organizationId: string, teamId: string): Promise<TeamRow | undefined> {
  const rows = await select<TeamRow>(sequelize, `SELECT * FROM teams WHERE organization_id = $1 AND id = $2 FOR NO KEY UPDATE`, [organizationId, teamId], tx);
  return rows[0];
}

/** The team's version moves (its SCIM members changed) and the event shows its new member count. */
async function touchTeam(sequelize: Sequelize, tx: Transaction, teamId: string, now: Date): Promise<{ row: TeamRow; members: number }> {
  const [row] = await execute<TeamRow>(sequelize, `UPDATE teams SET version = version + 1, updated_at = $2 WHERE id = $1 RETURNING *`, [teamId, now], tx);
  const [count] = await select<{ n: number }>(sequelize, `SELECT count(*)::int AS n FROM team_memberships WHERE team_id = $1`, [teamId], tx);
  return { row: row!, members: count?.n ?? 0 };
}

/**
 * Removes or suspends stale members of one team, in one transaction with one scimGroup.updated
 * (members_removed / members_suspended) and one audit row; users who left a live team are
 * re-mapped (their role may come from their teams), as after an IdP group change.
 */
export async function repairTeamMemberships(rc: RepairContext, teamId: string, userIds: string[]): Promise<Map<string, RepairOutcome>> {
  const { sequelize, organizationId } = rc;
  return rc.exec.write(async (tx) => {
    const now = rc.clock.now();
    const outcomes = new Map<string, RepairOutcome>(userIds.map((id) => [id, "unchanged"]));
    const team = await lockTeam(sequelize, tx, organizationId, teamId);
    if (!team) return outcomes;
    const users = await lockUsers(sequelize, tx, organizationId, userIds);
    const memberships = (await membershipsOf(sequelize, tx, userIds)).filter((m) => m.team_id === teamId);
    const needsNames = users.filter((u) => memberships.some((m) => m.user_id === u.id && m.source === "user_groups"));
    const keys = await teamKeys(sequelize, tx, organizationId, needsNames.flatMap((u) => groupsAttributeKeys(u.scim_resource)));
    const removed: string[] = [];
    const suspended: string[] = [];
    const reasons: Record<string, string> = {};
    for (const user of users) {
      const membership = memberships.find((m) => m.user_id === user.id);
      if (!membership) continue;
      const verdict = membershipVerdict(membership, user, namedTeamIds(user.scim_resource, keys));
      if (!verdict) continue;
      (verdict.action === "delete_membership" ? removed : suspended).push(user.id);
      reasons[user.id] = verdict.reason;
    }
    if (removed.length === 0 && suspended.length === 0) return outcomes;
    if (removed.length > 0) {
      await execute(sequelize, `DELETE FROM team_memberships WHERE team_id = $1 AND user_id = ANY($2::text[])`, [teamId, removed], tx);
    }
    if (suspended.length > 0) {
      await execute(sequelize, `UPDATE team_memberships SET status = 'suspended', updated_at = $3 WHERE team_id = $1 AND user_id = ANY($2::text[])`, [teamId, suspended, now], tx);
    }
    if (removed.length > 0 && team.deleted_at === null) {
      const mapping = await loadCurrentMapping(sequelize, organizationId, tx);
      await remapUsersAfterMembershipChange({
        sequelize, transaction: tx, now, mapping, metrics: rc.metrics, actor: actorOf(rc),
        tenant: { organizationId, enterpriseConnectionId: team.enterprise_connection_id, tokenId: null, rateLimit: 0, mappingVersion: mapping.version },
      }, removed);
    }
    const { row, members } = await touchTeam(sequelize, tx, teamId, now);
    await recordChange(sequelize, tx, {
      organizationId,
      type: "scimGroup.updated",
      subjectId: teamId,
      data: {
        group: presentAppTeam(row, members), members_added: [], members_removed: removed, members_suspended: suspended, members_pending: [],
        enterprise_connection_id: row.enterprise_connection_id, reconcile_run_id: rc.runId,
      },
    }, {
      organizationId, actor: actorOf(rc), action: "team.members_reconciled", subjectType: "team", subjectId: teamId,
      changes: { removed, suspended, reasons },
    }, now);
    for (const id of [...removed, ...suspended]) outcomes.set(id, "repaired");
    return outcomes;
  });
}

/** Deletes expired pending memberships of one team, announced as scimGroup.updated (members_pending_expired). */
export async function deleteExpiredPending(rc: RepairContext, teamId: string, pendingIds: string[]): Promise<Map<string, RepairOutcome>> {
  const { sequelize, organizationId } = rc;
  return rc.exec.write(async (tx) => {
    const now = rc.clock.now();
    const outcomes = new Map<string, RepairOutcome>(pendingIds.map((id) => [id, "unchanged"]));
    const team = await lockTeam(sequelize, tx, organizationId, teamId);
    if (!team) return outcomes;
    const deleted = await execute<{ id: string; member_value: string }>(
      sequelize,
      `DELETE FROM pending_memberships WHERE team_id = $1 AND id = ANY($2::text[]) AND expires_at <= $3 RETURNING id, member_value`,
      [teamId, pendingIds, rc.runStartedAt],
      tx,
    );
    if (deleted.length === 0) return outcomes;
    const [count] = await select<{ n: number }>(sequelize, `SELECT count(*)::int AS n FROM team_memberships WHERE team_id = $1`, [teamId], tx);
    const expired = deleted.map((d) => d.member_value);
    await recordChange(sequelize, tx, {
      organizationId,
      type: "scimGroup.updated",
      subjectId: teamId,
      data: {
        group: presentAppTeam(team, count?.n ?? 0), members_added: [], members_removed: [], members_pending: [], members_pending_expired: expired,
        enterprise_connection_id: team.enterprise_connection_id, reconcile_run_id: rc.runId,
      },
    }, {
      organizationId, actor: actorOf(rc), action: "team.pending_memberships_expired", subjectType: "team", subjectId: teamId,
      changes: { member_values: expired },
    }, now);
    for (const d of deleted) outcomes.set(d.id, "repaired");
    return outcomes;
  });
}
