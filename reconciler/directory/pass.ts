import { performance } from "node:perf_hooks";
import type { Logger } from "../../server/logger.ts";
import type { PendingPolicy } from "../../server/commands/groups/memberSync.ts";
import type { FindingLog } from "../findingLog.ts";
import type { RepairContext } from "../repairs.ts";
import type { Finding, FindingKind, IdpFindingKind, RepairOutcome } from "../types.ts";
import { connectDirectory, type DirectoryClientOptions } from "./connect.ts";
import { DirectoryResyncRequired, type DirectoryChange, type DirectoryConnector, type DirectoryGroup, type MembershipChange } from "./connectors/types.ts";
import { DirectoryDiff, GroupDiff, diffMemberChanges, diffMembers, type StoredTeam } from "./diff.ts";
import { StoredUserTable } from "./storedUserTable.ts";
import { checkBlastRadius, BlastRadiusError } from "./guard.ts";
import { directoryWriter, type DirectoryWriter, type ProvisionProfile } from "./repairWriter.ts";
import { cursorOf, recordDirectoryPull, type DirectoryRow } from "./directoryStore.ts";
import { activeUserCount, storedTeams, storedUsers, storedUsersMatching, teamMemberIds } from "./storedStateQueries.ts";

/** Groups whose members are read from the IdP at once (each group's pages stay sequential). */
const MEMBER_READS_IN_FLIGHT = 8;

export { BlastRadiusError };

/** How one directory is reconciled in a run. */
export type DirectoryPassOptions = {
  repair: boolean;
  /** Repair even past the blast-radius guard. */
  force: boolean;
  /** `auto`: incremental when the IdP has a change feed, a cursor exists and the last full pass is recent enough. */
  mode: "full" | "incremental" | "auto";
  client: DirectoryClientOptions;
  pending: PendingPolicy;
  logger: Logger;
  signal?: AbortSignal;
  /** The kinds the run looks for (a repair of one kind must not fix the others); every idp_* kind when absent. */
  kinds?: ReadonlySet<FindingKind>;
};

/** What a directory pass reports back to the run. */
export type DirectoryPassResult = {
  directoryId: string;
  provider: string;
  mode: "full" | "incremental";
  users_seen: number;
  groups_seen: number;
  /** Where the pass spent its time (ms): reading what Rollcall holds, pulling users, pulling groups and members, repairing. */
  timings_ms: { stored: number; users: number; groups: number; repair: number };
  /** The incremental pull's feed needed a resync (Graph 410 Gone / an expired delta token), so this became a full pass. */
  resynced?: true;
  repair_skipped?: string;
};

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error("The run was stopped because the process is shutting down.");
}

/** Which mode this pass runs in. */
export function chooseMode(dir: DirectoryRow, cursor: string | null, hasFeed: boolean, requested: DirectoryPassOptions["mode"], now: Date): "full" | "incremental" {
  if (requested === "full" || !hasFeed || cursor === null) return "full";
  if (requested === "incremental") return "incremental";
  const fullDue = dir.last_full_run_at === null || now.getTime() - dir.last_full_run_at.getTime() >= dir.full_every_hours * 3_600_000;
  return fullDue ? "full" : "incremental";
}

/** What the full and incremental pulls share: the connection, the findings they note, the clock. */
type Pull = {
  rc: RepairContext;
  dir: DirectoryRow;
  connector: DirectoryConnector;
  options: DirectoryPassOptions;
  note: (findings: Iterable<Finding>) => void;
  lap: (phase: "stored" | "users" | "groups") => void;
};

/**
 * Pulls one directory, diffs it with what the connection holds, records the findings, and (in
 * repair mode, within the blast-radius guard) fixes them through the SCIM write commands. The
 * whole pull completes before anything is written, so a pull that fails (revoked credentials, an
 * IdP outage) changes nothing. An incremental pull whose feed needs a resync (Graph's 410 Gone, an
 * expired delta token) becomes a full one, which starts a new feed.
 */
