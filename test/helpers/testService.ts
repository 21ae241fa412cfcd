import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig, type Config } from "../../server/config.ts";
import { createLogger } from "../../server/logger.ts";
import { startService, type Service, type StartOptions } from "../../server/main.ts";
import type { Clock } from "../../server/context.ts";
import { seedEmbeddedDataDir } from "./embeddedTemplate.ts";

export const TEST_ADMIN_KEY = "test-admin-key-0123456789abcdef";
/** Every test process shares one database, so they share one encryption key too. */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 42).toString("base64");

/** Config for a test service: port 0, quiet logs, the run's database, overrides last. */
export async function testConfig(databaseUrl: string | undefined, env: Record<string, string> = {}): Promise<Config> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "rollcall-test-"));
  return loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ROLLCALL_ADMIN_KEY: TEST_ADMIN_KEY,
    ROLLCALL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    ROLLCALL_DATA_DIR: dataDir,
    ROLLCALL_SCIM_RATE_LIMIT: "0",
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
}

/** Starts a real Rollcall process-in-process on a random port against the given database. */
export async function startTestService(
  databaseUrl: string | undefined,
  options: { env?: Record<string, string>; clock?: Clock } & Omit<Partial<StartOptions>, "config"> = {},
): Promise<Service> {
  const config = await testConfig(databaseUrl, options.env);
  if (!config.databaseUrl) await seedEmbeddedDataDir(config.dataDir);
  return startService({
    ...options,
    config,
    logger: options.logger ?? createLogger(config.logLevel),
    print: () => {},
  });
}
