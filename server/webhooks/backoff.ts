/**
 * Wait before the retry that follows the n-th failed attempt (index n-1): 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h. Seven attempts over about 17.6 hours (up to ~21 h with jitter) ride out a consumer's
 * deploy, an outage or a night, and then the delivery is marked failed.
 */
export const RETRY_DELAYS_MS: readonly number[] = Object.freeze([
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
]);

/** Attempts a delivery gets automatically before it is marked failed. */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** Up to +20%: spreads the retries of a burst that failed together, and never retries earlier than the schedule. */
const JITTER = 0.2;

/**
 * When to try again after `attemptCount` failed attempts, or null when the schedule is exhausted.
 * `random` returns [0, 1) and is injectable so tests can pin the jitter.
 */
export function nextAttemptAt(attemptCount: number, now: Date, random: () => number): Date | null {
  const delay = RETRY_DELAYS_MS[attemptCount - 1];
  if (delay === undefined || attemptCount < 1) return null;
  return new Date(now.getTime() + Math.round(delay * (1 + JITTER * random())));
}
