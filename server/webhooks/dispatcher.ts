import type { Sequelize } from "sequelize";
import type { Clock } from "../context.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import type { WorkerFactory } from "../worker.ts";
import { newId } from "../ids.ts";
import { nextAttemptAt } from "./backoff.ts";
import { analyzeDeliveries, claimDue, countPending, failDeliveriesOfDeletedEndpoints, type AttemptRecord, type ClaimedDelivery } from "./deliveryStore.ts";
import { WebhookSender } from "./sender.ts";
import { createDeliveryFormats } from "./formats/deliveryFormats.ts";
import { createAttemptRecorder } from "./attemptRecorder.ts";
import { DEFAULT_COOLDOWNS_MS, type CircuitPolicy } from "./circuitBreaker.ts";
import { countUnhealthyEndpoints, parkDeliveriesOfDisabledEndpoints, releaseStrandedParkedDeliveries, releaseProbes } from "./endpointHealthStore.ts";
import { PARKED_UNTIL } from "./outbox.ts";
import { listenForNotifications, type NotificationListener } from "../db/notificationListener.ts";
import { createSequelize } from "../db/database.ts";
import { onDeliveriesCommitted, WEBHOOKS_DUE_CHANNEL } from "./wakeUp.ts";

/** What the dispatcher needs; a test can hand two of these separate pools on one database. */
export type DispatcherDeps = {
  sequelize: Sequelize;
  logger: Logger;
  metrics: Pick<
    Metrics,
    "webhookDeliveries" | "webhookOutboxPending" | "webhookCircuitTransitions" | "webhookEndpointsDisabled" | "webhookEndpointsDisabledNow" | "webhookEndpointsBackingOff"
  >;
  clock: Clock;
  /** publicUrl is the issuer of SCIM security events (default http://localhost). */
  config: { webhooks: Config["webhooks"]; publicUrl?: string };
  /**
   * A postgres:// URL to LISTEN on (channel rollcall_webhooks_due) so a NOTIFY wakes an idle
   * dispatcher at once. Writers announce committed deliveries after their commit (server/webhooks/
   * wakeUp.ts): to a dispatcher of their own process directly, to other processes by this NOTIFY.
   * The dispatcher also polls every `idleMs` when idle, for anything not announced.
   */
  listenUrl?: string | undefined;
};

/** Tuning knobs; the defaults are what `rollcall serve` and `rollcall dispatch` run with. */
export type DispatcherOptions = {
  /** Deliveries claimed per query (and attempts written per record statement). */
  batchSize?: number;
  /** Deliveries sent and not yet recorded, over all endpoints; bounds the dispatcher's memory and sockets. */
  maxInFlight?: number;
  /** Longest sleep between polls when nothing is due (the sleep starts short and doubles while idle). */
  idleMs?: number;
  /** How often the outbox gauge is refreshed (and stranded deliveries ended or parked) while running. */
  housekeepingIntervalMs?: number;
  /** How often open circuits whose cooldown passed get their probe released. */
  probeIntervalMs?: number;
  /** Pause after a batch that was not full, so the next one can fill (see FILL_MS). */
  fillMs?: number;
  /** How long a finished attempt waits for others before they are written together. */
  recordDelayMs?: number;
  /** Jitter source in [0, 1); tests pin it to make the retry schedule exact. */
  random?: () => number;
};

/** One dispatcher; several (in one or many processes) can share a database. */
export type Dispatcher = {
  /** Releases due probes, claims one batch, sends it, records the attempts; returns how many were attempted. */
  runOnce(): Promise<number>;
  /** Ends or parks stranded deliveries and refreshes the gauges; the loop runs it periodically. */
  housekeeping(): Promise<void>;
  /** Starts the poll loop (idempotent). */
  start(): void;
  /** Stops polling and waits for in-flight requests to be recorded. */
  stop(): Promise<void>;
};

export { WEBHOOKS_DUE_CHANNEL };

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
 * this long lets a batch fill up, at the price of at most this much delivery latency. A NOTIFY
 * does not cut this pause short: it only wakes a dispatcher that is idle.
 */
const FILL_MS = 20;

/**
 * Requests at once to an endpoint this dispatcher has nothing in flight to. An endpoint earns its
 * full concurrency with its first answer: an endpoint that hangs from the start ties up this many
 * requests (per dispatcher) until they time out, not ROLLCALL_WEBHOOK_ENDPOINT_CONCURRENCY.
 */
const INITIAL_ENDPOINT_ROOM = 4;
/** An answer slower than this does not earn an endpoint more than INITIAL_ENDPOINT_ROOM requests at once. */
const SLOW_ANSWER_MS = 1_000;
/** Pause after a claim that left an endpoint at its limit: its requests end within milliseconds when it is healthy. */
const THROTTLED_FILL_MS = 5;

