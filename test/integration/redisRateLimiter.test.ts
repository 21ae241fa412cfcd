import { expect } from "chai";
import { createServer, type Server, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { createLogger } from "../../server/logger.ts";
import { createMetrics } from "../../server/metrics.ts";
import { RedisRateLimiter, type RedisFailureMode } from "../../server/middleware/redisRateLimiter.ts";
import { freePort } from "../helpers/freePort.ts";
import { redisTestUrl, requireRedis } from "../helpers/redis.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { scim } from "../helpers/http.ts";
import { startTestService } from "../helpers/testService.ts";
import { shared } from "../helpers/rootHooks.ts";

const logger = createLogger("silent");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function limiter(url: string, onFailure: RedisFailureMode = "open", commandTimeoutMs = 250) {
  const metrics = createMetrics({ defaultMetrics: false });
  const instance = new RedisRateLimiter({ url, onFailure, commandTimeoutMs, logger, metrics, keyPrefix: `rollcall:test:${randomBytes(4).toString("hex")}:` });
  return { instance, metrics };
}

async function fallbackCount(metrics: ReturnType<typeof createMetrics>, fallback: string): Promise<number> {
  const values = (await metrics.rateLimitBackendErrors.get()).values;
  return values.find((v) => v.labels.fallback === fallback)?.value ?? 0;
}

/** A TCP server that accepts connections and never answers: a hung Redis. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("Redis rate limiter", function () {
  before(async function () {
    await requireRedis(this);
  });

  it("shares one bucket between two limiters with separate connections", async function () {
    const prefix = `rollcall:test:${randomBytes(4).toString("hex")}:`;
    const metrics = createMetrics({ defaultMetrics: false });
    const a = new RedisRateLimiter({ url: redisTestUrl, onFailure: "closed", commandTimeoutMs: 1_000, logger, metrics, keyPrefix: prefix });
    const b = new RedisRateLimiter({ url: redisTestUrl, onFailure: "closed", commandTimeoutMs: 1_000, logger, metrics, keyPrefix: prefix });
    try {
      await Promise.all([a.whenReady(5_000), b.whenReady(5_000)]);
      // 40 takes at once against a bucket of 10 tokens refilling 10/s: a few may refill while the
      // burst is in flight, so the allowed count is 10 plus at most what refilled meanwhile.
      const started = Date.now();
      const decisions = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take("tok", 10, Date.now())));
      const elapsedSeconds = (Date.now() - started) / 1000;
      const allowed = decisions.filter((d) => d.allowed).length;
      expect(allowed).to.be.at.least(10);
      expect(allowed).to.be.at.most(10 + Math.ceil(elapsedSeconds * 10));
      expect(await fallbackCount(metrics, "refused")).to.equal(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("refuses with a Retry-After of the refill time and allows again once a token is back", async function () {
    const { instance } = limiter(redisTestUrl);
    try {
      await instance.whenReady(5_000);
      expect(await instance.take("tok", 1, Date.now())).to.deep.equal({ allowed: true });
      expect(await instance.take("tok", 1, Date.now())).to.deep.equal({ allowed: false, retryAfterSeconds: 1 });
      await sleep(1_050);
      expect(await instance.take("tok", 1, Date.now())).to.deep.equal({ allowed: true });
    } finally {
      await instance.close();
    }
  });

  it("limits each process on its own when Redis is unreachable and the mode is open", async function () {
    const { instance, metrics } = limiter(`redis://127.0.0.1:${await freePort()}`, "open");
    try {
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await instance.take("tok", 2, 1_000_000));
      expect(decisions.map((d) => d.allowed)).to.deep.equal([true, true, false, false]);
      expect(await fallbackCount(metrics, "local")).to.equal(4);
    } finally {
      await instance.close();
    }
  });

  it("refuses with 429 semantics when Redis is unreachable and the mode is closed", async function () {
    const { instance, metrics } = limiter(`redis://127.0.0.1:${await freePort()}`, "closed");
    try {
      expect(await instance.take("tok", 100, Date.now())).to.deep.equal({ allowed: false, retryAfterSeconds: 1 });
      expect(await fallbackCount(metrics, "refused")).to.equal(1);
    } finally {
      await instance.close();
    }
  });

  it("answers within the command timeout when Redis accepts the connection but never replies", async function () {
    const hung = await silentServer();
    const { instance, metrics } = limiter(hung.url, "open", 100);
    try {
      await sleep(50);
      const started = Date.now();
      const decision = await instance.take("tok", 5, Date.now());
      expect(Date.now() - started).to.be.below(1_500);
      expect(decision).to.deep.equal({ allowed: true });
      expect(await fallbackCount(metrics, "local")).to.equal(1);
    } finally {
      await instance.close();
      await hung.close();
    }
  });

  it("answers SCIM requests with 429, never a 5xx, when Redis is down and the mode is closed", async function () {
    if (!shared.databaseUrl) {
      console.log("      (skipped on the embedded database: a second service would need a second embedded database)");
      this.skip();
    }
    const service = await startTestService(shared.databaseUrl, {
      env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, ROLLCALL_RATE_LIMIT_REDIS_FAILURE: "closed", ROLLCALL_SCIM_RATE_LIMIT: "100" },
    });
    try {
      const { token } = await createOrgWithToken(service.url!);
      const res = await scim(service.url!, token, "POST", "/Users", scimUserBody());
      expect(res.status).to.equal(429);
      expect(res.headers.get("retry-after")).to.equal("1");
      expect(res.contentType).to.equal("application/scim+json");
      expect(res.body.status).to.equal("429");
      const metricsText = await (await fetch(`${service.url}/metrics`)).text();
      expect(metricsText).to.match(/rollcall_rate_limit_backend_errors_total\{fallback="refused"\} [1-9]/);
    } finally {
      await service.stop();
    }
  });
});
