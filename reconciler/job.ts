import type { Sequelize } from "sequelize";
import type { Clock } from "../server/context.ts";
import type { Logger } from "../server/logger.ts";
import type { Metrics } from "../server/metrics.ts";
import { newId } from "../server/ids.ts";
import { driftDetected } from "../server/changes/payloads.ts";
import { recordChange } from "../server/changes/recorder.ts";
import { FindingLog } from "./findingLog.ts";
import { hasDedicatedLockConnection, withOrgLock, type LockRefusal } from "./orgLock.ts";
import { duplicateEmailsPass, pendingPass, teamsPass, usersPass, type ScanOptions } from "./passes.ts";
import type { RepairContext } from "./repairs.ts";
import { presentRun } from "./runPresenter.ts";
import { finishRun, insertRun, type ReconcileRunRow, type RunTrigger } from "./runStore.ts";
import { recordRunMetrics } from "./runMetrics.ts";
import { IDP_FINDING_KINDS, LOCAL_FINDING_KINDS, type FindingKind } from "./types.ts";
import { directoriesOf, type DirectoryRow } from "./directory/directoryStore.ts";
import { directoryPass, type DirectoryPassOptions, type DirectoryPassResult } from "./directory/pass.ts";
import type { DirectoryClientOptions } from "./directory/connect.ts";
import type { PendingPolicy } from "../server/commands/groups/memberSync.ts";

/** How directory pulls talk to IdPs (config.directory); defaults apply when a bench or test passes none. */
export type DirectoryDeps = { client: Omit<DirectoryClientOptions, "metrics">; pending: PendingPolicy };

/** What a reconcile run needs from the process; a bench or test passes its own. */
export type ReconcileDeps = { sequelize: Sequelize; logger: Logger; metrics: Metrics; clock: Clock; directory?: DirectoryDeps };

/** What a run compares: Rollcall with itself, with the IdP's own directory, or both. */
export type ReconcileSource = "local" | "idp" | "all";

const DEFAULT_DIRECTORY: DirectoryDeps = { client: { timeoutMs: 30_000, rateLimitShare: 0.5 }, pending: { pendingTtlMs: 72 * 3_600_000, maxPendingPerGroup: 5_000, maxPendingPerOrganization: 50_000 } };

export type ReconcileProps = {
  organizationId: string;
  repair: boolean;
  trigger: RunTrigger;
  /** Which kinds to look for (all by default); a mapping apply asks for mapping_drift only. */
  kinds?: readonly FindingKind[];
  /** A team untouched by the IdP for this many days, with no active member, is stale. */
  staleTeamDays?: number;
  batchSize?: number;
  /** User fixes in flight at once on a pool with room for them (default 4). */
  repairConcurrency?: number;
  signal?: AbortSignal;
  /** Default: `all` when the organization has a directory, else `local`. */
  source?: ReconcileSource;
  /** Repair past the blast-radius guard. */
  force?: boolean;
  /** Directory pull mode (default auto: incremental between daily full passes where the IdP has a feed). */
  directoryMode?: DirectoryPassOptions["mode"];
  /** Only these directories (the schedule passes the ones due); every directory of the organization otherwise. */
  directoryIds?: string[];
};

/** The stored run; `skipped` says why the organization was not reconciled, `crashed` what broke the run. */
export type ReconcileResult = { run: ReconcileRunRow; skipped: LockRefusal | null; crashed: Error | null };

export const DEFAULT_STALE_TEAM_DAYS = 30;
export const DEFAULT_BATCH_SIZE = 1000;
export const DEFAULT_REPAIR_CONCURRENCY = 4;
/** Findings included in the drift webhook; the full (capped) list is on the run. */
const WEBHOOK_FINDINGS_SAMPLE = 20;

const SKIP_MESSAGES: Record<LockRefusal, string> = {
  running_in_this_process: "Another reconcile run of this organization is in progress in this process.",
  locked_by_another_process: "Another reconcile run of this organization holds its advisory lock (another replica or process).",
};

