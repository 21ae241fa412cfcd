import cron from "node-cron";
import type { WorkerFactory } from "../server/worker.ts";
import { organizationIdOf, organizationIdsAfter } from "../server/models/organizationQueries.ts";
import { reconcileOrganization, type ReconcileDeps, type ReconcileResult } from "./job.ts";
import { settleMappingApplies } from "./mappingApply.ts";
import { repairSetting, type RunTrigger } from "./runStore.ts";
import { reconcileDepsFrom } from "./deps.ts";
import type { ReconcileSource } from "./job.ts";
import { dueDirectoryIds } from "./directory/directoryStore.ts";

/** Starts calling `tick` on a cron expression; node-cron in production, a fake in tests. */
export type ScheduleFn = (expression: string, tick: () => Promise<void>) => { stop(): void | Promise<void> };

/** node-cron, never overlapping itself: a pass still running when the next one is due skips that tick. */
export const cronSchedule: ScheduleFn = (expression, tick) => cron.schedule(expression, tick, { name: "rollcall-reconciler", noOverlap: true });

/** Which organizations a pass reconciles, and how. */
export type PassOptions = {
  /** Only this organization (CLI `--org`); all organizations otherwise. */
  organizationId?: string;
  /** Repair every organization (CLI `--repair`); otherwise each organization's reconcile_repair setting decides. */
  repair?: boolean;
  trigger: RunTrigger;
  signal?: AbortSignal;
  /** What to compare (CLI `--source`); by default the schedule pulls the directories that are due. */
  source?: ReconcileSource;
  /** Repair past the blast-radius guard (CLI `--force`). */
  force?: boolean;
};

const ORG_PAGE = 500;

/** Organization ids in id order, a page at a time (there can be many). */
async function* organizationIds(deps: ReconcileDeps, only: string | undefined): AsyncGenerator<string> {
  if (only !== undefined) {
    const id = await organizationIdOf(deps.sequelize, only);
    if (!id) throw new Error(`organization ${only} not found`);
    yield id;
    return;
  }
  let after = "";
  for (;;) {
    const ids = await organizationIdsAfter(deps.sequelize, after, ORG_PAGE);
    for (const id of ids) yield id;
    if (ids.length < ORG_PAGE) return;
    after = ids[ids.length - 1]!;
  }
}

/** Reconciles organizations one after another (each under its own lock); returns every run. */
export async function reconcileOrganizations(deps: ReconcileDeps, options: PassOptions): Promise<ReconcileResult[]> {
  const results: ReconcileResult[] = [];
  for await (const organizationId of organizationIds(deps, options.organizationId)) {
    if (options.signal?.aborted) break;
    const repair = options.repair === true || (await repairSetting(deps.sequelize, organizationId));
    // Scheduled passes pull each directory on its own cadence (default hourly, incremental between
    // daily full passes); a pass run by hand pulls every directory in full.
    const scheduled = options.trigger === "schedule";
    const due = scheduled && options.source === undefined ? await dueDirectoryIds(deps.sequelize, organizationId, deps.clock.now()) : undefined;
    results.push(await reconcileOrganization(deps, {
      organizationId, repair, trigger: options.trigger, signal: options.signal, force: options.force,
      source: options.source ?? (due === undefined ? undefined : due.length > 0 ? "all" : "local"),
      directoryIds: due,
      directoryMode: scheduled ? "auto" : "full",
    }));
  }
  return results;
}

export type ReconcileScheduler = { start(): void; stop(): Promise<void> };

/** A schedule of reconcile passes; stop() waits for the pass in progress to end its current organization. */
export function createReconcileScheduler(
  deps: ReconcileDeps,
  options: { cron: string; schedule?: ScheduleFn; organizationId?: string; repair?: boolean; source?: ReconcileSource },
): ReconcileScheduler {
  if (!cron.validate(options.cron)) throw new Error(`invalid reconcile cron expression "${options.cron}" (ROLLCALL_RECONCILE_CRON)`);
  const schedule = options.schedule ?? cronSchedule;
  const logger = deps.logger.child({ worker: "reconciler" });
  const abort = new AbortController();
  let task: { stop(): void | Promise<void> } | undefined;
  let current: Promise<unknown> | undefined;

  const tick = async (): Promise<void> => {
    if (current || abort.signal.aborted) return;
    const pass = reconcileOrganizations({ ...deps, logger }, {
      organizationId: options.organizationId, repair: options.repair, trigger: "schedule", signal: abort.signal, source: options.source,
    });
    current = pass;
    try {
      const results = await pass;
      const by = (status: string) => results.filter((r) => r.run.status === status).length;
      logger.info({ organizations: results.length, succeeded: by("succeeded"), failed: by("failed"), skipped: by("skipped") }, "reconcile pass finished");
    } catch (error) {
      logger.error({ err: error }, "reconcile pass failed");
    } finally {
      current = undefined;
    }
  };

  return {
    start() {
      task ??= schedule(options.cron, tick);
    },
    async stop() {
      abort.abort();
      await task?.stop();
      task = undefined;
      await current;
    },
  };
}

/** The reconciler schedule as a worker of the Rollcall process (`rollcall serve` / `rollcall reconcile`). */
export function reconcilerWorker(options: { cron: string; organizationId?: string; repair?: boolean; schedule?: ScheduleFn; source?: ReconcileSource }): WorkerFactory {
  return (deps) => {
    const reconcileDeps: ReconcileDeps = reconcileDepsFrom(deps);
    const scheduler = createReconcileScheduler(reconcileDeps, options);
    return {
      name: "reconciler",
      start: () => scheduler.start(),
      async stop() {
        await scheduler.stop();
        await settleMappingApplies(deps.db.sequelize);
      },
    };
  };
}
