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
import { FINDING_KINDS, type FindingKind } from "./types.ts";

/** What a reconcile run needs from the process; a bench or test passes its own. */
export type ReconcileDeps = { sequelize: Sequelize; logger: Logger; metrics: Metrics; clock: Clock };

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
  const kinds = [...(props.kinds ?? FINDING_KINDS)];
  const staleTeamDays = props.staleTeamDays ?? DEFAULT_STALE_TEAM_DAYS;
  const base = { id: newId("run"), organization_id: props.organizationId, repair: props.repair, trigger: props.trigger, started_at: startedAt };
  const log = new FindingLog();
  const runLogger = logger.child({ organizationId: props.organizationId, runId: base.id, repair: props.repair, trigger: props.trigger });
  const options: ScanOptions = {
    kinds: new Set(kinds),
    repair: props.repair,
    staleTeamDays,
    batchSize: props.batchSize ?? DEFAULT_BATCH_SIZE,
    repairConcurrency: props.repairConcurrency ?? DEFAULT_REPAIR_CONCURRENCY,
    signal: props.signal,
    logger: runLogger,
  };
  try {
    const outcome = await withOrgLock(sequelize, props.organizationId, async (exec) => {
      await exec.write((tx) => insertRun(sequelize, tx, base));
      const rc: RepairContext = { sequelize, exec, organizationId: props.organizationId, runId: base.id, runStartedAt: startedAt, clock, metrics };
      const has = (...wanted: FindingKind[]) => wanted.some((k) => options.kinds.has(k));
      if (has("mapping_drift", "stale_membership", "broken_invariant")) await usersPass(rc, log, options);
      if (has("expired_pending_membership", "broken_invariant")) await pendingPass(rc, log, options);
      if (has("stale_team")) await teamsPass(rc, log, options);
      if (has("broken_invariant")) await duplicateEmailsPass(rc, log, options);
      const summary = log.summary({ kinds, staleTeamDays });
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
        ...base, status: "failed", summary: log.summary({ kinds, staleTeamDays }), findings: log.kept, error: crashed.message, finished_at: clock.now(),
      }),
    );
    recordRunMetrics(metrics, { organizationId: props.organizationId, outcome: "failed", finishedAt: run.finished_at! });
    return { run, skipped: null, crashed };
  }
}
