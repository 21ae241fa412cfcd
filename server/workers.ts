import type { Config } from "./config.ts";
import type { WorkerFactory } from "./main.ts";
import { dispatcherWorker } from "./webhooks/dispatcher.ts";

/** The background workers this process runs next to (or instead of) the HTTP server. */
export function workerFactories(_config: Config, enable: { dispatcher: boolean; reconciler: boolean }): WorkerFactory[] {
  const factories: WorkerFactory[] = [];
  if (enable.dispatcher) factories.push(dispatcherWorker);
  return factories;
}
