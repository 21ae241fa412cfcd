/*
 * The circuit breaker of one webhook endpoint, as pure functions of its stored health and the
 * outcome of an attempt (no clock, no database: time is passed in).
 *
 * closed ──N consecutive failures──▶ open (deliveries parked, no sends)
 *   ▲                                  │ cooldown passes: ONE probe delivery is released
 *   └────────── probe succeeds ────────┤
 *                                      │ probe fails: open again with a longer cooldown, or,
 *                                      ▼ when the streak is older than disableAfterMs: disabled
 *
 * Backing off the endpoint as a whole, instead of letting every delivery run its own retry
 * schedule, is what stops a dead consumer from costing one timeout per queued event: while it is
 * open, one request at a time finds out whether it came back.
 */

/** How the breaker reacts; see config ROLLCALL_WEBHOOK_CIRCUIT_* . */
export type CircuitPolicy = {
  /** Consecutive failed attempts that open the circuit. */
  failureThreshold: number;
  /** Wait before the n-th probe after the circuit opened (index 0 = first); the last one repeats. */
  cooldownsMs: readonly number[];
  /** A streak of failures this long, ended by a failed probe, disables the endpoint (0 = never). */
  disableAfterMs: number;
};

/** Wait before probe n: 5 s, 30 s, 1 min, 5 min, 15 min, then every 30 min. */
export const DEFAULT_COOLDOWNS_MS: readonly number[] = Object.freeze([5_000, 30_000, 60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000]);

/** An endpoint's stored health (webhook_endpoints columns). */
export type EndpointHealth = {
  consecutiveFailures: number;
  /** When the current streak of failures began; null while healthy. */
  failingSince: Date | null;
  /** Set while the circuit is open: no sends until then, then one probe. */
  openUntil: Date | null;
};

/** One finished attempt as the breaker sees it. */
export type BreakerAttempt = {
  ok: boolean;
  /** When the attempt started (a streak begins at its first failure). */
  at: Date;
  /** The attempt was the probe of an open circuit (only a probe's failure re-opens or disables). */
  probe: boolean;
};

/** What changed, so the caller can park or release deliveries, disable the endpoint and count it. */
export type CircuitTransition = "none" | "opened" | "reopened" | "closed" | "disabled";

export const HEALTHY: EndpointHealth = Object.freeze({ consecutiveFailures: 0, failingSince: null, openUntil: null });

/** Whether the endpoint is backed off as a whole. */
export function isOpen(health: EndpointHealth): boolean {
  return health.openUntil !== null;
}

/** The wait before the probe that follows `probesFailed` failed probes. */
export function cooldownMs(policy: CircuitPolicy, probesFailed: number): number {
  const list = policy.cooldownsMs;
  return list[Math.min(Math.max(probesFailed, 0), list.length - 1)] ?? 0;
}

/** The endpoint's health after one attempt, and the transition it caused. */
export function afterAttempt(
  health: EndpointHealth,
  attempt: BreakerAttempt,
  now: Date,
  policy: CircuitPolicy,
): { health: EndpointHealth; transition: CircuitTransition } {
  if (attempt.ok) {
    // Any success shows the consumer answers: the streak ends, and an open circuit closes.
    if (health.consecutiveFailures === 0 && health.openUntil === null) return { health, transition: "none" };
    return { health: HEALTHY, transition: isOpen(health) ? "closed" : "none" };
  }
  const failures = health.consecutiveFailures + 1;
  const failingSince = health.failingSince ?? attempt.at;
  if (isOpen(health)) {
    // A request that was already in flight when the circuit opened says nothing new.
    if (!attempt.probe) return { health: { ...health, consecutiveFailures: failures, failingSince }, transition: "none" };
    if (policy.disableAfterMs > 0 && now.getTime() - failingSince.getTime() >= policy.disableAfterMs) {
      return { health: { consecutiveFailures: failures, failingSince, openUntil: null }, transition: "disabled" };
    }
    const probesFailed = failures - policy.failureThreshold;
    return { health: { consecutiveFailures: failures, failingSince, openUntil: new Date(now.getTime() + cooldownMs(policy, probesFailed)) }, transition: "reopened" };
  }
  if (failures >= policy.failureThreshold) {
    return { health: { consecutiveFailures: failures, failingSince, openUntil: new Date(now.getTime() + cooldownMs(policy, 0)) }, transition: "opened" };
  }
  return { health: { consecutiveFailures: failures, failingSince, openUntil: null }, transition: "none" };
}

/**
 * Applies several attempts of one endpoint in the order they started, and names the net change:
 * the caller parks the endpoint's deliveries when it ends open (opened, reopened), releases them
 * when it ends closed after being open (closed), and disables it (disabled).
 */
export function afterAttempts(
  health: EndpointHealth,
  attempts: readonly BreakerAttempt[],
  now: Date,
  policy: CircuitPolicy,
): { health: EndpointHealth; transition: CircuitTransition } {
  const ordered = [...attempts].sort((a, b) => a.at.getTime() - b.at.getTime());
  let current = health;
  for (const attempt of ordered) {
    const next = afterAttempt(current, attempt, now, policy);
    if (next.transition === "disabled") return next;
    current = next.health;
  }
  const wasOpen = isOpen(health);
  const endsOpen = isOpen(current);
  if (!wasOpen) return { health: current, transition: endsOpen ? "opened" : "none" };
  if (!endsOpen) return { health: current, transition: "closed" };
  return { health: current, transition: current.openUntil!.getTime() !== health.openUntil!.getTime() ? "reopened" : "none" };
}