/**
 * How long an endpoint keeps the concurrency it earned after its last request ended, and how many
 * such idle endpoints are remembered (the claim is told about each, so this bounds its size).
 */
const EARNED_TTL_MS = 2_000;
const MAX_REMEMBERED_IDLE = 1_000;

/** Per-endpoint bookkeeping of one dispatcher: requests in flight, and how many it may have. */
type EndpointSlots = { inFlight: number; limit: number; idleSince: number };

/*
 * Isolation, in short: every request has its own timeout and is recorded when it ends (not when its
 * batch ends); each endpoint has a concurrency limit in this dispatcher (1 once it has failed), and
 * the claim skips endpoints that are at it, so a hanging consumer holds at most its own slots; the
 * claim fills batches round-robin between organizations; and the circuit breaker parks a failing
 * endpoint's queue so it is probed one request at a time instead of costing a timeout per event.
 */
/** Creates a webhook dispatcher: claim due deliveries → send each → record as they finish, at least once. */
export function createDispatcher(deps: DispatcherDeps, options: DispatcherOptions = {}): Dispatcher {
  const { sequelize, logger, metrics, clock, config } = deps;
  // 250 was tried (a claim has a fixed cost per statement): no faster with 10,000 endpoints, and
  // 40% more dispatcher memory (BENCHMARKS.md, issue 17 second pass).
  const batchSize = options.batchSize ?? 100;
  const maxInFlight = options.maxInFlight ?? 4_000;
  // Short: deliveries nobody announced (server/webhooks/wakeUp.ts) are found by polling.
  const idleMs = options.idleMs ?? 25;
  const housekeepingIntervalMs = options.housekeepingIntervalMs ?? 5_000;
  const probeIntervalMs = options.probeIntervalMs ?? 1_000;
  const random = options.random ?? Math.random;
  const fillMs = options.fillMs ?? FILL_MS;
  const endpointConcurrency = config.webhooks.endpointConcurrency;
  const initialRoom = Math.min(INITIAL_ENDPOINT_ROOM, endpointConcurrency);
  const leaseMs = config.webhooks.timeoutMs + LEASE_MARGIN_MS;
  const policy: CircuitPolicy = {
    failureThreshold: config.webhooks.circuitFailureThreshold,
    cooldownsMs: DEFAULT_COOLDOWNS_MS,
    disableAfterMs: config.webhooks.disableAfterMs,
  };
  const sender = new WebhookSender({ timeoutMs: config.webhooks.timeoutMs, allowPrivateUrls: config.webhooks.allowPrivateUrls, maxSocketsPerOrigin: maxInFlight });
  const formats = createDeliveryFormats({ sequelize, issuer: config.publicUrl ?? "http://localhost" });

  const slots = new Map<string, EndpointSlots>();
  let held = 0;
  const sends = new Set<Promise<void>>();

  let running = false;
  let loop: Promise<void> | undefined;
  let listener: NotificationListener | undefined;
  let unsubscribe: (() => void) | undefined;
  let wakeIdle: (() => void) | undefined;
  let wakeAny: (() => void) | undefined;
  /** Set by news that arrived while the loop was busy, so its next idle pause is skipped. */
  let news = false;
  const notify = () => {
    news = true;
    wakeIdle?.();
  };

  const recorder = createAttemptRecorder({
    sequelize,
    logger,
    clock,
    policy,
    batchSize,
    delayMs: options.recordDelayMs ?? FILL_MS,
    onWritten(attempts, changes) {
      held -= attempts.length;
      for (const change of changes) {
        metrics.webhookCircuitTransitions.inc({ transition: change.transition });
        const entry = { endpointId: change.endpointId, organizationId: change.organizationId, consecutiveFailures: change.health.consecutiveFailures };
        if (change.transition === "disabled") {
          metrics.webhookEndpointsDisabled.inc();
          logger.warn({ ...entry, failingSince: change.health.failingSince }, "webhook endpoint disabled after failing too long");
        } else if (change.transition === "opened") logger.warn({ ...entry, probeAt: change.health.openUntil }, "webhook endpoint backed off (circuit open)");
        else if (change.transition === "closed") logger.info(entry, "webhook endpoint answers again (circuit closed)");
      }
      // A recorded attempt frees a slot and may unblock the next event of its subject.
      notify();
    },
  });

  const deliver = async (claimed: ClaimedDelivery): Promise<AttemptRecord> => {
    const attemptedAt = clock.now();
    // The endpoint's format renders and signs the request and says what the answer means.
    const result = await formats.send(sender, claimed, attemptedAt);
    // A failed probe goes back to waiting with the rest of its endpoint's queue: the endpoint's
    // cooldown, not the delivery's own schedule, decides when it is tried again. A delivery the
    // receiver refused for good (result.permanent) is not tried again at all.
    const retryAt = result.ok || result.permanent ? null : claimed.probe ? PARKED_UNTIL : nextAttemptAt(claimed.attempt_count, clock.now(), random);
    const outcome = result.ok ? "success" : retryAt ? "retry" : "failed";
    metrics.webhookDeliveries.inc({ event: claimed.event_type, outcome });
    if (!result.ok) {
      const entry = { deliveryId: claimed.id, endpointId: claimed.endpoint_id, attempt: claimed.attempt_count, status: result.statusCode, error: result.error, outcome };
      if (outcome === "failed") logger.warn(entry, "webhook delivery failed for good");
      else logger.info(entry, "webhook attempt failed; will retry");
    }
    return { deliveryId: claimed.id, attemptId: newId("wha"), attemptedAt, result, outcome, nextAttemptAt: retryAt, lease: claimed.lease };
  };

  const startSend = (claimed: ClaimedDelivery) => {
    let entry = slots.get(claimed.endpoint_id);
    if (!entry) slots.set(claimed.endpoint_id, (entry = { inFlight: 0, limit: initialRoom, idleSince: 0 }));
    const slot = entry;
    slot.inFlight++;
    if (claimed.probe || claimed.endpoint_failures > 0) slot.limit = 1;
    held++;
    const sent: Promise<void> = deliver(claimed)
      .then((record) => {
        const suspect = slot.limit === 1;
        // A quick answer earns the endpoint its full concurrency here; a slow one keeps it at the
        // initial room (a consumer taking seconds per request must not hold hundreds of them), and
        // a failure leaves it one request at a time.
        slot.limit = !record.result.ok ? 1 : record.result.latencyMs < SLOW_ANSWER_MS ? endpointConcurrency : initialRoom;
        if (--slot.inFlight <= 0) {
          // A healthy endpoint keeps its earned concurrency for a moment; anything else starts over.
          if (slot.limit > initialRoom) slot.idleSince = Date.now();
          else slots.delete(claimed.endpoint_id);
        }
        recorder.add({ claimed, record, affectsHealth: suspect || claimed.probe || claimed.endpoint_failures > 0 });
      })
      .finally(() => sends.delete(sent));
    sends.add(sent);
  };

  /** Forgets idle endpoints whose earned concurrency expired, and the oldest beyond MAX_REMEMBERED_IDLE. */
  const forgetIdle = () => {
    const cutoff = Date.now() - EARNED_TTL_MS;
    let idle = 0;
    // Map order is insertion order, so the newest idle entries are the last ones.
    const entries = [...slots].reverse();
    for (const [id, slot] of entries) {
      if (slot.inFlight > 0) continue;
      if (slot.idleSince < cutoff || ++idle > MAX_REMEMBERED_IDLE) slots.delete(id);
    }
  };

  const claim = (limit: number): Promise<ClaimedDelivery[]> => {
    forgetIdle();
    const now = clock.now();
    const inFlight = new Map([...slots].map(([id, slot]) => [id, { count: slot.inFlight, limit: slot.limit }]));
    const saturated = [...slots].filter(([, slot]) => slot.inFlight >= slot.limit).map(([id]) => id);
    return claimDue(sequelize, { now, leaseUntil: new Date(now.getTime() + leaseMs), limit, inFlight, saturated, initialRoom });
  };

  const releaseDueProbes = async (): Promise<void> => {
    const now = clock.now();
    await releaseProbes(sequelize, now, new Date(now.getTime() + leaseMs));
  };

  let pendingAtLastAnalyze = 0;
  const housekeeping = async (): Promise<void> => {
    await failDeliveriesOfDeletedEndpoints(sequelize, clock.now());
    await parkDeliveriesOfDisabledEndpoints(sequelize);
    await releaseStrandedParkedDeliveries(sequelize, clock.now());
    const unhealthy = await countUnhealthyEndpoints(sequelize);
    metrics.webhookEndpointsBackingOff.set(unhealthy.backingOff);
    metrics.webhookEndpointsDisabledNow.set(unhealthy.disabled);
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

  /**
   * Resolves after `ms`, at once on stop(), and, when `wakeable`, as soon as there is news (a
   * commit of this process or a NOTIFY announcing new deliveries, or a recorded attempt), but not
   * before `earliestMs`: after a claim that found nothing (e.g. every new delivery's endpoint is
   * parked), a stream of commits must not turn into a claim per commit.
   */
  const pause = (ms: number, wakeable: boolean, earliestMs = 0) =>
    new Promise<void>((resolve) => {
      const startedAt = Date.now();
      let timer: NodeJS.Timeout;
      const done = () => {
        clearTimeout(timer);
        wakeAny = undefined;
        wakeIdle = undefined;
        resolve();
      };
      const wake = () => {
        wakeIdle = undefined;
        const wait = startedAt + earliestMs - Date.now();
        if (wait <= 0) done();
        else {
          clearTimeout(timer);
          timer = setTimeout(done, Math.min(wait, ms));
        }
      };
      timer = setTimeout(done, ms);
      wakeAny = done;
      if (!wakeable) return;
      if (news) {
        news = false;
        wake();
      } else wakeIdle = wake;
    });

  const pollLoop = async (): Promise<void> => {
    let housekeepingDueAt = 0;
    let probesDueAt = 0;
    let idleDelay = MIN_IDLE_MS;
    while (running) {
      try {
        if (Date.now() >= housekeepingDueAt) {
          housekeepingDueAt = Date.now() + housekeepingIntervalMs;
          await housekeeping();
        }
        if (Date.now() >= probesDueAt) {
          probesDueAt = Date.now() + probeIntervalMs;
          await releaseDueProbes();
        }
        const room = Math.min(batchSize, maxInFlight - held);
        if (room <= 0) {
          await pause(idleMs, true);
          continue;
        }
        news = false;
        const batch = await claim(room);
        if (batch.length > 0) {
          for (const claimed of batch) startSend(claimed);
          idleDelay = MIN_IDLE_MS;
          if (batch.length < room) {
            // Not full: let the next batch fill, unless an endpoint was held back by its limit and
            // has more waiting (a busy healthy consumer), which is then served at its own pace.
            const throttled = batch.some((c) => {
              const slot = slots.get(c.endpoint_id);
              return slot !== undefined && slot.inFlight >= slot.limit && slot.limit > 1;
            });
            await pause(throttled ? Math.min(THROTTLED_FILL_MS, fillMs) : fillMs, false);
          }
          continue;
        }
        await pause(idleDelay, true, MIN_IDLE_MS);
        idleDelay = Math.min(idleDelay * 2, idleMs);
      } catch (error) {
        logger.error({ err: error }, "webhook dispatcher poll failed");
        await pause(ERROR_BACKOFF_MS, false);
      }
    }
  };

  const drainSends = async (): Promise<void> => {
    while (sends.size > 0) await Promise.all([...sends]);
    await recorder.flush();
  };

  return {
    async runOnce() {
      await releaseDueProbes();
      const batch = await claim(Math.min(batchSize, maxInFlight - held));
      for (const claimed of batch) startSend(claimed);
      await drainSends();
      return batch.length;
    },
    housekeeping,
    start() {
      if (running) return;
      running = true;
      if (deps.listenUrl) {
        listener = listenForNotifications(
          deps.listenUrl,
          WEBHOOKS_DUE_CHANNEL,
          {
            onListening: notify,
            onMessage: notify,
            // Polling goes on either way; nothing to switch when the connection drops.
            onLost: () => {},
          },
          logger,
        );
      }
      // Commits of this process's writers wake it directly (no NOTIFY needed; server/webhooks/wakeUp.ts).
      unsubscribe = onDeliveriesCommitted(sequelize, notify);
      loop = pollLoop();
    },
    async stop() {
      running = false;
      unsubscribe?.();
      unsubscribe = undefined;
      wakeAny?.();
      await loop;
      loop = undefined;
      await listener?.close();
      listener = undefined;
      await drainSends();
      sender.close();
    },
  };
}

/** Connections of the dispatcher's own pool (claims, records and health updates run one or two at a time). */
const DISPATCHER_POOL_SIZE = 3;

/**
 * The dispatcher as a background worker of the Rollcall process (`rollcall serve` / `rollcall dispatch`).
 * On PostgreSQL it has a small pool of its own, so a burst of SCIM writes queueing for the server's
 * connections does not hold up deliveries; the embedded database is one connection, shared.
 */
export const dispatcherWorker: WorkerFactory = (deps) => {
  const logger = deps.logger.child({ worker: "webhook-dispatcher" });
  const ownPool = deps.db.embedded ? undefined : createSequelize(deps.db.url, deps.config, logger, DISPATCHER_POOL_SIZE);
  const dispatcher = createDispatcher({
    sequelize: ownPool ?? deps.db.sequelize,
    logger,
    metrics: deps.metrics,
    clock: deps.clock,
    config: deps.config,
    // The embedded database takes one connection, which a LISTEN cannot share: there it polls.
    listenUrl: deps.db.embedded ? undefined : deps.db.url,
  });
  return {
    name: "webhook-dispatcher",
    start: () => dispatcher.start(),
    async stop() {
      await dispatcher.stop();
      await ownPool?.close();
    },
  };
};
