import type { Metrics } from "../server/metrics.ts";
import { FINDING_KINDS, type FindingKind } from "./types.ts";

type RunMetrics = Pick<Metrics, "reconcilerRuns" | "reconcilerDriftItems" | "reconcilerLastSuccess">;

/*
 * The drift gauge is "findings of the most recent run per kind, summed over organizations", so the
 * latest counts of each organization are kept per gauge (i.e. per metrics registry, never shared
 * between two services in one process).
 */
const latestByOrg = new WeakMap<RunMetrics["reconcilerDriftItems"], Map<string, Partial<Record<FindingKind, number>>>>();

/**
 * Counts a finished run; refreshes the drift gauge with the kinds the run checked (`counts`) and,
 * when it succeeded, the last-success time.
 */
export function recordRunMetrics(
  metrics: RunMetrics,
  run: { organizationId: string; outcome: "succeeded" | "failed" | "skipped"; counts?: Partial<Record<FindingKind, number>>; finishedAt: Date },
): void {
  metrics.reconcilerRuns.inc({ outcome: run.outcome });
  if (run.counts) {
    let latest = latestByOrg.get(metrics.reconcilerDriftItems);
    if (!latest) latestByOrg.set(metrics.reconcilerDriftItems, (latest = new Map()));
    latest.set(run.organizationId, { ...latest.get(run.organizationId), ...run.counts });
    for (const kind of FINDING_KINDS) {
      let sum = 0;
      for (const counts of latest.values()) sum += counts[kind] ?? 0;
      metrics.reconcilerDriftItems.set({ kind }, sum);
    }
  }
  if (run.outcome === "succeeded") metrics.reconcilerLastSuccess.set(run.finishedAt.getTime() / 1000);
}
