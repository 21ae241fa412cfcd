import type { AppDeps } from "./deps.ts";

/** A background worker run in the same process (webhook dispatcher, reconciler schedule). */
export type Worker = { name: string; start(): void | Promise<void>; stop(): Promise<void> };

/** Builds a worker from the process's dependencies; the boot file (main.ts) starts and stops it. */
export type WorkerFactory = (deps: AppDeps) => Worker;