/**
 * Stores a skipped run. On a one-connection pool a run of this process that holds the organization
 * holds the only connection too, so then the row is written when it frees up, without waiting.
 */
async function recordSkipped(sequelize: Sequelize, logger: Logger, reason: LockRefusal, run: Parameters<typeof finishRun>[2]): Promise<ReconcileRunRow> {
  const write = sequelize.transaction((tx) => finishRun(sequelize, tx, run));
  if (reason === "locked_by_another_process" || hasDedicatedLockConnection(sequelize)) return write;
  write.catch((error: unknown) => logger.warn({ err: error }, "recording a skipped reconcile run failed"));
  return { ...run };
}

/**
 * Reconciles one organization: holds its lock, streams its users, pending memberships and teams
 * in batches, stores the run with its findings, and records one reconciler.drift_detected event
 * when there are any. In repair mode each fix commits on its own with its event and audit row.
 * A run that finds the lock taken is recorded as skipped; one that crashes, as failed.
 */
export async function reconcileOrganization(deps: ReconcileDeps, props: ReconcileProps): Promise<ReconcileResult> {
  const { sequelize, logger, metrics, clock } = deps;
  const startedAt = clock.now();
  // Which directories and kinds the run covers is read once it holds the organization (inside the
  // lock): on a one-connection pool a query before it would queue behind a run in progress.
  let source: ReconcileSource = props.source ?? "local";
  const kindsFor = (s: ReconcileSource): FindingKind[] => [...(props.kinds ?? [...(s === "idp" ? [] : LOCAL_FINDING_KINDS), ...(s === "local" ? [] : IDP_FINDING_KINDS)])];
  let kinds = kindsFor(source);
  const kindSet = new Set<FindingKind>();
  const pulled: DirectoryPassResult[] = [];
  const staleTeamDays = props.staleTeamDays ?? DEFAULT_STALE_TEAM_DAYS;
  const base = { id: newId("run"), organization_id: props.organizationId, repair: props.repair, trigger: props.trigger, started_at: startedAt };
  const log = new FindingLog();
  const runLogger = logger.child({ organizationId: props.organizationId, runId: base.id, repair: props.repair, trigger: props.trigger });
  const options: ScanOptions = {
    kinds: kindSet,
    repair: props.repair,
    staleTeamDays,
    batchSize: props.batchSize ?? DEFAULT_BATCH_SIZE,
    repairConcurrency: props.repairConcurrency ?? DEFAULT_REPAIR_CONCURRENCY,
    signal: props.signal,
    logger: runLogger,
  };
  try {
    const outcome = await withOrgLock(sequelize, props.organizationId, async (exec) => {
      const directories: DirectoryRow[] = (await directoriesOf(sequelize, props.organizationId, exec.readTx))
        .filter((d) => !props.directoryIds || props.directoryIds.includes(d.id));
      source = props.source ?? (directories.length > 0 ? "all" : "local");
      kinds = kindsFor(source);
      for (const kind of kinds) kindSet.add(kind);
      await exec.write((tx) => insertRun(sequelize, tx, base));
      const rc: RepairContext = { sequelize, exec, organizationId: props.organizationId, runId: base.id, runStartedAt: startedAt, clock, metrics };
      const has = (...wanted: FindingKind[]) => wanted.some((k) => options.kinds.has(k));
      if (has("mapping_drift", "stale_membership", "broken_invariant")) await usersPass(rc, log, options);
      if (has("expired_pending_membership", "broken_invariant")) await pendingPass(rc, log, options);
      if (has("stale_team")) await teamsPass(rc, log, options);
      if (has("broken_invariant")) await duplicateEmailsPass(rc, log, options);
      if (source !== "local") {
        for (const dir of directories) pulled.push(await pullDirectory(deps, rc, log, dir, props, runLogger));
      }
      const summary = { ...log.summary({ kinds, staleTeamDays }), source, ...(source !== "local" ? { directories: pulled } : {}) };
      const failed = log.failedRepairs;
      return exec.write(async (tx) => {
        const finishedAt = clock.now();
        const run = await finishRun(sequelize, tx, {
          ...base,
          status: failed > 0 ? "failed" : "succeeded",
          summary,
          findings: log.kept,
          error: failed > 0 ? `${failed} repair(s) failed; the findings say which and why.` : null,
          finished_at: finishedAt,
        });
        if (summary.total > 0) {
          const { findings: _stored, ...listed } = run;
          const sample = log.kept.slice(0, WEBHOOK_FINDINGS_SAMPLE);
          await recordChange({ sequelize, transaction: tx }, driftDetected(props.organizationId, run, { reconcile_run: presentRun(listed), findings_sample: sample }), finishedAt);
        }
        return run;
      });
    });
    if (!outcome.acquired) {
      const run = await recordSkipped(sequelize, runLogger, outcome.reason, {
        ...base, status: "skipped", summary: { skipped_because: outcome.reason }, findings: [], error: SKIP_MESSAGES[outcome.reason], finished_at: clock.now(),
      });
      runLogger.info({ reason: outcome.reason }, "reconcile run skipped: organization locked");
      recordRunMetrics(metrics, { organizationId: props.organizationId, outcome: "skipped", finishedAt: run.finished_at! });
      return { run, skipped: outcome.reason, crashed: null };
    }
    const run = outcome.value;
    const counts = Object.fromEntries(kinds.map((k) => [k, log.counts[k]]));
    recordRunMetrics(metrics, { organizationId: props.organizationId, outcome: run.status === "succeeded" ? "succeeded" : "failed", counts, finishedAt: run.finished_at! });
    runLogger.info({ status: run.status, total: log.total, repairable: log.repairable, counts: log.counts }, "reconcile run finished");
    return { run, skipped: null, crashed: null };
  } catch (error) {
    const crashed = error instanceof Error ? error : new Error(String(error));
    runLogger.error({ err: crashed }, "reconcile run failed");
    const run = await sequelize.transaction((tx) =>
      finishRun(sequelize, tx, {
        ...base, status: "failed", summary: { ...log.summary({ kinds, staleTeamDays }), source }, findings: log.kept, error: crashed.message, finished_at: clock.now(),
      }),
    );
    recordRunMetrics(metrics, { organizationId: props.organizationId, outcome: "failed", finishedAt: run.finished_at! });
    return { run, skipped: null, crashed };
  }
}

