import type { Config } from "./config.ts";
import type { WorkerFactory } from "./worker.ts";
import { dispatcherWorker } from "./webhooks/dispatcher.ts";
import { reconcilerWorker } from "../reconciler/scheduler.ts";
import { retentionWorker } from "./retention/retentionWorker.ts";

/** The background workers this process runs next to (or instead of) the HTTP server. */
export function workerFactories(config: Config, enable: { dispatcher: boolean; reconciler: boolean }): WorkerFactory[] {
  const factories: WorkerFactory[] = [];
  if (enable.dispatcher) factories.push(dispatcherWorker);
  if (enable.reconciler) factories.push(reconcilerWorker({ cron: config.reconcileCron }), retentionWorker(config.retention));
  return factories;
}
