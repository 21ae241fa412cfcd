import type { Sequelize, Transaction } from "sequelize";
import { execute, select } from "../server/models/sql.ts";
import type { RunSummary } from "./findingLog.ts";
import type { Finding } from "./types.ts";

export type RunStatus = "running" | "succeeded" | "failed" | "skipped";

/** What started a run. */
export type RunTrigger = "api" | "schedule" | "cli" | "mapping_apply";

/** A reconcile_runs row (see migrations/). */
export type ReconcileRunRow = {
  id: string;
  organization_id: string;
  status: RunStatus;
  repair: boolean;
  trigger: RunTrigger;
  summary: RunSummary | { skipped_because: string } | Record<string, never>;
  findings: Finding[];
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
};

/** A run's row without its (possibly large) findings, for lists. */
export type ReconcileRunListRow = Omit<ReconcileRunRow, "findings">;

/** Records that a run started (status running). */
export async function insertRun(
  sequelize: Sequelize,
  tx: Transaction,
  run: Pick<ReconcileRunRow, "id" | "organization_id" | "repair" | "trigger" | "started_at">,
): Promise<void> {
  await execute(
    sequelize,
    `INSERT INTO reconcile_runs (id, organization_id, status, repair, trigger, started_at) VALUES ($1, $2, 'running', $3, $4, $5)`,
    [run.id, run.organization_id, run.repair, run.trigger, run.started_at],
    tx,
  );
}

/**
 * Writes a run's final state. An upsert, because the row may not exist: a skipped run is recorded
 * only once it is known to be skipped, and on a one-connection pool a failed run's `running` row
 * may have been rolled back with the lock's transaction.
 */
export async function finishRun(
  sequelize: Sequelize,
  tx: Transaction,
  run: Omit<ReconcileRunRow, "finished_at"> & { finished_at: Date },
): Promise<ReconcileRunRow> {
  const [row] = await execute<ReconcileRunRow>(
    sequelize,
    `INSERT INTO reconcile_runs (id, organization_id, status, repair, trigger, summary, findings, error, started_at, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, summary = EXCLUDED.summary, findings = EXCLUDED.findings,
       error = EXCLUDED.error, finished_at = EXCLUDED.finished_at
     RETURNING *`,
    [run.id, run.organization_id, run.status, run.repair, run.trigger, JSON.stringify(run.summary), JSON.stringify(run.findings),
      run.error, run.started_at, run.finished_at],
    tx,
  );
  return row!;
}

/** Runs of an organization, newest first; `before` continues below the last id of the previous page. */
export function listRuns(sequelize: Sequelize, organizationId: string, page: { limit: number; before?: string }): Promise<ReconcileRunListRow[]> {
  return select<ReconcileRunListRow>(
    sequelize,
    `SELECT id, organization_id, status, repair, trigger, summary, error, started_at, finished_at
       FROM reconcile_runs
      WHERE organization_id = $1 AND ($2::text IS NULL OR id < $2)
      ORDER BY id DESC LIMIT $3`,
    [organizationId, page.before ?? null, page.limit],
  );
}

/** One run of an organization with its stored findings. */
export async function findRun(sequelize: Sequelize, organizationId: string, id: string): Promise<ReconcileRunRow | undefined> {
  const rows = await select<ReconcileRunRow>(sequelize, `SELECT * FROM reconcile_runs WHERE organization_id = $1 AND id = $2`, [organizationId, id]);
  return rows[0];
}

/** Whether the organization asked for scheduled runs to repair (organizations.settings.reconcile_repair). */
export async function repairSetting(sequelize: Sequelize, organizationId: string): Promise<boolean> {
  const rows = await select<{ repair: boolean | null }>(
    sequelize,
    `SELECT coalesce(settings->'reconcile_repair' = 'true'::jsonb, false) AS repair FROM organizations WHERE id = $1`,
    [organizationId],
  );
  return rows[0]?.repair === true;
}
