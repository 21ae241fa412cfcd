import { z } from "zod";

/** Thrown when the environment cannot be turned into a valid configuration. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const booleanFromEnv = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const integerFromEnv = (min: number, max: number) =>
  z.coerce.number({ message: "must be a number" }).int("must be a whole number").min(min).max(max);

/** Whether a string is base64 (standard or url-safe) of exactly 32 bytes. */
function isKey32(value: string): boolean {
  const trimmed = value.trim();
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) && Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64").length === 32;
}

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: integerFromEnv(0, 65535).default(8080),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  DATABASE_POOL_MAX: integerFromEnv(1, 200).default(10),
  DATABASE_POOL_MIN: integerFromEnv(0, 200).default(0),
  DATABASE_POOL_ACQUIRE_MS: integerFromEnv(100, 600_000).default(10_000),
  DATABASE_STATEMENT_TIMEOUT_MS: integerFromEnv(0, 600_000).default(30_000),
  ROLLCALL_DATA_DIR: z.string().min(1).default(".rollcall"),
  ROLLCALL_ADMIN_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  ROLLCALL_PUBLIC_URL: z.string().url("must be an absolute URL like https://rollcall.example.com").optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  ROLLCALL_SCIM_RATE_LIMIT: integerFromEnv(0, 1_000_000).default(100),
  ROLLCALL_SCIM_MAX_RESULTS: integerFromEnv(1, 10_000).default(200),
  ROLLCALL_SCIM_CURSOR_TIMEOUT_SECONDS: integerFromEnv(10, 7 * 24 * 3600).default(3600),
  ROLLCALL_SCIM_BODY_LIMIT_BYTES: integerFromEnv(1024, 64 * 1024 * 1024).default(1024 * 1024),
  ROLLCALL_SCIM_BULK_MAX_OPERATIONS: integerFromEnv(1, 10_000).default(100),
  ROLLCALL_PENDING_MEMBERSHIP_TTL_HOURS: integerFromEnv(1, 24 * 365).default(72),
  ROLLCALL_PENDING_MEMBERS_PER_GROUP: integerFromEnv(0, 1_000_000).default(5_000),
  ROLLCALL_PENDING_MEMBERS_PER_ORGANIZATION: integerFromEnv(0, 10_000_000).default(50_000),
  ROLLCALL_SCIM_MAX_PATCH_OPERATIONS: integerFromEnv(1, 10_000).default(1000),
  ROLLCALL_SCIM_MAX_OBJECT_KEYS: integerFromEnv(10, 100_000).default(500),
  ROLLCALL_SCIM_MAX_STRING_LENGTH: integerFromEnv(256, 1_000_000).default(8192),
  ROLLCALL_SCIM_MAX_IDENTIFIER_LENGTH: integerFromEnv(64, 2048).default(512),
  ROLLCALL_SCIM_MAX_ATTRIBUTE_VALUES: integerFromEnv(1, 100_000).default(100),
  ROLLCALL_SCIM_MAX_MEMBERS_PER_REQUEST: integerFromEnv(1, 1_000_000).default(10_000),
  ROLLCALL_MAPPING_REQUEST_BUDGET_MS: integerFromEnv(10, 60_000).default(250),
  ROLLCALL_HTTP_HEADERS_TIMEOUT_MS: integerFromEnv(1000, 600_000).default(20_000),
  ROLLCALL_HTTP_REQUEST_TIMEOUT_MS: integerFromEnv(1000, 600_000).default(30_000),
  ROLLCALL_SHUTDOWN_GRACE_MS: integerFromEnv(0, 600_000).default(10_000),
  ROLLCALL_ENABLE_SERVER: booleanFromEnv.default(true),
  ROLLCALL_ENABLE_DISPATCHER: booleanFromEnv.default(true),
  ROLLCALL_ENABLE_RECONCILER: booleanFromEnv.default(true),
  ROLLCALL_RECONCILE_CRON: z.string().min(1).default("*/15 * * * *"),
  ROLLCALL_WEBHOOK_ALLOW_PRIVATE_URLS: booleanFromEnv.optional(),
  ROLLCALL_WEBHOOK_TIMEOUT_MS: integerFromEnv(100, 120_000).default(10_000),
  ROLLCALL_WEBHOOK_ENDPOINT_CONCURRENCY: integerFromEnv(1, 1_000).default(64),
  ROLLCALL_WEBHOOK_CIRCUIT_FAILURES: integerFromEnv(1, 1_000).default(5),
  ROLLCALL_WEBHOOK_DISABLE_AFTER_HOURS: integerFromEnv(0, 24 * 365).default(72),
  ROLLCALL_WEBHOOK_SECRET_OVERLAP_HOURS: integerFromEnv(0, 24 * 30).default(24),
  ROLLCALL_METRICS_ORG_LABEL: booleanFromEnv.default(false),
  ROLLCALL_TENANT_CACHE_TTL_MS: integerFromEnv(0, 3_600_000).default(30_000),
  ROLLCALL_ENCRYPTION_KEY: z.string().refine(isKey32, "must be base64 of exactly 32 bytes (openssl rand -base64 32)").optional(),
  ROLLCALL_ENCRYPTION_KEYS_PREVIOUS: z
    .string()
    .refine((v) => v.split(",").every((k) => isKey32(k)), "must be a comma-separated list of base64 32-byte keys")
    .optional(),
  ROLLCALL_DIRECTORY_RATE_LIMIT_SHARE: z.coerce.number({ message: "must be a number" }).gt(0).max(1).default(0.5),
  ROLLCALL_DIRECTORY_TIMEOUT_MS: integerFromEnv(100, 600_000).default(30_000),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL").optional(),
  ROLLCALL_RATE_LIMIT_REDIS_FAILURE: z.enum(["open", "closed"], { message: "must be open or closed" }).default("open"),
  ROLLCALL_REDIS_COMMAND_TIMEOUT_MS: integerFromEnv(10, 10_000).default(250),
  ROLLCALL_REQUEST_LOG_RETENTION_DAYS: integerFromEnv(0, 3650).default(30),
  ROLLCALL_EVENT_RETENTION_DAYS: integerFromEnv(0, 3650).default(30),
  ROLLCALL_DELIVERY_ATTEMPT_RETENTION_DAYS: integerFromEnv(0, 3650).default(30),
  ROLLCALL_RETENTION_CRON: z.string().min(1).default("23 * * * *"),
});

