import { parseArgs } from "node:util";
import type { Config } from "../server/config.ts";
import type { Logger } from "../server/logger.ts";
import { startService } from "../server/main.ts";
import type { ReconcileResult, ReconcileSource } from "./job.ts";
import { reconcileDepsFrom } from "./deps.ts";
import { reconcileOrganizations } from "./scheduler.ts";
import { FINDING_KINDS } from "./types.ts";

/** `rollcall reconcile` flags. */
export type ReconcileArgs = { once: boolean; organizationId?: string; repair: boolean; source?: ReconcileSource; force: boolean };

const SOURCES: readonly ReconcileSource[] = ["local", "idp", "all"];

/** Parses `[--once] [--org ID] [--repair] [--source local|idp|all] [--force]`; throws with the offending flag on anything else. */
export function parseReconcileArgs(args: string[]): ReconcileArgs {
  const { values } = parseArgs({
    args,
    options: {
      once: { type: "boolean", default: false }, org: { type: "string" }, repair: { type: "boolean", default: false },
      source: { type: "string" }, force: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.source !== undefined && !SOURCES.includes(values.source as ReconcileSource)) {
    throw new Error(`--source must be one of ${SOURCES.join(", ")} (got "${values.source}")`);
  }
  return { once: values.once === true, organizationId: values.org, repair: values.repair === true, source: values.source as ReconcileSource | undefined, force: values.force === true };
}

/** One line per organization, then totals: what `rollcall reconcile --once` prints. */
export function formatSummary(results: ReconcileResult[]): string[] {
  const lines = results.map(({ run }) => {
    const summary = run.summary as Partial<{ counts: Record<string, number>; total: number; repaired: number; repair_failed: number }>;
    const counts = summary.counts ? FINDING_KINDS.map((k) => `${k}=${summary.counts![k] ?? 0}`).join(" ") : "";
    const repaired = run.repair && summary.total !== undefined ? ` repaired=${summary.repaired ?? 0} repair_failed=${summary.repair_failed ?? 0}` : "";
    const error = run.error ? ` (${run.error})` : "";
    return `${run.organization_id} ${run.status} ${run.id}${summary.total !== undefined ? ` findings=${summary.total}` : ""}${counts ? ` ${counts}` : ""}${repaired}${error}`;
  });
  const by = (status: string) => results.filter((r) => r.run.status === status).length;
  lines.push(`reconciled ${results.length} organization(s): ${by("succeeded")} succeeded, ${by("failed")} failed, ${by("skipped")} skipped`);
  return lines;
}

/**
 * `rollcall reconcile --once`: one pass over every organization (or one), printed, then exit.
 * Returns the exit code: 1 when a run failed, else 0 (a skipped organization is not a failure:
 * another process is reconciling it).
 */
export async function reconcileOnce(config: Config, logger: Logger, args: ReconcileArgs, print: (line: string) => void): Promise<number> {
  const service = await startService({ config, logger, serve: false, workers: [], print });
  try {
    const { deps } = service;
    const results = await reconcileOrganizations(reconcileDepsFrom(deps), {
      organizationId: args.organizationId, repair: args.repair, trigger: "cli", source: args.source, force: args.force,
    });
    for (const line of formatSummary(results)) print(line);
    return results.some((r) => r.run.status === "failed") ? 1 : 0;
  } finally {
    await service.stop();
  }
}