/** One directory's pull within a run, timed and counted in the directory metrics. */
async function pullDirectory(deps: ReconcileDeps, rc: RepairContext, log: FindingLog, dir: DirectoryRow, props: ReconcileProps, logger: Logger): Promise<DirectoryPassResult> {
  const directory = deps.directory ?? DEFAULT_DIRECTORY;
  const before = Object.fromEntries(IDP_FINDING_KINDS.map((k) => [k, log.counts[k]]));
  const timer = Date.now();
  let mode = props.directoryMode ?? "auto";
  try {
    const result = await directoryPass(rc, log, dir, {
      repair: props.repair, force: props.force === true, mode: props.directoryMode ?? "auto", signal: props.signal, pending: directory.pending,
      client: { ...directory.client, metrics: deps.metrics }, logger: logger.child({ directoryId: dir.id, provider: dir.provider }), kinds: props.kinds ? new Set(props.kinds) : undefined,
    });
    mode = result.mode;
    deps.metrics.directoryPullDuration.observe({ provider: dir.provider, mode, outcome: "succeeded" }, (Date.now() - timer) / 1000);
    deps.metrics.directoryLastSuccess.set({ provider: dir.provider }, deps.clock.now().getTime() / 1000);
    for (const kind of IDP_FINDING_KINDS) {
      const found = log.counts[kind] - (before[kind] ?? 0);
      if (found > 0) deps.metrics.directoryFindings.inc({ kind }, found);
    }
    return result;
  } catch (error) {
    deps.metrics.directoryPullDuration.observe({ provider: dir.provider, mode: mode === "auto" ? "full" : mode, outcome: "failed" }, (Date.now() - timer) / 1000);
    throw error;
  }
}
