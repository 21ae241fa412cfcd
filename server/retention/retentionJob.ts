import type { Sequelize } from "sequelize";
import type { Clock } from "../context.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import { deleteDeliveryAttemptsBefore, deleteEventsBefore, deleteRequestLogBefore } from "../models/retentionQueries.ts";

export type RetentionDeps = {
  sequelize: Sequelize;
  logger: Logger;
  metrics: Pick<Metrics, "retentionDeletedRows">;
  clock: Clock;
};

/** Days each kind of row is kept; 0 keeps it forever. */
export type RetentionSettings = Pick<Config["retention"], "requestLogDays" | "eventDays" | "deliveryAttemptDays">;

/** Rows one pass deleted, per table. */
export type RetentionResult = { scim_request_log: number; events: number; webhook_attempts: number };

const DAY_MS = 86_400_000;
const BATCH = 5_000;

type Deleter = (sequelize: Sequelize, cutoff: Date, limit: number) => Promise<number>;

/** Deletes in batches until a batch comes back short (or the pass is told to stop). */
async function drain(deps: RetentionDeps, deleter: Deleter, cutoff: Date, batchSize: number, signal?: AbortSignal): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleter(deps.sequelize, cutoff, batchSize);
    total += n;
    if (n < batchSize || signal?.aborted) return total;
  }
}

/**
 * One retention pass: request-log rows, events (with their deliveries) and delivery attempts older
 * than their configured number of days before `clock.now()`. Safe to run in several processes at
 * once: each batch deletes rows by id, and a row another pass already took is simply not there.
 */
export async function runRetention(
  deps: RetentionDeps,
  settings: RetentionSettings,
  options: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<RetentionResult> {
  const now = deps.clock.now().getTime();
  const batchSize = options.batchSize ?? BATCH;
  const cutoff = (days: number) => new Date(now - days * DAY_MS);
  const result: RetentionResult = { scim_request_log: 0, events: 0, webhook_attempts: 0 };
  // Attempts first: deleting events removes their attempts too, and counting them twice would mislead.
  if (settings.deliveryAttemptDays > 0) result.webhook_attempts = await drain(deps, deleteDeliveryAttemptsBefore, cutoff(settings.deliveryAttemptDays), batchSize, options.signal);
  if (settings.eventDays > 0) result.events = await drain(deps, deleteEventsBefore, cutoff(settings.eventDays), batchSize, options.signal);
  if (settings.requestLogDays > 0) result.scim_request_log = await drain(deps, deleteRequestLogBefore, cutoff(settings.requestLogDays), batchSize, options.signal);
  for (const [table, n] of Object.entries(result)) if (n > 0) deps.metrics.retentionDeletedRows.inc({ table }, n);
  return result;
}
