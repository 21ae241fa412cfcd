import type { Sequelize } from "sequelize";
import type { Logger } from "../logger.ts";
import type { CircuitPolicy } from "./circuitBreaker.ts";
import { recordAttempts, type AttemptRecord, type ClaimedDelivery } from "./deliveryStore.ts";
import { applyAttemptsToEndpoints, type EndpointAttempts, type HealthChange } from "./endpointHealth.ts";

/** A finished send: what was claimed and what happened. */
export type FinishedAttempt = {
  claimed: ClaimedDelivery;
  record: AttemptRecord;
  /** The attempt's outcome matters to its endpoint's breaker even if it succeeded (a streak to end). */
  affectsHealth: boolean;
};

/** Collects finished attempts and writes them in batches; see createAttemptRecorder. */
export type AttemptRecorder = {
  add(attempt: FinishedAttempt): void;
  /** Writes everything collected so far and waits for every write started before. */
  flush(): Promise<void>;
};

export type AttemptRecorderDeps = {
  sequelize: Sequelize;
  logger: Logger;
  clock: { now(): Date };
  policy: CircuitPolicy;
  /** Attempts per write; a full batch is written at once. */
  batchSize: number;
  /** How long the first attempt of a batch waits for company. */
  delayMs: number;
  /** Called when attempts are written (or their write failed), with the circuits they changed; a write with breaker work reports twice. */
  onWritten(attempts: FinishedAttempt[], changes: HealthChange[]): void;
};

/*
 * Every delivery is recorded as soon as its own request ends, so a batch never waits for its slowest
 * request. Writing each one alone would be a commit per delivery, so attempts are gathered for a
 * moment (or until a batch is full) and written by one statement; writes run one after another.
 * If a write fails, the sends happened but are not logged: their leases expire and they are sent
 * again (at least once).
 */
export function createAttemptRecorder(deps: AttemptRecorderDeps): AttemptRecorder {
  let waiting: FinishedAttempt[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  const write = async (): Promise<void> => {
    const attempts = waiting;
    waiting = [];
    if (attempts.length === 0) return;
    const groups = groupByEndpoint(attempts);
    const withHealth = new Set(groups.map((g) => g.endpointId));
    const [plain, forBreaker] = partition(attempts, (a) => !withHealth.has(a.claimed.endpoint_id));
    try {
      await recordAttempts(
        deps.sequelize,
        attempts.map((a) => a.record),
      );
    } catch (error) {
      deps.logger.error({ err: error, deliveries: attempts.length }, "recording webhook attempts failed");
      deps.onWritten(attempts, []);
      return;
    }
    // Healthy endpoints' slots are free as soon as their attempts are logged; a failing endpoint's
    // only once its breaker has seen them, so no claim runs on its stale health.
    deps.onWritten(plain, []);
    let changes: HealthChange[] = [];
    try {
      changes = await applyAttemptsToEndpoints(deps.sequelize, groups, deps.clock.now(), deps.policy);
    } catch (error) {
      deps.logger.error({ err: error, endpoints: groups.length }, "updating webhook endpoint health failed");
    } finally {
      deps.onWritten(forBreaker, changes);
    }
  };

  const schedule = (delayMs: number) => {
    if (timer && delayMs > 0) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      chain = chain.then(write);
    }, delayMs);
  };

  return {
    add(attempt) {
      waiting.push(attempt);
      schedule(waiting.length >= deps.batchSize ? 0 : deps.delayMs);
    },
    async flush() {
      clearTimeout(timer);
      timer = undefined;
      chain = chain.then(write);
      await chain;
    },
  };
}

/** The attempts each endpoint's breaker needs to see, oldest first. */
function groupByEndpoint(attempts: FinishedAttempt[]): EndpointAttempts[] {
  const byEndpoint = new Map<string, EndpointAttempts>();
  for (const { claimed, record, affectsHealth } of attempts) {
    if (!affectsHealth && record.result.ok) continue;
    let group = byEndpoint.get(claimed.endpoint_id);
    if (!group) byEndpoint.set(claimed.endpoint_id, (group = { endpointId: claimed.endpoint_id, attempts: [] }));
    group.attempts.push({ ok: record.result.ok, at: record.attemptedAt, probe: claimed.probe });
  }
  return [...byEndpoint.values()];
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
