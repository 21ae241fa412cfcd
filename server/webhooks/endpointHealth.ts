import type { Sequelize } from "sequelize";
import { afterAttempts, type BreakerAttempt, type CircuitPolicy, type CircuitTransition, type EndpointHealth } from "./circuitBreaker.ts";
import {
  disableFailingEndpoint,
  healthOf,
  lockEndpointHealth,
  parkPendingDeliveries,
  releaseParkedDeliveries,
  saveEndpointHealth,
} from "./endpointHealthStore.ts";

/** The finished attempts of one endpoint from one record flush. */
export type EndpointAttempts = { endpointId: string; attempts: BreakerAttempt[] };

/** A circuit that changed state, for metrics and logs. */
export type HealthChange = { endpointId: string; organizationId: string; transition: Exclude<CircuitTransition, "none">; health: EndpointHealth };

const sameHealth = (a: EndpointHealth, b: EndpointHealth) =>
  a.consecutiveFailures === b.consecutiveFailures &&
  a.failingSince?.getTime() === b.failingSince?.getTime() &&
  a.openUntil?.getTime() === b.openUntil?.getTime();

/**
 * Feeds finished attempts to their endpoints' circuit breakers in one transaction: the new health
 * is stored, an opened circuit parks the endpoint's queue, a closed one releases it, and an
 * endpoint failing for too long is disabled. Endpoints deleted or disabled meanwhile are skipped.
 */
export async function applyAttemptsToEndpoints(sequelize: Sequelize, groups: EndpointAttempts[], now: Date, policy: CircuitPolicy): Promise<HealthChange[]> {
  if (groups.length === 0) return [];
  const attemptsOf = new Map(groups.map((g) => [g.endpointId, g.attempts]));
  const changes = await sequelize.transaction(async (transaction) => {
    const changed: HealthChange[] = [];
    for (const row of await lockEndpointHealth(sequelize, transaction, [...attemptsOf.keys()])) {
      const before = healthOf(row);
      const { health, transition } = afterAttempts(before, attemptsOf.get(row.id) ?? [], now, policy);
      if (transition === "disabled") await disableFailingEndpoint(sequelize, transaction, row, health, now);
      else if (!sameHealth(before, health)) await saveEndpointHealth(sequelize, transaction, row.id, health);
      if (transition !== "none") changed.push({ endpointId: row.id, organizationId: row.organization_id, transition, health });
    }
    return changed;
  });
  // Queues move after the commit, one endpoint per statement: a dispatcher dying in between leaves
  // an open circuit's deliveries due (each is then claimed as a probe and parked when it fails) or a
  // closed circuit's parked (housekeeping releases them), never a lost delivery.
  for (const change of changes) {
    if (change.transition === "closed") await releaseParkedDeliveries(sequelize, undefined, change.endpointId, now);
    else await parkPendingDeliveries(sequelize, undefined, change.endpointId);
  }
  return changes;
}
