import type { Sequelize } from "sequelize";
import type { Clock } from "../context.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import type { WorkerFactory } from "../worker.ts";
import { newId } from "../ids.ts";
import { nextAttemptAt } from "./backoff.ts";
import { analyzeDeliveries, claimDue, countPending, failDeliveriesOfDeletedEndpoints, recordAttempts, type AttemptRecord, type ClaimedDelivery } from "./deliveryStore.ts";
import { WebhookSender } from "./sender.ts";

/** What the dispatcher needs; a test can hand two of these separate pools on one database. */
export type DispatcherDeps = {
  sequelize: Sequelize;
  logger: Logger;
  metrics: Pick<Metrics, "webhookDeliveries" | "webhookOutboxPending">;
  clock: Clock;
  config: { webhooks: Config["webhooks"] };
};

/** Tuning knobs; the defaults are what `rollcall serve` and `rollcall dispatch` run with. */
export type DispatcherOptions = {
  /** Deliveries claimed per query. */
  batchSize?: number;
  /** Batches in flight at once, so one slow endpoint does not stall everyone else's deliveries. */
  maxBatches?: number;
  /** Longest sleep between polls when nothing is due (the sleep starts short and doubles while idle). */
  idleMs?: number;
  /** How often the outbox gauge is refreshed (and stranded deliveries ended) while running. */
  housekeepingIntervalMs?: number;
  /** Pause after a batch that was not full, so the next one can fill (see FILL_MS). */
  fillMs?: number;
  /** Jitter source in [0, 1); tests pin it to make the retry schedule exact. */
  random?: () => number;
};

/** One dispatcher; several (in one or many processes) can share a database. */
export type Dispatcher = {
  /** Claims one batch of due deliveries, sends them, records the attempts; returns how many were attempted. */
  runOnce(): Promise<number>;
  /** Ends deliveries stranded on deleted endpoints and refreshes the outbox gauge; the loop runs it periodically. */
  housekeeping(): Promise<void>;
  /** Starts the poll loop (idempotent). */
  start(): void;
  /** Stops polling and waits for in-flight batches to be recorded. */
  stop(): Promise<void>;
};

/** Margin on top of the request timeout before a claim is considered abandoned (crash mid-send). */
const LEASE_MARGIN_MS = 60_000;
const ERROR_BACKOFF_MS = 2_000;
const ANALYZE_MIN_GROWTH = 1_000;
/** First sleep after an empty poll: right after work, new events are likely, so look again soon. */
const MIN_IDLE_MS = 10;
/**
 * Pause after a batch that was not full before claiming again. Every claim and every record is a
 * commit; claiming as soon as anything is due made batches of two or three events under a steady
 * stream of creates, and those commits cost the SCIM server 30% of its create throughput. Waiting
 * this long lets a batch fill up, at the price of at most this much delivery latency.
 */
const FILL_MS = 20;