export async function directoryPass(rc: RepairContext, log: FindingLog, dir: DirectoryRow, options: DirectoryPassOptions): Promise<DirectoryPassResult> {
  const { sequelize, organizationId } = rc;
  const tx = rc.exec.readTx;
  // The SCIM commands open their own transactions: on a one-connection pool (embedded PGlite) the
  // run's lock holds the only connection, so there the directory part reports and does not repair.
  const repairBlocked = options.repair && tx !== null;
  if (repairBlocked) options.logger.warn("directory repair skipped: it needs a database pool with a connection besides the run's lock (PostgreSQL server, DATABASE_POOL_MAX ≥ 3)");
  const connector = connectDirectory(sequelize, dir, options.client);
  let cursor = cursorOf(sequelize, dir);
  let mode = chooseMode(dir, cursor, connector.changes !== undefined, options.mode, rc.clock.now());
  const started = rc.clock.now();

  const planned: Finding[] = [];
  const timings = { stored: 0, users: 0, groups: 0, repair: 0 };
  let mark = performance.now();
  const lap = (phase: keyof typeof timings) => {
    const now = performance.now();
    timings[phase] += Math.round(now - mark);
    mark = now;
  };
  const note = (findings: Iterable<Finding>) => {
    for (const f of findings) {
      if (options.kinds && !options.kinds.has(f.kind)) continue;
      log.add(f);
      if (f.action !== null) planned.push(f);
    }
  };
  const pull: Pull = { rc, dir, connector, options, note, lap };

  let seen = { users: 0, groups: 0 };
  let resynced = false;
  if (mode === "incremental") {
    try {
      const result = await incrementalPull(pull, cursor!);
      seen = result.seen;
      cursor = result.cursor;
    } catch (error) {
      if (!(error instanceof DirectoryResyncRequired)) throw error;
      // Nothing was noted yet: the feed is read to the end before any diffing.
      options.logger.warn({ directory_id: dir.id, provider: dir.provider, reason: error.message }, "directory change feed needs a resync: running a full pass");
      mode = "full";
      resynced = true;
    }
  }
  if (mode === "full") {
    const result = await fullPull(pull);
    seen = result.seen;
    cursor = result.cursor;
  }
  log.usersScanned += seen.users;

  if (options.repair && !repairBlocked && planned.length > 0) {
    const verdict = checkBlastRadius(planned, { activeUsers: await activeUserCount(sequelize, tx, organizationId), maxDeactivationRatio: dir.max_deactivation_ratio });
    if (verdict && !options.force) throw new BlastRadiusError(verdict);
    const writer = await directoryWriter({
      sequelize, metrics: rc.metrics, now: () => rc.clock.now(), pending: options.pending,
      organizationId, connectionId: dir.enterprise_connection_id, runId: rc.runId,
    });
    await applyRepairs(writer, log, planned, options.logger);
    lap("repair");
  }
  // Through the run's executor: on a one-connection pool the lock's transaction is the only connection.
  await rc.exec.write((wtx) => recordDirectoryPull(sequelize, dir, { at: started, full: mode === "full", cursor }, wtx));
  return {
    directoryId: dir.id, provider: dir.provider, mode, users_seen: seen.users, groups_seen: seen.groups, timings_ms: timings,
    ...(resynced ? { resynced: true } : {}),
    ...(repairBlocked ? { repair_skipped: "the embedded database has one connection; directory repairs need a PostgreSQL server" } : {}),
  };
}

/**
 * Only the changes are read, then only the stored users they can match: cost follows the changes.
 * Member changes (Graph's members@delta) are diffed against the stored members of their teams.
 */
