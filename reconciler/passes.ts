import type { Logger } from "../server/logger.ts";
import { loadCurrentMapping } from "../server/commands/userMapping.ts";
import type { FindingLog } from "./findingLog.ts";
import { planDuplicateEmails, planPendingBatch, planTeamBatch } from "./orgPlanner.ts";
import { groupsAttributeKeys, planUserBatch } from "./planner.ts";
import { deleteExpiredPending, expectedMapping, repairTeamMemberships, rewriteUserMapping, stampMappingVersions, type RepairContext } from "./repairs.ts";
import { duplicateEmailBatch, membershipsOf, pendingBatch, teamBatch, teamKeys, userBatch } from "./scanQueries.ts";
import type { Finding, FindingKind, RepairOutcome } from "./types.ts";

/** How one run scans its organization. */
export type ScanOptions = {
  kinds: ReadonlySet<FindingKind>;
  repair: boolean;
  staleTeamDays: number;
  batchSize: number;
  /** User fixes in flight at once (each on its own connection); 1 on a one-connection pool. */
  repairConcurrency: number;
  signal?: AbortSignal;
  logger: Logger;
};

/** Thrown between batches when the process is shutting down; the run is recorded as failed. */
export class RunAbortedError extends Error {
  constructor() {
    super("The run was stopped because the process is shutting down.");
    this.name = "RunAbortedError";
  }
}

const checkAbort = (options: ScanOptions) => {
  if (options.signal?.aborted) throw new RunAbortedError();
};

/** Applies one fix, recording its outcome (a failed fix is logged and counted; the run goes on). */
async function attempt(log: FindingLog, options: ScanOptions, findings: Finding[], fix: () => Promise<Map<string, RepairOutcome> | RepairOutcome>, keyOf: (f: Finding) => string): Promise<void> {
  try {
    const result = await fix();
    for (const f of findings) log.recordRepair(f, typeof result === "string" ? result : result.get(keyOf(f)) ?? "unchanged");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    options.logger.warn({ err: error, subjects: findings.map((f) => f.subject) }, "reconciler repair failed");
    for (const f of findings) log.recordRepair(f, "failed", message);
  }
}

/** Groups findings by a key (e.g. the team a membership fix locks), keeping their order. */
function groupBy(findings: Finding[], key: (f: Finding) => string): Map<string, Finding[]> {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const k = key(f);
    const list = groups.get(k);
    if (list) list.push(f);
    else groups.set(k, [f]);
  }
  return groups;
}

const subjectUser = (f: Finding) => (f.subject.type === "membership" ? f.subject.user_id : f.subject.type === "user" ? f.subject.id : "");
const subjectTeam = (f: Finding) => (f.subject.type === "membership" || f.subject.type === "pending_membership" ? f.subject.team_id : "");
const subjectPending = (f: Finding) => (f.subject.type === "pending_membership" ? f.subject.id : "");

/**
 * Repairs one batch's findings: membership fixes first (they re-map the users who leave a team),
 * then mapping fixes, which re-evaluate on the rows as the membership fixes left them, so a
 * repaired organization is consistent for the next run.
 */
async function repairUserFindings(rc: RepairContext, log: FindingLog, options: ScanOptions, findings: Finding[]): Promise<void> {
  const memberships = findings.filter((f) => f.action === "delete_membership" || f.action === "suspend_membership");
  for (const [teamId, group] of groupBy(memberships, subjectTeam)) {
    await attempt(log, options, group, () => repairTeamMemberships(rc, teamId, group.map(subjectUser)), subjectUser);
  }
  // Each user's fix is independent of the others', so a few run at once where the pool allows it.
  const rewrites = findings.filter((x) => x.action === "rewrite_mapped_fields");
  const lanes = rc.exec.readTx === null ? Math.max(1, options.repairConcurrency) : 1;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(lanes, rewrites.length) }, async () => {
    while (next < rewrites.length) {
      const f = rewrites[next++]!;
      await attempt(log, options, [f], () => rewriteUserMapping(rc, subjectUser(f)), subjectUser);
    }
  }));
  const stamps = findings.filter((f) => f.action === "stamp_mapping_version");
  if (stamps.length > 0) await attempt(log, options, stamps, () => stampMappingVersions(rc, stamps.map(subjectUser)), subjectUser);
}

/** Streams the organization's users in id order: mapping drift, stale memberships, per-user invariants. */
export async function usersPass(rc: RepairContext, log: FindingLog, options: ScanOptions): Promise<void> {
  const { sequelize, exec, organizationId } = rc;
  const mapping = expectedMapping(await loadCurrentMapping(sequelize, organizationId, exec.readTx ?? undefined));
  let after = "";
  for (;;) {
    checkAbort(options);
    const users = await userBatch(sequelize, exec.readTx, organizationId, after, options.batchSize);
    if (users.length === 0) return;
    after = users[users.length - 1]!.id;
    log.usersScanned += users.length;
    const memberships = await membershipsOf(sequelize, exec.readTx, users.map((u) => u.id));
    const withGroupsSource = new Set(memberships.filter((m) => m.source === "user_groups").map((m) => m.user_id));
    const keys = await teamKeys(sequelize, exec.readTx, organizationId, users.filter((u) => withGroupsSource.has(u.id)).flatMap((u) => groupsAttributeKeys(u.scim_resource)));
    const findings = planUserBatch({ users, memberships, teamKeys: keys }, mapping).filter((f) => options.kinds.has(f.kind));
    for (const f of findings) log.add(f);
    if (options.repair) await repairUserFindings(rc, log, options, findings.filter((f) => f.action !== null));
    if (users.length < options.batchSize) return;
  }
}

/** Pending memberships: expired ones (deleted on repair) and ones a live user should have claimed. */
export async function pendingPass(rc: RepairContext, log: FindingLog, options: ScanOptions): Promise<void> {
  let after = "";
  for (;;) {
    checkAbort(options);
    const rows = await pendingBatch(rc.sequelize, rc.exec.readTx, rc.organizationId, after, options.batchSize);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.id;
    const findings = planPendingBatch(rows, rc.runStartedAt).filter((f) => options.kinds.has(f.kind));
    for (const f of findings) log.add(f);
    if (options.repair) {
      const expired = findings.filter((f) => f.action === "delete_pending_membership");
      for (const [teamId, group] of groupBy(expired, subjectTeam)) {
        await attempt(log, options, group, () => deleteExpiredPending(rc, teamId, group.map(subjectPending)), subjectPending);
      }
    }
    if (rows.length < options.batchSize) return;
  }
}

/** Teams the IdP forgot (reported only). */
export async function teamsPass(rc: RepairContext, log: FindingLog, options: ScanOptions): Promise<void> {
  let after = "";
  for (;;) {
    checkAbort(options);
    const rows = await teamBatch(rc.sequelize, rc.exec.readTx, rc.organizationId, after, options.batchSize);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.id;
    for (const f of planTeamBatch(rows, rc.runStartedAt, options.staleTeamDays)) log.add(f);
    if (rows.length < options.batchSize) return;
  }
}

/** Active users sharing an email (reported only). */
export async function duplicateEmailsPass(rc: RepairContext, log: FindingLog, options: ScanOptions): Promise<void> {
  let after = "";
  for (;;) {
    checkAbort(options);
    const rows = await duplicateEmailBatch(rc.sequelize, rc.exec.readTx, rc.organizationId, after, options.batchSize);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.email;
    for (const f of planDuplicateEmails(rows)) log.add(f);
    if (rows.length < options.batchSize) return;
  }
}
