import { expect } from "chai";
import { ConfigError, loadConfig } from "../../server/config.ts";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const KEY32 = Buffer.alloc(32, 7).toString("base64");

describe("config", () => {
  it("applies defaults for an empty environment", () => {
    const config = loadConfig({});
    expect(config.port).to.equal(8080);
    expect(config.publicUrl).to.equal("http://localhost:8080");
    expect(config.scim.rateLimit).to.equal(100);
    expect(config.databaseUrl).to.equal(undefined);
  });

  it("names the variable and the problem for a bad PORT", () => {
    expect(problemsOf({ PORT: "eighty" })[0]).to.match(/^PORT: /);
    expect(problemsOf({ PORT: "70000" })[0]).to.match(/^PORT: /);
  });

  it("rejects a DATABASE_URL that is not postgres", () => {
    expect(problemsOf({ DATABASE_URL: "mysql://x" })[0]).to.match(/^DATABASE_URL: must be a postgres/);
  });

  it("rejects an unknown LOG_LEVEL and a non-URL ROLLCALL_PUBLIC_URL together", () => {
    const problems = problemsOf({ LOG_LEVEL: "loud", ROLLCALL_PUBLIC_URL: "not a url" });
    expect(problems.some((p) => p.startsWith("LOG_LEVEL:"))).to.equal(true);
    expect(problems.some((p) => p.startsWith("ROLLCALL_PUBLIC_URL:"))).to.equal(true);
  });

  it("refuses production without an admin key", () => {
    expect(problemsOf({ NODE_ENV: "production", DATABASE_URL: "postgres://x/y" })[0]).to.match(/^ROLLCALL_ADMIN_KEY: is required/);
  });

  it("refuses a short admin key", () => {
    expect(problemsOf({ ROLLCALL_ADMIN_KEY: "short" })[0]).to.match(/^ROLLCALL_ADMIN_KEY: /);
  });

  it("strips a trailing slash from the public URL and reads boolean switches", () => {
    const config = loadConfig({ ROLLCALL_PUBLIC_URL: "https://rc.example.com/", ROLLCALL_ENABLE_RECONCILER: "false" });
    expect(config.publicUrl).to.equal("https://rc.example.com");
    expect(config.enable.reconciler).to.equal(false);
    expect(problemsOf({ ROLLCALL_ENABLE_SERVER: "maybe" })[0]).to.match(/^ROLLCALL_ENABLE_SERVER: /);
  });

  it("allows private webhook URLs outside production only", () => {
    expect(loadConfig({}).webhooks.allowPrivateUrls).to.equal(true);
    expect(loadConfig({ NODE_ENV: "production", DATABASE_URL: "postgres://x/y", ROLLCALL_ADMIN_KEY: "k".repeat(20), ROLLCALL_ENCRYPTION_KEY: KEY32 }).webhooks.allowPrivateUrls).to.equal(false);
  });

  it("refuses production without an encryption key", () => {
    expect(problemsOf({ NODE_ENV: "production", DATABASE_URL: "postgres://x/y", ROLLCALL_ADMIN_KEY: "k".repeat(20) })[0]).to.match(/^ROLLCALL_ENCRYPTION_KEY: is required/);
  });

  it("refuses an encryption key that is not base64 of 32 bytes, also among the previous keys", () => {
    expect(problemsOf({ ROLLCALL_ENCRYPTION_KEY: Buffer.alloc(16, 1).toString("base64") })[0]).to.match(/^ROLLCALL_ENCRYPTION_KEY: must be base64 of exactly 32 bytes/);
    expect(problemsOf({ ROLLCALL_ENCRYPTION_KEY: KEY32, ROLLCALL_ENCRYPTION_KEYS_PREVIOUS: `${KEY32},nope` })[0]).to.match(/^ROLLCALL_ENCRYPTION_KEYS_PREVIOUS: /);
    expect(loadConfig({ ROLLCALL_ENCRYPTION_KEY: KEY32, ROLLCALL_ENCRYPTION_KEYS_PREVIOUS: ` ${KEY32} ` }).encryption.previousKeys).to.deep.equal([KEY32]);
  });

  it("limits per process without REDIS_URL and fails open with a 250 ms Redis timeout by default", () => {
    expect(loadConfig({}).redis).to.deep.equal({ url: undefined, onFailure: "open", commandTimeoutMs: 250 });
    expect(loadConfig({ REDIS_URL: "rediss://r:6380/1", ROLLCALL_RATE_LIMIT_REDIS_FAILURE: "closed" }).redis.onFailure).to.equal("closed");
  });

  it("names REDIS_URL and ROLLCALL_RATE_LIMIT_REDIS_FAILURE when they are wrong", () => {
    expect(problemsOf({ REDIS_URL: "http://r:6379" })[0]).to.match(/^REDIS_URL: must be a redis:\/\//);
    expect(problemsOf({ ROLLCALL_RATE_LIMIT_REDIS_FAILURE: "maybe" })[0]).to.match(/^ROLLCALL_RATE_LIMIT_REDIS_FAILURE: must be open or closed/);
  });

  it("keeps history 30 days by default and reads each retention in days", () => {
    expect(loadConfig({}).retention).to.deep.equal({ requestLogDays: 30, eventDays: 30, deliveryAttemptDays: 30, cron: "23 * * * *" });
    const custom = loadConfig({ ROLLCALL_REQUEST_LOG_RETENTION_DAYS: "7", ROLLCALL_EVENT_RETENTION_DAYS: "0", ROLLCALL_DELIVERY_ATTEMPT_RETENTION_DAYS: "90" }).retention;
    expect([custom.requestLogDays, custom.eventDays, custom.deliveryAttemptDays]).to.deep.equal([7, 0, 90]);
    expect(problemsOf({ ROLLCALL_EVENT_RETENTION_DAYS: "-1" })[0]).to.match(/^ROLLCALL_EVENT_RETENTION_DAYS: /);
  });
});