async function incrementalPull(pull: Pull, cursor: string): Promise<{ seen: { users: number; groups: number }; cursor: string | null }> {
  const { rc, dir, connector, options, note, lap } = pull;
  const { sequelize, organizationId } = rc;
  const tx = rc.exec.readTx;
  const feed = connector.changes!(cursor);
  const users = new Map<string, Extract<DirectoryChange, { assigned: boolean }>>();
  const memberships: MembershipChange[] = [];
  for await (const page of feed.pages) {
    checkAbort(options.signal);
    for (const change of page) {
      if ("membership" in change) memberships.push(change.membership);
      else users.set(change.assigned ? change.user.idpId : change.idpId, change); // a replayed change: the last one holds
    }
  }
  const next = feed.cursor();
  lap("users");
  const changed = [...users.values()];
  const profiles = changed.flatMap((c) => (c.user ? [c.user] : []));
  const externalIds = [...profiles.flatMap((u) => (u.externalId === null ? [] : [u.externalId])), ...changed.flatMap((c) => (c.assigned ? [] : [c.idpId]))];
  const names = profiles.flatMap((u) => [u.userName, u.email].filter((v): v is string => v !== null));
  const diff = new DirectoryDiff(await storedUsersMatching(sequelize, tx, organizationId, dir.enterprise_connection_id, { externalIds, names }));
  note(changed.flatMap((c) => (c.assigned ? diff.diffUser(c.user) : diff.diffUnassigned(c.idpId, c.user))));
  const groupsSeen = new Set<string>();
  if (memberships.length > 0) {
    const groups = new GroupDiff(await storedTeams(sequelize, tx, organizationId, dir.enterprise_connection_id));
    const byTeam = new Map<string, { team: StoredTeam; group: DirectoryGroup; added: string[]; removed: string[] }>();
    for (const m of memberships) {
      groupsSeen.add(m.group.idpId);
      const team = groups.match(m.group);
      const userId = diff.storedIdOf(m.userIdpId);
      if (!team || userId === undefined) continue; // a group never pushed, or a user not provisioned here: not drift
      const entry = byTeam.get(team.id) ?? { team, group: m.group, added: [], removed: [] };
      byTeam.set(team.id, entry);
      // The last change of a (group, user) pair holds, as the feed may replay.
      entry.added = entry.added.filter((id) => id !== userId);
      entry.removed = entry.removed.filter((id) => id !== userId);
      (m.member ? entry.added : entry.removed).push(userId);
    }
    const storedMembers = await teamMemberIds(sequelize, tx, organizationId, [...byTeam.keys()]);
    for (const { team, group, added, removed } of byTeam.values()) note(diffMemberChanges(team, group, added, removed, storedMembers.get(team.id)!));
  }
  lap("stored");
  return { seen: { users: changed.length, groups: groupsSeen.size }, cursor: next };
}

/** Groups whose stored and IdP members are held at once: the comparison streams a few teams at a time. */
const MEMBER_CHUNK = MEMBER_READS_IN_FLIGHT * 2;

/** Everything the IdP assigns, against everything the connection holds. */
async function fullPull(pull: Pull): Promise<{ seen: { users: number; groups: number }; cursor: string | null }> {
  const { rc, dir, connector, options, note, lap } = pull;
  const { sequelize, organizationId } = rc;
  const tx = rc.exec.readTx;
  // Packed as the batches arrive: the batch's row objects are let go at once (storedUserTable.ts).
  const stored = new StoredUserTable();
  for await (const batch of storedUsers(sequelize, tx, organizationId, dir.enterprise_connection_id)) for (const user of batch) stored.add(user);
  const diff = new DirectoryDiff(stored);
  lap("stored");
  // The change feed starts from before the pull, so what changes during it is seen next time.
  let cursor: string | null = null;
  if (connector.changes) {
    const feed = connector.changes(null);
    for await (const _ of feed.pages) void _;
    cursor = feed.cursor();
  }
  let usersSeen = 0;
  for await (const page of connector.users()) {
    checkAbort(options.signal);
    usersSeen += page.length;
    note(page.flatMap((u) => diff.diffUser(u)));
  }
  note(diff.unknownUsers());
  lap("users");
  let groupsSeen = 0;
  const groups = new GroupDiff(await storedTeams(sequelize, tx, organizationId, dir.enterprise_connection_id));
  for await (const page of connector.groups()) {
    checkAbort(options.signal);
    groupsSeen += page.length;
    const matched = page.flatMap((group) => {
      const team = groups.match(group);
      return team ? [{ group, team }] : [];
    });
    // A few teams at a time: their stored members in one query, the IdP's member lists a few groups
    // at once, each team diffed and let go, so members of many groups are never held together.
    for (let from = 0; from < matched.length; from += MEMBER_CHUNK) {
      const chunk = matched.slice(from, from + MEMBER_CHUNK);
      const storedMembers = await teamMemberIds(sequelize, tx, organizationId, chunk.map((m) => m.team.id));
      const findings: Finding[][] = [];
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(MEMBER_READS_IN_FLIGHT, chunk.length) }, async () => {
        while (next < chunk.length) {
          const at = next++;
          const { group, team } = chunk[at]!;
          const members = new Set<string>();
          for await (const ids of connector.members(group.idpId)) {
            for (const id of ids) {
              const userId = diff.storedIdOf(id);
              if (userId !== undefined) members.add(userId);
            }
          }
          findings[at] = diffMembers(team, group, members, storedMembers.get(team.id)!);
        }
      }));
      // In the groups' order, whichever member list came back first.
      for (const f of findings) note(f);
    }
  }
  note(groups.missingGroups());
  lap("groups");
  return { seen: { users: usersSeen, groups: groupsSeen }, cursor };
}