/** What one SCIM request may carry; each refusal names the limit and its variable (README "Configuration"). */
export type ScimLimits = {
  maxPatchOperations: number;
  maxObjectKeys: number;
  maxStringLength: number;
  maxIdentifierLength: number;
  maxAttributeValues: number;
  maxMembersPerRequest: number;
};

export type Config = {
  env: "development" | "production" | "test";
  port: number;
  host: string;
  databaseUrl: string | undefined;
  pool: { max: number; min: number; acquireMs: number };
  statementTimeoutMs: number;
  dataDir: string;
  adminKey: string | undefined;
  publicUrl: string;
  logLevel: string;
  scim: {
    rateLimit: number;
    maxResults: number;
    /** RFC 9865 cursorTimeout: how long a list cursor stays valid after it was issued. */
    cursorTimeoutSeconds: number;
    bodyLimitBytes: number;
    /**
     * RFC 7644 §3.7 Bulk: operations one request may carry. Its maxPayloadSize is bodyLimitBytes,
     * the one body limit of every SCIM request, so what is advertised is what is enforced.
     */
    bulkMaxOperations: number;
    pendingMembershipTtlHours: number;
    /** Most unexpired pending members (values naming no user yet) one group, and one organization, may hold. */
    maxPendingMembersPerGroup: number;
    maxPendingMembersPerOrganization: number;
    limits: ScimLimits;
  };
  /** Wall-clock budget of all mapping evaluations of one request (mapping/evaluate.ts). */
  mappingRequestBudgetMs: number;
  /** Node HTTP server timeouts: headers, and the whole request including its body. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number };
  shutdownGraceMs: number;
  enable: { server: boolean; dispatcher: boolean; reconciler: boolean };
  reconcileCron: string;
  webhooks: {
    allowPrivateUrls: boolean;
    timeoutMs: number;
    /** Requests in flight at once to one healthy, fast endpoint, per dispatcher (a failing one gets 1, a new or slow one 4). */
    endpointConcurrency: number;
    /** Consecutive failed attempts that back an endpoint off as a whole (its circuit opens). */
    circuitFailureThreshold: number;
    /** A failure streak this long disables the endpoint (0 = never); see server/webhooks/circuitBreaker.ts. */
    disableAfterMs: number;
    /** How long the previous secret keeps signing after rotate_secret (a request may ask for another overlap). */
    secretOverlapMs: number;
  };
  metricsOrgLabel: boolean;
  /** How long a token lookup may be reused (0 = look up on every request); see server/auth/tenantCache.ts. */
  tenantCacheTtlMs: number;
  /** Secrets at rest (server/crypto/): the current key and older keys still accepted for reading. */
  encryption: { key: string | undefined; previousKeys: string[] };
  /** Directory connectors: the share of an IdP's rate limit Rollcall may use, and the request timeout. */
  directory: { rateLimitShare: number; timeoutMs: number };
  /** Shared SCIM rate limits (server/middleware/redisRateLimiter.ts); without a URL each process limits alone. */
  redis: { url: string | undefined; onFailure: "open" | "closed"; commandTimeoutMs: number };
  /** Days kept before the retention job deletes (0 = keep forever); see server/retention/. */
  retention: { requestLogDays: number; eventDays: number; deliveryAttemptDays: number; cron: string };
};

