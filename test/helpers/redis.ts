import { createConnection } from "node:net";

/** The Redis the tests use: REDIS_TEST_URL, else the local one CI starts (.ci/run). */
export const redisTestUrl = process.env.REDIS_TEST_URL ?? "redis://127.0.0.1:6379";

/** Whether that Redis answers PING within a second (a raw RESP exchange; no client needed). */
export async function redisAnswers(url = redisTestUrl): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

/**
 * Skips the suite with a message when Redis is not running, except in CI (CI=true), where
 * .ci/run starts Redis and its absence is a failure, not a reason to test less.
 */
export async function requireRedis(context: Mocha.Context): Promise<void> {
  if (await redisAnswers()) return;
  if (process.env.CI === "true") throw new Error(`Redis is not answering at ${redisTestUrl}; .ci/run should have started it`);
  console.log(`    (skipped: no Redis at ${redisTestUrl}; start one with redis-server or set REDIS_TEST_URL)`);
  context.skip();
}
