// Webhook dispatch throughput and end-to-end latency: ONE dispatcher → a local receiver in a child process.
// Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/webhooks.ts
// Knobs: BENCH_EVENTS (20000), BENCH_SUBJECTS (5000), BENCH_RATE (events/s in the latency phase, 500), BENCH_SECONDS (5).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../server/config.ts";
import { createLogger } from "../server/logger.ts";
import { createMetrics } from "../server/metrics.ts";
import { startService } from "../server/main.ts";
import { createOrganization } from "../server/commands/organizations.ts";
import { createEndpoint } from "../server/webhooks/endpoints.ts";
import { createDispatcher } from "../server/webhooks/dispatcher.ts";
import { recordEvent } from "../server/webhooks/outbox.ts";
import { createFreshDatabase } from "../test/helpers/testDatabase.ts";

type ReceiverStats = { requests: number; unique: number; latenciesMs: number[] };

/** The consumer: answers 200 at once and measures event timestamp → arrival. Runs in its own process. */
function runReceiver(): void {
  const seen = new Set<string>();
  let requests = 0;
  let latenciesMs: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      requests++;
      const id = String(req.headers["webhook-id"]);
      if (!seen.has(id)) {
        seen.add(id);
        const { timestamp } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { timestamp: string };
        latenciesMs.push(Date.now() - Date.parse(timestamp));
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, "127.0.0.1", () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on("message", (message: "stats" | "reset") => {
    if (message === "reset") latenciesMs = [];
    else process.send!({ requests, unique: seen.size, latenciesMs } satisfies ReceiverStats);
  });
  process.on("disconnect", () => process.exit(0));
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) throw new Error("set DATABASE_URL to a PostgreSQL server (a fresh database is created and dropped)");
  const total = Number(process.env.BENCH_EVENTS ?? 20_000);
  const subjects = Number(process.env.BENCH_SUBJECTS ?? 5_000);
  const rate = Number(process.env.BENCH_RATE ?? 500);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);

  const receiver = fork(fileURLToPath(import.meta.url), ["--receiver"], { execArgv: ["--import", "tsx"] });
  const port = await new Promise<number>((resolve) => receiver.once("message", (m: { port: number }) => resolve(m.port)));
  const stats = () =>
    new Promise<ReceiverStats>((resolve) => {
      receiver.once("message", resolve);
      receiver.send("stats");
    });

  const fresh = await createFreshDatabase(serverUrl, "rollcall_bench");
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: fresh.url, ROLLCALL_ADMIN_KEY: "bench-admin-key-0123456789", LOG_LEVEL: "warn", DATABASE_POOL_MAX: "10" });
  const service = await startService({ config, serve: false, workers: [], logger: createLogger("warn"), print: () => {} });
  try {
    const { sequelize } = service.deps.db;
    const org = await createOrganization(service.deps.models, { name: "Bench" });
    await createEndpoint(sequelize, { organizationId: org.id, url: `http://127.0.0.1:${port}/hooks`, events: [], allowPrivateUrls: true }, new Date());
    // Events of one subject must arrive in order, so BENCH_SUBJECTS < BENCH_EVENTS exercises the ordering rule.
    const record = (i: number) => {
      const subjectId = `user_${i % subjects}`;
      const user = { id: subjectId, email_address: `u${i}@example.com`, organization_role: "org:member", public_metadata: { n: i } };
      const event = { organizationId: org.id, type: "scimUser.updated" as const, subjectId, data: { user, enterprise_connection_id: "conn_bench" } };
      return sequelize.transaction((t) => recordEvent(sequelize, t, event, new Date()));
    };

    process.stdout.write(`recording ${total} events over ${subjects} subjects…\n`);
    for (let i = 0; i < total; i += 8) await Promise.all(Array.from({ length: Math.min(8, total - i) }, (_, k) => record(i + k)));

    const dispatcher = createDispatcher({ sequelize, logger: service.deps.logger, metrics: createMetrics({ defaultMetrics: false }), clock: service.deps.clock, config });
    const started = performance.now();
    dispatcher.start();
    while ((await stats()).unique < total) await new Promise((resolve) => setTimeout(resolve, 20));
    const elapsedS = (performance.now() - started) / 1000;
    const drained = await stats();
    process.stdout.write(`throughput: ${total} deliveries in ${elapsedS.toFixed(2)} s = ${Math.round(total / elapsedS)} deliveries/s (one dispatcher, ${drained.requests - drained.unique} duplicates)\n`);

    receiver.send("reset");
    const steady = rate * seconds;
    const t0 = performance.now();
    const writes: Promise<string>[] = [];
    for (let i = 0; i < steady; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      writes.push(record(total + i));
    }
    await Promise.all(writes);
    while ((await stats()).unique < total + steady) await new Promise((resolve) => setTimeout(resolve, 20));
    const latencies = (await stats()).latenciesMs.sort((a, b) => a - b);
    process.stdout.write(
      `latency at ${rate} events/s for ${seconds} s (event timestamp → consumer): p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies.at(-1)} ms (n=${latencies.length})\n`,
    );
    await dispatcher.stop();
  } finally {
    await service.stop();
    await fresh.drop();
    receiver.kill();
  }
}

if (!process.argv.includes("--receiver")) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
} else {
  runReceiver();
}
