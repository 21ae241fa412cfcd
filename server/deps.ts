import type { Config } from "./config.ts";
import type { Clock } from "./context.ts";
import type { Database } from "./db/database.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { Models } from "./models/index.ts";
import type { RateLimiter } from "./middleware/rateLimiter.ts";
import type { ScimRequestLog } from "./scim/requestLog.ts";
import type { TenantCache } from "./auth/tenantCache.ts";

/** Everything the HTTP app and the workers need, passed in so tests can swap any part. */
export type AppDeps = {
  config: Config;
  db: Database;
  models: Models;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  rateLimiter: RateLimiter;
  requestLog: ScimRequestLog;
  /** Token lookups, trusted only while the tenant-change feed is listening. */
  tenantCache: TenantCache;
  adminKey: string;
};
