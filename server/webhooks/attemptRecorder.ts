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
  /** Called when attempts are written (or their write failed), with the circuits they changed (each lane reports its own attempts). */
  onWritten(attempts: FinishedAttempt[], changes: HealthChange[]): void;
};

/*
 * Every delivery is recorded as soon as its own request ends, so a batch never waits for its slowest
 * request. Writing each one alone would be a commit per delivery, so attempts are gathered for a
 * moment (or until a batch is full) and written by one statement.
 * Two lanes, each writing one batch after another:
 * - healthy endpoints' attempts: logged, and their slots freed, at once;
 * - attempts the circuit breaker must see (a failure, or a success that ends a streak): logged,
 *   then applied to their endpoints' health, which may park a whole endpoint's queue.
 * Parking a broken endpoint's queue locks its pending deliveries and can take a second next to
 * another dispatcher doing the same; in one lane, every healthy batch behind it waited too, holding
 * its endpoints' slots (10,000 endpoints with 10% broken: healthy p50 0.2–1 s instead of 20 ms,
 * BENCHMARKS.md issue 17). The breaker lane keeps its batches in order, so an endpoint's health
 * sees its attempts in the order they ended.
 * If a write fails, the sends happened but are not logged: their leases expire and they are sent
 * again (at least once).
 */
export function createAttemptRecorder(deps: AttemptRecorderDeps): AttemptRecorder {
  let waiting: FinishedAttempt[] = [];
  let timer: NodeJS.Timeout | undefined;
  let healthyLane: Promise<void> = Promise.resolve();
  let breakerLane: Promise<void> = Promise.resolve();

  /** Logs attempts; false (after reporting them written with no changes) if the write failed. */
  const log = async (attempts: FinishedAttempt[]): Promise<boolean> => {
    try {
      await recordAttempts(
        deps.sequelize,
        attempts.map((a) => a.record),
      );
      return true;
    } catch (error) {
      deps.logger.error({ err: error, deliveries: attempts.length }, "recording webhook attempts failed");
      deps.onWritten(attempts, []);
      return false;
    }
  };

  const writeHealthy = async (attempts: FinishedAttempt[]): Promise<void> => {
    if (await log(attempts)) deps.onWritten(attempts, []);
  };

  // A failing endpoint's slots are freed only once its breaker has seen the attempts, so no claim
  // runs on its stale health.
  const writeForBreaker = async (attempts: FinishedAttempt[], groups: EndpointAttempts[]): Promise<void> => {
    if (!(await log(attempts))) return;
    let changes: HealthChange[] = [];
    try {
      changes = await applyAttemptsToEndpoints(deps.sequelize, groups, deps.clock.now(), deps.policy);
    } catch (error) {
      deps.logger.error({ err: error, endpoints: groups.length }, "updating webhook endpoint health failed");
    } finally {
      deps.onWritten(attempts, changes);
    }
  };

  const write = (): void => {
    const attempts = waiting;
    waiting = [];
    if (attempts.length === 0) return;
    const groups = groupByEndpoint(attempts);
    const withHealth = new Set(groups.map((g) => g.endpointId));
    const [plain, forBreaker] = partition(attempts, (a) => !withHealth.has(a.claimed.endpoint_id));
    if (plain.length > 0) healthyLane = healthyLane.then(() => writeHealthy(plain));
    if (forBreaker.length > 0) breakerLane = breakerLane.then(() => writeForBreaker(forBreaker, groups));
  };

  const schedule = (delayMs: number) => {
    if (timer && delayMs > 0) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      write();
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
      write();
      await Promise.all([healthyLane, breakerLane]);
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
