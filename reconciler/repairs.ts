import type { Sequelize, Transaction } from "sequelize";
import type { Clock } from "../server/context.ts";
import type { Metrics } from "../server/metrics.ts";
import type { Actor } from "../server/changes/change.ts";
import { auditedOnly, teamChanged, userChanged } from "../server/changes/payloads.ts";
import { recordChange } from "../server/changes/recorder.ts";
import { loadCurrentMapping, mapUser, type CurrentMapping } from "../server/commands/userMapping.ts";
import { remapUsersAfterMembershipChange } from "../server/commands/users/userRemapper.ts";
import type { WriteContext } from "../server/domain/writeContext.ts";
import type { MembershipRow } from "../server/models/rows.ts";
import { stampMappingVersion, updateMappedColumns } from "../server/models/userQueries.ts";
import { bumpTeamVersion, lockTeamForRepair, memberCountOf } from "../server/models/teamQueries.ts";
import { deleteExpiredPendingMemberships, deleteMemberships, suspendMemberships } from "../server/models/membershipQueries.ts";
import type { RunExecutor } from "./orgLock.ts";
import { driftOf, expectedColumns, groupsAttributeKeys, membershipVerdict, namedTeamIds } from "./planner.ts";
import { lockUsers, membershipsOf, teamKeys } from "./scanQueries.ts";
import type { ExpectedMapping, MembershipSnapshot, RepairOutcome } from "./types.ts";

/*
 * The fixes of a repair run. Each runs in its own transaction (exec.write), locks what it changes,
 * re-checks the problem on the locked rows with the planner (an IdP write may have fixed it since
 * the scan), and records its change (event and audit row) in that same transaction, exactly like an
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

/** Who a fix's change is by: the run, for its organization. */
const authorOf = (rc: RepairContext) => ({ organizationId: rc.organizationId, actor: actorOf(rc), reconcileRunId: rc.runId });

/** The reconciler's own write context (the domain's, as SCIM builds one per request), for one fix's transaction. */
function writeContextOf(rc: RepairContext, transaction: Transaction, props: { now: Date; mapping: CurrentMapping; connectionId: string }): WriteContext {
  return { sequelize: rc.sequelize, transaction, metrics: rc.metrics, ...authorOf(rc), ...props };
}

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
    const row = await updateMappedColumns(sequelize, tx, { id: userId, values: next, now, bumpVersion: false });
    const change = userChanged(authorOf(rc), "remapped", { row, memberships: liveMemberships(memberships) }, {
      stored: finding.stored,
      expected: finding.expected,
    });
    await recordChange({ sequelize, transaction: tx }, change, now);
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
      await stampMappingVersion(sequelize, tx, stamp, current.version);
      await recordChange({ sequelize, transaction: tx }, auditedOnly(authorOf(rc), {
        action: "users.mapping_version_stamped", subjectType: "organization", subjectId: organizationId,
        changes: { mapping_version: current.version, user_ids: stamp },
      }), now);
    }
    const stamped = new Set(stamp);
    return new Map(userIds.map((id) => [id, stamped.has(id) ? "repaired" : "unchanged"]));
  });
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
    const team = await lockTeamForRepair(sequelize, tx, organizationId, teamId);
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
    if (removed.length > 0) await deleteMemberships(sequelize, tx, teamId, removed);
    if (suspended.length > 0) await suspendMemberships(sequelize, tx, teamId, suspended, now);
    if (removed.length > 0 && team.deleted_at === null) {
      const mapping = await loadCurrentMapping(sequelize, organizationId, tx);
      await remapUsersAfterMembershipChange(writeContextOf(rc, tx, { now, mapping, connectionId: team.enterprise_connection_id }), removed);
    }
    const row = await bumpTeamVersion(sequelize, tx, teamId, now);
    await recordChange({ sequelize, transaction: tx }, teamChanged(authorOf(rc), "scimGroup.updated", { row, memberCount: row.member_count }, {
      added: [], removed, suspended, pending: [],
    }, { action: "team.members_reconciled", changes: { removed, suspended, reasons } }), now);
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
    const team = await lockTeamForRepair(sequelize, tx, organizationId, teamId);
    if (!team) return outcomes;
    const deleted = await deleteExpiredPendingMemberships(sequelize, tx, teamId, pendingIds, rc.runStartedAt);
    if (deleted.length === 0) return outcomes;
    const memberCount = await memberCountOf(sequelize, teamId, tx);
    const expired = deleted.map((d) => d.member_value);
    await recordChange({ sequelize, transaction: tx }, teamChanged(authorOf(rc), "scimGroup.updated", { row: team, memberCount }, {
      added: [], removed: [], pending: [], pendingExpired: expired,
    }, { action: "team.pending_memberships_expired", changes: { member_values: expired } }), now);
    for (const d of deleted) outcomes.set(d.id, "repaired");
    return outcomes;
  });
}
