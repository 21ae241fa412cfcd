import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Config } from "./config.ts";
import { systemClock, type Clock } from "./context.ts";
import { openDatabase, type Database } from "./db/database.ts";
import { migrateUp } from "./db/migrator.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { defineModels } from "./models/index.ts";
import { buildApp } from "./app.ts";
import { createRateLimiter } from "./middleware/redisRateLimiter.ts";
import { BatchedScimRequestLog } from "./scim/requestLog.ts";
import { resolveAdminKey } from "./adminKey.ts";
import { resolveEncryptionKeys } from "./crypto/encryptionKey.ts";
import { attachKeyRing } from "./crypto/secretBox.ts";
import { resealSecrets } from "./crypto/resealSecrets.ts";
import type { AppDeps } from "./deps.ts";
import type { RateLimiter } from "./middleware/rateLimiter.ts";
import { TenantCache } from "./auth/tenantCache.ts";
import { followTenantChanges } from "./auth/tenantChangeFeed.ts";

import type { Worker, WorkerFactory } from "./worker.ts";

export type { Worker, WorkerFactory };

/** A running Rollcall process: its HTTP port (when serving) and a graceful stop. */
export type Service = { deps: AppDeps; port: number | undefined; url: string | undefined; stop(): Promise<void> };

export type StartOptions = {
  config: Config;
  logger?: Logger;
  clock?: Clock;
  metrics?: Metrics;
  database?: Database;
  serve?: boolean;
  workers?: WorkerFactory[];
  rateLimiter?: RateLimiter;
  print?: (line: string) => void;
};

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs).unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Boots Rollcall: config → database → migrations → app → listen, plus the enabled workers. */
export async function startService(options: StartOptions): Promise<Service> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const db = options.database ?? (await openDatabase(config, logger));
  await migrateUp(db.sequelize, logger);
  const admin = await resolveAdminKey(config);
  if (admin.generated) {
    print(`Generated an admin key (stored in ${admin.file}); it is shown only this once:\n  ROLLCALL_ADMIN_KEY=${admin.key}`);
  }
  const encryption = await resolveEncryptionKeys(config);
  if (encryption.generated) print(`Generated an encryption key for secrets at rest (stored in ${encryption.file}); back it up with the database.`);
  attachKeyRing(db.sequelize, encryption.ring);
  // Webhook secrets stored before encryption existed, or sealed with a key since rotated out.
  const resealed = await resealSecrets(db.sequelize, encryption.ring, "plaintext");
  if (Object.values(resealed).some((n) => n > 0)) logger.info({ resealed }, "sealed stored secrets with the current encryption key");
  const metrics = options.metrics ?? createMetrics();
  const deps: AppDeps = {
    config,
    db,
    models: defineModels(db.sequelize),
    logger,
    metrics,
    clock: options.clock ?? systemClock,
    rateLimiter: options.rateLimiter ?? (await createRateLimiter(config.redis, logger, metrics)),
    requestLog: new BatchedScimRequestLog(db.sequelize, logger),
    tenantCache: new TenantCache({ ttlMs: config.tenantCacheTtlMs, maxEntries: 10_000 }),
    adminKey: admin.key,
  };
  // The embedded database is one connection, which a LISTEN cannot share: there the cache stays off.
  const tenantFeed = !db.embedded && config.tenantCacheTtlMs > 0 ? followTenantChanges(db.url, deps.tenantCache, logger) : undefined;
  const workers = (options.workers ?? []).map((factory) => factory(deps));
  for (const worker of workers) await worker.start();

  let server: Server | undefined;
  if (options.serve !== false) {
    const app = buildApp(deps);
    // Node's defaults hold a slow client's request for 300 s and check only every 30 s; a client
    // that trickles its headers or body is cut off (408) after the configured time instead.
    server = createServer(
      {
        headersTimeout: config.http.headersTimeoutMs,
        requestTimeout: config.http.requestTimeoutMs,
        connectionsCheckingInterval: Math.min(1000, config.http.headersTimeoutMs),
      },
      app.callback(),
    );
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server!.once("error", reject);
      server!.listen(config.port, config.host, () => resolve());
    });
  }
  const port = server ? (server.address() as AddressInfo).port : undefined;
  if (port !== undefined) logger.info({ port, embedded: db.embedded }, "rollcall listening");

  let stopping: Promise<void> | undefined;
  return {
    deps,
    port,
    url: port === undefined ? undefined : `http://127.0.0.1:${port}`,
    stop() {
      stopping ??= (async () => {
        if (server) await closeServer(server, config.shutdownGraceMs);
        await Promise.all(workers.map((w) => w.stop()));
        await tenantFeed?.close();
        await deps.requestLog.close();
        await deps.rateLimiter.close?.();
        if (!options.database) await db.close();
        logger.info("rollcall stopped");
      })();
      return stopping;
    },
  };
}