/** Reads and validates the environment; the only place in Rollcall that touches process.env. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.NODE_ENV === "production" && !e.ROLLCALL_ADMIN_KEY) {
    throw new ConfigError(["ROLLCALL_ADMIN_KEY: is required when NODE_ENV=production"]);
  }
  if (e.NODE_ENV === "production" && !e.ROLLCALL_ENCRYPTION_KEY) {
    throw new ConfigError(["ROLLCALL_ENCRYPTION_KEY: is required when NODE_ENV=production (base64 of 32 random bytes: openssl rand -base64 32)"]);
  }
  if (e.NODE_ENV === "production" && !e.DATABASE_URL) {
    throw new ConfigError(["DATABASE_URL: is required when NODE_ENV=production (the embedded database is for development)"]);
  }
  if (e.ROLLCALL_HTTP_HEADERS_TIMEOUT_MS > e.ROLLCALL_HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(["ROLLCALL_HTTP_HEADERS_TIMEOUT_MS: must not exceed ROLLCALL_HTTP_REQUEST_TIMEOUT_MS"]);
  }
  if (e.DATABASE_POOL_MIN > e.DATABASE_POOL_MAX) {
    throw new ConfigError(["DATABASE_POOL_MIN: must not exceed DATABASE_POOL_MAX"]);
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    pool: { max: e.DATABASE_POOL_MAX, min: e.DATABASE_POOL_MIN, acquireMs: e.DATABASE_POOL_ACQUIRE_MS },
    statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    dataDir: e.ROLLCALL_DATA_DIR,
    adminKey: e.ROLLCALL_ADMIN_KEY,
    publicUrl: (e.ROLLCALL_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    logLevel: e.LOG_LEVEL,
    scim: {
      rateLimit: e.ROLLCALL_SCIM_RATE_LIMIT,
      maxResults: e.ROLLCALL_SCIM_MAX_RESULTS,
      cursorTimeoutSeconds: e.ROLLCALL_SCIM_CURSOR_TIMEOUT_SECONDS,
      bodyLimitBytes: e.ROLLCALL_SCIM_BODY_LIMIT_BYTES,
      bulkMaxOperations: e.ROLLCALL_SCIM_BULK_MAX_OPERATIONS,
      pendingMembershipTtlHours: e.ROLLCALL_PENDING_MEMBERSHIP_TTL_HOURS,
      maxPendingMembersPerGroup: e.ROLLCALL_PENDING_MEMBERS_PER_GROUP,
      maxPendingMembersPerOrganization: e.ROLLCALL_PENDING_MEMBERS_PER_ORGANIZATION,
      limits: {
        maxPatchOperations: e.ROLLCALL_SCIM_MAX_PATCH_OPERATIONS,
        maxObjectKeys: e.ROLLCALL_SCIM_MAX_OBJECT_KEYS,
        maxStringLength: e.ROLLCALL_SCIM_MAX_STRING_LENGTH,
        maxIdentifierLength: e.ROLLCALL_SCIM_MAX_IDENTIFIER_LENGTH,
        maxAttributeValues: e.ROLLCALL_SCIM_MAX_ATTRIBUTE_VALUES,
        maxMembersPerRequest: e.ROLLCALL_SCIM_MAX_MEMBERS_PER_REQUEST,
      },
    },
    mappingRequestBudgetMs: e.ROLLCALL_MAPPING_REQUEST_BUDGET_MS,
    http: { headersTimeoutMs: e.ROLLCALL_HTTP_HEADERS_TIMEOUT_MS, requestTimeoutMs: e.ROLLCALL_HTTP_REQUEST_TIMEOUT_MS },
    shutdownGraceMs: e.ROLLCALL_SHUTDOWN_GRACE_MS,
    enable: {
      server: e.ROLLCALL_ENABLE_SERVER,
      dispatcher: e.ROLLCALL_ENABLE_DISPATCHER,
      reconciler: e.ROLLCALL_ENABLE_RECONCILER,
    },
    reconcileCron: e.ROLLCALL_RECONCILE_CRON,
    webhooks: {
      allowPrivateUrls: e.ROLLCALL_WEBHOOK_ALLOW_PRIVATE_URLS ?? e.NODE_ENV !== "production",
      timeoutMs: e.ROLLCALL_WEBHOOK_TIMEOUT_MS,
      endpointConcurrency: e.ROLLCALL_WEBHOOK_ENDPOINT_CONCURRENCY,
      circuitFailureThreshold: e.ROLLCALL_WEBHOOK_CIRCUIT_FAILURES,
      disableAfterMs: e.ROLLCALL_WEBHOOK_DISABLE_AFTER_HOURS * 3_600_000,
      secretOverlapMs: e.ROLLCALL_WEBHOOK_SECRET_OVERLAP_HOURS * 3_600_000,
    },
    metricsOrgLabel: e.ROLLCALL_METRICS_ORG_LABEL,
    tenantCacheTtlMs: e.ROLLCALL_TENANT_CACHE_TTL_MS,
    encryption: {
      key: e.ROLLCALL_ENCRYPTION_KEY,
      previousKeys: (e.ROLLCALL_ENCRYPTION_KEYS_PREVIOUS ?? "").split(",").map((k) => k.trim()).filter((k) => k.length > 0),
    },
    directory: { rateLimitShare: e.ROLLCALL_DIRECTORY_RATE_LIMIT_SHARE, timeoutMs: e.ROLLCALL_DIRECTORY_TIMEOUT_MS },
    redis: { url: e.REDIS_URL, onFailure: e.ROLLCALL_RATE_LIMIT_REDIS_FAILURE, commandTimeoutMs: e.ROLLCALL_REDIS_COMMAND_TIMEOUT_MS },
    retention: {
      requestLogDays: e.ROLLCALL_REQUEST_LOG_RETENTION_DAYS,
      eventDays: e.ROLLCALL_EVENT_RETENTION_DAYS,
      deliveryAttemptDays: e.ROLLCALL_DELIVERY_ATTEMPT_RETENTION_DAYS,
      cron: e.ROLLCALL_RETENTION_CRON,
    },
  };
}
