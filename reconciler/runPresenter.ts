import type { ReconcileRunListRow, ReconcileRunRow } from "./runStore.ts";

const ms = (date: Date | null) => (date ? date.getTime() : null);

/** A reconcile run as the admin API and the drift webhook show it (findings only when loaded). */
export function presentRun(row: ReconcileRunListRow | ReconcileRunRow) {
  return {
    id: row.id,
    object: "reconcile_run" as const,
    organization_id: row.organization_id,
    status: row.status,
    repair: row.repair,
    trigger: row.trigger,
    summary: row.summary,
    error: row.error,
    started_at: ms(row.started_at),
    finished_at: ms(row.finished_at),
    ...("findings" in row ? { findings: row.findings } : {}),
  };
}
