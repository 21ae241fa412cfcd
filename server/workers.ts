import type { Config } from "./config.ts";
import type { WorkerFactory } from "./main.ts";

/** The background workers this process runs next to (or instead of) the HTTP server. */
export function workerFactories(_config: Config, enable: { dispatcher: boolean; reconciler: boolean }): WorkerFactory[] {
  const factories: WorkerFactory[] = [];
  void enable;
  return factories;
}
