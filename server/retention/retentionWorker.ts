import cron from "node-cron";
import type { Config } from "../config.ts";
import type { WorkerFactory } from "../worker.ts";
import { runRetention } from "./retentionJob.ts";

/**
 * The retention job on ROLLCALL_RETENTION_CRON, as a worker of the process that runs the
 * reconciler (`rollcall reconcile`, or `serve` with the reconciler enabled): housekeeping belongs
 * with the other scheduled work, not with every SCIM replica.
 */
export function retentionWorker(settings: Config["retention"]): WorkerFactory {
  if (!cron.validate(settings.cron)) throw new Error(`invalid retention cron expression "${settings.cron}" (ROLLCALL_RETENTION_CRON)`);
  return (deps) => {
    const logger = deps.logger.child({ worker: "retention" });
    const abort = new AbortController();
    let task: ReturnType<typeof cron.schedule> | undefined;
    let current: Promise<unknown> | undefined;
    const tick = async () => {
      if (current) return;
      current = runRetention({ sequelize: deps.db.sequelize, logger, metrics: deps.metrics, clock: deps.clock }, settings, { signal: abort.signal })
        .then((deleted) => logger.info({ deleted }, "retention pass finished"))
        .catch((error: unknown) => logger.error({ err: error }, "retention pass failed"))
        .finally(() => {
          current = undefined;
        });
      await current;
    };
    return {
      name: "retention",
      start() {
        task ??= cron.schedule(settings.cron, tick, { name: "rollcall-retention", noOverlap: true });
      },
      async stop() {
        abort.abort();
        await task?.stop();
        task = undefined;
        await current;
      },
    };
  };
}
