/** Whether one operation may proceed now, and if not, how long to wait. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * The limiter seen by the SCIM middleware. Kept this small so a shared (Redis-backed) limiter for
 * multi-replica deployments can replace the in-process one without touching callers.
 */
export interface RateLimiter {
  take(key: string, ratePerSecond: number, nowMs: number): RateDecision | Promise<RateDecision>;
  /** Releases connections (the Redis limiter); the in-process one has nothing to release. */
  close?(): Promise<void>;
}

type Bucket = { tokens: number; updatedMs: number };

/** In-process token bucket per key: refills at `rate` per second, bursts up to `rate`. */
export class TokenBucketLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly maxKeys = 100_000) {}

  take(key: string, ratePerSecond: number, nowMs: number): RateDecision {
    if (ratePerSecond <= 0) return { allowed: true };
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.evictIdle(nowMs);
      bucket = { tokens: ratePerSecond, updatedMs: nowMs };
      this.buckets.set(key, bucket);
    }
    const elapsedSeconds = Math.max(0, nowMs - bucket.updatedMs) / 1000;
    bucket.tokens = Math.min(ratePerSecond, bucket.tokens + elapsedSeconds * ratePerSecond);
    bucket.updatedMs = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    const waitSeconds = (1 - bucket.tokens) / ratePerSecond;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)) };
  }

  /** Drops buckets idle long enough to be full again; bounds memory under many tokens. */
  private evictIdle(nowMs: number): void {
    for (const [key, bucket] of this.buckets) {
      if (nowMs - bucket.updatedMs > 60_000) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.clear();
  }
}