/** Repair order: users appear before they join teams; deactivations and team deletions come last. */
const ORDER: Array<NonNullable<Finding["action"]>> = [
  "provision_user", "reactivate_user", "update_user_attributes", "add_team_members", "remove_team_members", "deactivate_user", "delete_team",
];

async function attempt(log: FindingLog, logger: Logger, findings: Finding[], fix: () => Promise<void>): Promise<void> {
  try {
    await fix();
    for (const f of findings) log.recordRepair(f, "repaired");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.warn({ err: error, subjects: findings.map((f) => f.subject) }, "directory repair failed");
    for (const f of findings) log.recordRepair(f, "failed" as RepairOutcome, message);
  }
}

/** Applies planned fixes through the writer, one command per user and one per team. */
async function applyRepairs(writer: DirectoryWriter, log: FindingLog, planned: Finding[], logger: Logger): Promise<void> {
  for (const action of ORDER) {
    const findings = planned.filter((f) => f.action === action);
    if (action === "add_team_members" || action === "remove_team_members") {
      const byTeam = new Map<string, Finding[]>();
      for (const f of findings) {
        if (f.subject.type !== "membership") continue;
        byTeam.set(f.subject.team_id, [...(byTeam.get(f.subject.team_id) ?? []), f]);
      }
      for (const [teamId, group] of byTeam) {
        const userIds = group.map((f) => (f.subject.type === "membership" ? f.subject.user_id : ""));
        await attempt(log, logger, group, () => (action === "add_team_members" ? writer.addTeamMembers(teamId, userIds) : writer.removeTeamMembers(teamId, userIds)));
      }
      continue;
    }
    for (const f of findings) {
      const id = f.subject.type === "user" || f.subject.type === "team" ? f.subject.id : "";
      switch (action) {
        case "provision_user":
          await attempt(log, logger, [f], async () => void (await writer.provisionUser(f.expected as ProvisionProfile)));
          break;
        case "reactivate_user":
          await attempt(log, logger, [f], () => writer.setUserActive(id, true));
          break;
        case "deactivate_user":
          await attempt(log, logger, [f], () => writer.setUserActive(id, false));
          break;
        case "update_user_attributes":
          await attempt(log, logger, [f], () => writer.updateUserAttributes(id, f.expected));
          break;
        case "delete_team":
          await attempt(log, logger, [f], () => writer.deleteTeam(id));
          break;
        default:
          break;
      }
    }
  }
}

/** Counts of IdP findings by kind, for rollcall_directory_findings_total. */
export function idpCounts(log: FindingLog, kinds: readonly IdpFindingKind[]): Record<string, number> {
  return Object.fromEntries(kinds.map((k) => [k, log.counts[k]]));
}
