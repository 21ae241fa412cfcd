import { FINDING_KINDS, type Finding, type FindingKind, type RepairOutcome } from "./types.ts";

/** What a run stores in reconcile_runs.summary: true counts, even when findings were capped. */
export type RunSummary = {
  counts: Record<FindingKind, number>;
  total: number;
  repairable: number;
  repaired: number;
  unchanged: number;
  repair_failed: number;
  users_scanned: number;
  findings_stored: number;
  findings_truncated: boolean;
  kinds: FindingKind[];
  stale_team_days: number;
  /** What the run compared (local, idp, all) and, when it pulled directories, what each pull saw. */
  source?: "local" | "idp" | "all";
  directories?: Array<{
    directoryId: string; provider: string; mode: "full" | "incremental"; users_seen: number; groups_seen: number;
    timings_ms: Record<string, number>; resynced?: true; repair_skipped?: string;
  }>;
};

/** Keeps at most this many findings of one kind, so a flood of one kind cannot hide the others. */
export const FINDINGS_PER_KIND_CAP = 200;

/**
 * Counts every finding of a run and keeps a capped sample to store; memory stays bounded however
 * many findings an organization has.
 */
export class FindingLog {
  readonly counts: Record<FindingKind, number> = Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
  readonly kept: Finding[] = [];
  repairable = 0;
  usersScanned = 0;
  private readonly outcomes: Record<RepairOutcome, number> = { repaired: 0, unchanged: 0, failed: 0 };

  constructor(private readonly perKindCap = FINDINGS_PER_KIND_CAP) {}

  /** Counts a finding; keeps it if its kind is still under the cap. Returns whether it was kept. */
  add(finding: Finding): boolean {
    this.counts[finding.kind] += 1;
    if (finding.action !== null) this.repairable += 1;
    if (this.counts[finding.kind] > this.perKindCap) return false;
    this.kept.push(finding);
    return true;
  }

  /** Records a repair attempt on a finding (annotating it when it is one of the kept ones). */
  recordRepair(finding: Finding, outcome: RepairOutcome, error?: string): void {
    this.outcomes[outcome] += 1;
    finding.repair = error === undefined ? { outcome } : { outcome, error };
  }

  get total(): number {
    return FINDING_KINDS.reduce((sum, k) => sum + this.counts[k], 0);
  }

  get failedRepairs(): number {
    return this.outcomes.failed;
  }

  /** The summary stored with the run and sent in the drift webhook. */
  summary(options: { kinds: FindingKind[]; staleTeamDays: number }): RunSummary {
    return {
      counts: { ...this.counts },
      total: this.total,
      repairable: this.repairable,
      repaired: this.outcomes.repaired,
      unchanged: this.outcomes.unchanged,
      repair_failed: this.outcomes.failed,
      users_scanned: this.usersScanned,
      findings_stored: this.kept.length,
      findings_truncated: this.kept.length < this.total,
      kinds: options.kinds,
      stale_team_days: options.staleTeamDays,
    };
  }
}
