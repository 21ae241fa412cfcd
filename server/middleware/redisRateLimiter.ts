import { Redis } from "ioredis";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import { TokenBucketLimiter, type RateDecision, type RateLimiter } from "./rateLimiter.ts";

/**
 * One token bucket per key, kept in Redis so every replica draws from the same bucket. The whole
 * read-refill-take-write is one Lua script: Redis runs a script atomically, so two replicas taking
 * the last token at the same instant cannot both get it (a GET then SET from Node could). Time is
 * Redis's own TIME, not the replica's clock, so replicas with skewed clocks still refill one bucket
 * consistently. The bucket holds `rate` tokens (a one-second burst) and refills at `rate` per
 * second; the reply is [allowed, milliseconds until one token is back], which is the real refill
 * time Retry-After is computed from. The key expires once the bucket would be full again anyway.
 *
 * Why a script and not rate-limiter-flexible: its Redis limiters count points per fixed window
 * (a burst of 2x the limit across a window boundary passes) and Retry-After would be the window's
 * end, not when a token is back. The script is 20 lines with the exact semantics of the in-process
 * TokenBucketLimiter, so one replica with or without Redis behaves the same.
 */
const TAKE_TOKEN_LUA = `
local rate = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ms')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil or last == nil then
  tokens = rate
  last = now
end
tokens = math.min(rate, tokens + math.max(0, now - last) * rate / 1000)
local allowed = 0
local waitMs = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  waitMs = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ms', tostring(now))
redis.call('PEXPIRE', KEYS[1], 2000)
return {allowed, waitMs}
`;

/** What a request gets when Redis cannot answer in time: limited by this process alone, or a 429. */
export type RedisFailureMode = "open" | "closed";

export type RedisRateLimiterOptions = {
  url: string;
  onFailure: RedisFailureMode;
  /** Longest a rate-limit check may wait for Redis before the failure mode applies. */
  commandTimeoutMs: number;
  logger: Logger;
  metrics: Pick<Metrics, "rateLimitBackendErrors">;
  /** Prefix of every bucket key, so several deployments can share one Redis. */
  keyPrefix?: string;
};

type TakeTokenReply = [number, number];
type RedisWithScript = Redis & { rollcallTakeToken(key: string, rate: number): Promise<TakeTokenReply> };

/** How long start-up waits for Redis before serving with the failure mode. */
const STARTUP_WAIT_MS = 2_000;

/** Seconds a refused request is told to wait when Redis is down and the mode is closed. */
const CLOSED_RETRY_AFTER_SECONDS = 1;

/** The shared limiter: one bucket per key across all processes; falls back per `onFailure` when Redis is unreachable. */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: RedisWithScript;
  /** Used in open mode while Redis is unreachable: each process then limits on its own. */
  private readonly local = new TokenBucketLimiter();
  private reachable = true;

  constructor(private readonly options: RedisRateLimiterOptions) {
    const redis = new Redis(options.url, {
      keyPrefix: options.keyPrefix ?? "rollcall:ratelimit:",
      // A hung or unreachable Redis must not stall SCIM requests: every command has a deadline,
      // nothing queues while disconnected, and a failed command is not retried (the fallback answers).
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(1_000, options.commandTimeoutMs),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    redis.defineCommand("rollcallTakeToken", { numberOfKeys: 1, lua: TAKE_TOKEN_LUA });
    // ioredis reports every failed reconnect; log the transitions, not each retry.
    redis.on("error", (error: Error) => this.markUnreachable(error));
    redis.on("ready", () => {
      if (!this.reachable) options.logger.info("Redis reachable again; SCIM rate limits are shared across processes");
      this.reachable = true;
    });
    this.redis = redis as RedisWithScript;
  }

  async take(key: string, ratePerSecond: number, nowMs: number): Promise<RateDecision> {
    if (ratePerSecond <= 0) return { allowed: true };
    try {
      const [allowed, waitMs] = await this.redis.rollcallTakeToken(key, ratePerSecond);
      if (allowed === 1) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    } catch (error) {
      this.markUnreachable(error);
      if (this.options.onFailure === "closed") {
        this.options.metrics.rateLimitBackendErrors.inc({ fallback: "refused" });
        return { allowed: false, retryAfterSeconds: CLOSED_RETRY_AFTER_SECONDS };
      }
      this.options.metrics.rateLimitBackendErrors.inc({ fallback: "local" });
      return this.local.take(key, ratePerSecond, nowMs);
    }
  }

  /**
   * Resolves once connected, or after `timeoutMs` (Redis down at start-up must not stop the
   * process: the failure mode covers it). Without this, the first requests after a start fall back
   * while the connection is still being made, because nothing queues while disconnected.
   */
  async whenReady(timeoutMs: number): Promise<boolean> {
    if (this.redis.status === "ready") return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off("ready", onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.redis.on("ready", onReady);
    });
  }

  async close(): Promise<void> {
    this.redis.disconnect(false);
  }

  private markUnreachable(error: unknown): void {
    if (!this.reachable) return;
    this.reachable = false;
    const mode = this.options.onFailure === "closed" ? "refusing SCIM requests with 429" : "limiting per process";
    this.options.logger.warn({ err: error }, `Redis unreachable for SCIM rate limits; ${mode} until it is back`);
  }
}

/** The limiter a process uses: shared through Redis when REDIS_URL is set (waited for briefly), else in process. */
export async function createRateLimiter(
  redis: { url: string | undefined; onFailure: RedisFailureMode; commandTimeoutMs: number },
  logger: Logger,
  metrics: Pick<Metrics, "rateLimitBackendErrors">,
): Promise<RateLimiter> {
  if (!redis.url) return new TokenBucketLimiter();
  const limiter = new RedisRateLimiter({ url: redis.url, onFailure: redis.onFailure, commandTimeoutMs: redis.commandTimeoutMs, logger, metrics });
  await limiter.whenReady(STARTUP_WAIT_MS);
  return limiter;
}