/** Creates a webhook dispatcher: claim due deliveries → commit → send → record, at least once. */
export function createDispatcher(deps: DispatcherDeps, options: DispatcherOptions = {}): Dispatcher {
  const { sequelize, logger, metrics, clock, config } = deps;
  const batchSize = options.batchSize ?? 100;
  const maxBatches = options.maxBatches ?? 4;
  const idleMs = options.idleMs ?? 250;
  const housekeepingIntervalMs = options.housekeepingIntervalMs ?? 5_000;
  const random = options.random ?? Math.random;
  const fillMs = options.fillMs ?? FILL_MS;
  const leaseMs = config.webhooks.timeoutMs + LEASE_MARGIN_MS;
  const sender = new WebhookSender({ timeoutMs: config.webhooks.timeoutMs, allowPrivateUrls: config.webhooks.allowPrivateUrls });

  const deliver = async (claimed: ClaimedDelivery): Promise<AttemptRecord> => {
    const attemptedAt = clock.now();
    const result = await sender.send({ url: claimed.url, secret: claimed.secret, msgId: claimed.event_id, body: claimed.body, timestamp: attemptedAt });
    const retryAt = result.ok ? null : nextAttemptAt(claimed.attempt_count, clock.now(), random);
    const outcome = result.ok ? "success" : retryAt ? "retry" : "failed";
    metrics.webhookDeliveries.inc({ event: claimed.event_type, outcome });
    if (!result.ok) {
      const entry = { deliveryId: claimed.id, attempt: claimed.attempt_count, status: result.statusCode, error: result.error, outcome };
      if (outcome === "failed") logger.warn(entry, "webhook delivery failed for good");
      else logger.info(entry, "webhook attempt failed; will retry");
    }
    return { deliveryId: claimed.id, attemptId: newId("wha"), attemptedAt, result, outcome, nextAttemptAt: retryAt, lease: claimed.lease };
  };

  const processBatch = async (batch: ClaimedDelivery[]): Promise<void> => {
    // A batch holds at most one delivery per (endpoint, subject), so all of it can go out at once.
    const records = await Promise.all(batch.map(deliver));
    await recordAttempts(sequelize, records);
  };

  const claim = (): Promise<ClaimedDelivery[]> => {
    const now = clock.now();
    return claimDue(sequelize, now, new Date(now.getTime() + leaseMs), batchSize);
  };

  let pendingAtLastAnalyze = 0;
  const housekeeping = async (): Promise<void> => {
    await failDeliveriesOfDeletedEndpoints(sequelize, clock.now());
    const pending = await countPending(sequelize);
    metrics.webhookOutboxPending.set(pending);
    // A backlog that more than doubled since the last ANALYZE gets fresh statistics (see analyzeDeliveries);
    // once it drains, growth is measured from the smaller size.
    if (pending < pendingAtLastAnalyze / 2) pendingAtLastAnalyze = pending;
    if (pending - pendingAtLastAnalyze > Math.max(ANALYZE_MIN_GROWTH, pendingAtLastAnalyze)) {
      pendingAtLastAnalyze = pending;
      await analyzeDeliveries(sequelize).catch((error: unknown) => logger.warn({ err: error }, "could not analyze webhook_deliveries"));
    }
  };

  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const inFlight = new Set<Promise<void>>();

  /** Resolves after `ms`, or at once when stop() is called. */
  const pause = (ms: number, alsoOn: Promise<unknown>[] = []) =>
    Promise.race([
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
      ...alsoOn,
    ]);

  const track = (batch: ClaimedDelivery[]) => {
    const done: Promise<void> = processBatch(batch)
      .catch((error: unknown) => {
        // The sends happened but the log write failed: the leases expire and the batch is sent again.
        logger.error({ err: error, deliveries: batch.length }, "recording webhook attempts failed");
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  const pollLoop = async (): Promise<void> => {
    let housekeepingDueAt = 0;
    let idleDelay = MIN_IDLE_MS;
    while (running) {
      try {
        if (Date.now() >= housekeepingDueAt) {
          housekeepingDueAt = Date.now() + housekeepingIntervalMs;
          await housekeeping();
        }
        if (inFlight.size >= maxBatches) {
          await Promise.race(inFlight);
          continue;
        }
        const batch = await claim();
        if (batch.length > 0) {
          track(batch);
          idleDelay = MIN_IDLE_MS;
          if (batch.length < batchSize) await pause(fillMs);
          continue;
        }
        await pause(idleDelay, [...inFlight]);
        idleDelay = Math.min(idleDelay * 2, idleMs);
      } catch (error) {
        logger.error({ err: error }, "webhook dispatcher poll failed");
        await pause(ERROR_BACKOFF_MS);
      }
    }
    await Promise.all(inFlight);
  };

  return {
    async runOnce() {
      const batch = await claim();
      if (batch.length > 0) await processBatch(batch);
      return batch.length;
    },
    housekeeping,
    start() {
      if (running) return;
      running = true;
      loop = pollLoop();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      loop = undefined;
      sender.close();
    },
  };
}

/** The dispatcher as a background worker of the Rollcall process (`rollcall serve` / `rollcall dispatch`). */
export const dispatcherWorker: WorkerFactory = (deps) => {
  const dispatcher = createDispatcher({
    sequelize: deps.db.sequelize,
    logger: deps.logger.child({ worker: "webhook-dispatcher" }),
    metrics: deps.metrics,
    clock: deps.clock,
    config: deps.config,
  });
  return { name: "webhook-dispatcher", start: () => dispatcher.start(), stop: () => dispatcher.stop() };
};
