// Webhook dispatch: throughput, commit → consumer latency, a noisy neighbour, and 10,000 endpoints.
// Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/webhooks.ts
// BENCH_SCENARIOS=single,noisy,scale (default: all).
//   single: ONE dispatcher → one endpoint. BENCH_EVENTS (20000), BENCH_SUBJECTS (5000), BENCH_RATE (events/s in
//           the latency phase, 500), BENCH_SECONDS (5).
//   noisy:  one quiet organization's consumer, alone and then next to four noisy organizations whose consumers
//           hang, answer 500, answer after 5 s, refuse connections, each noisy org recording BENCH_NOISE_EVENTS (500)
//           as fast as it can. Quiet stream: BENCH_QUIET_RATE (50 events/s) for BENCH_SECONDS.
//   scale:  BENCH_ORGS (1000) organizations × 10 endpoints, one in ten failing (500) or hanging, served by
//           BENCH_DISPATCHERS (2) dispatcher processes. A backlog of BENCH_SCALE_EVENTS (6000) events (10 deliveries
//           each), then a steady BENCH_SCALE_RATE (200 events/s) for BENCH_SECONDS.
// Consumers and dispatchers run in child processes, so the numbers are not the benchmark loop's own.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Sequelize } from "sequelize";
import { loadConfig, type Config } from "../server/config.ts";
import { createLogger } from "../server/logger.ts";
import { createMetrics } from "../server/metrics.ts";
import { startService } from "../server/main.ts";
import { createSequelize } from "../server/db/database.ts";
import { attachKeyRing, decodeKey, generateKey, KeyRing } from "../server/crypto/secretBox.ts";

/** One key for the bench's service and its dispatcher processes (secrets are sealed at rest). */
const BENCH_ENCRYPTION_KEY = process.env.BENCH_ENCRYPTION_KEY ?? generateKey();
import { createOrganization } from "../server/commands/organizations.ts";
import { createEndpoint, generateSecret } from "../server/webhooks/endpoints.ts";
import { createDispatcher } from "../server/webhooks/dispatcher.ts";
import { recordEvent } from "../server/webhooks/outbox.ts";
import { freePort } from "../test/helpers/freePort.ts";
import { createFreshDatabase } from "../test/helpers/testDatabase.ts";

type ReceiverStats = { requests: number; unique: number; latenciesMs: number[] };
type BadStats = { hanging: number; failing: number; slow: number };
type Memory = { rss: number; heapUsed: number };

const self = fileURLToPath(import.meta.url);

/** The healthy consumer: answers 200 at once and measures event timestamp → arrival. */
function runReceiver(): void {
  const seen = new Set<string>();
  let requests = 0;
  let latenciesMs: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      requests++;
      // One event goes to several endpoints with the same webhook-id; the path tells the endpoints apart.
      const id = `${String(req.headers["webhook-id"])} ${req.url}`;
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
  server.maxHeadersCount = 0;
  server.listen(0, "127.0.0.1", 4_096, () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on("message", (message: "stats" | "reset") => {
    if (message === "reset") latenciesMs = [];
    else process.send!({ requests, unique: seen.size, latenciesMs } satisfies ReceiverStats);
  });
  process.on("disconnect", () => process.exit(0));
}

/** The broken consumers: one that never answers, one that answers 500, one that answers 200 after 5 s. */
function runBadConsumers(): void {
  const counts: BadStats = { hanging: 0, failing: 0, slow: 0 };
  const serve = (kind: keyof BadStats, answer: (res: ServerResponse) => void) =>
    new Promise<number>((resolve) => {
      const server = createServer((req, res) => {
        counts[kind]++;
        req.resume();
        req.on("end", () => answer(res));
      });
      server.listen(0, "127.0.0.1", 4_096, () => resolve((server.address() as AddressInfo).port));
    });
  void Promise.all([
    serve("hanging", () => {}),
    serve("failing", (res) => res.writeHead(500).end("down")),
    serve("slow", (res) => setTimeout(() => !res.destroyed && res.writeHead(200).end("ok"), 5_000)),
  ]).then(([hanging, failing, slow]) => process.send!({ hanging, failing, slow }));
  process.on("message", () => process.send!(counts));
  process.on("disconnect", () => process.exit(0));
}

/** A dispatcher process (`rollcall dispatch` without the HTTP part), reporting its memory. */
async function runDispatcher(): Promise<void> {
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: process.env.BENCH_DATABASE_URL!, ROLLCALL_ADMIN_KEY: "bench-admin-key-0123456789", LOG_LEVEL: "error" });
  const logger = createLogger("error");
  const sequelize = createSequelize(config.databaseUrl!, config, logger, 10);
  // Endpoint secrets are sealed at rest: open them with the key the bench's service sealed them with.
  attachKeyRing(sequelize, new KeyRing(decodeKey(process.env.BENCH_ENCRYPTION_KEY!)));
  const dispatcher = createDispatcher({ sequelize, logger, metrics: createMetrics({ defaultMetrics: false }), clock: { now: () => new Date() }, config, listenUrl: config.databaseUrl });
  dispatcher.start();
  const report = setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    process.send!({ rss, heapUsed } satisfies Memory);
  }, 250);
  process.on("message", async () => {
    clearInterval(report);
    await dispatcher.stop();
    await sequelize.close();
    process.exit(0);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const print = (line: string) => process.stdout.write(`${line}\n`);

function latencyLine(label: string, latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  return `${label}: p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted.at(-1)} ms (n=${sorted.length})`;
}

/** A child process speaking the little IPC protocols above. */
async function child<T>(mode: string, env: Record<string, string> = {}): Promise<{ process: ChildProcess; first: T; ask<R>(message: string): Promise<R> }> {
  // BENCH_DISPATCHER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the dispatcher processes.
  const extra = mode === "--dispatcher" ? (process.env.BENCH_DISPATCHER_NODE_ARGS ?? "").split(" ").filter(Boolean) : [];
  const proc = fork(self, [mode], { execArgv: ["--import", "tsx", ...extra], env: { ...process.env, ...env } });
  const first = await new Promise<T>((resolve) => proc.once("message", (m: T) => resolve(m)));
  return {
    process: proc,
    first,
    ask: <R>(message: string) =>
      new Promise<R>((resolve) => {
        proc.once("message", (m: R) => resolve(m));
        proc.send(message);
      }),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;
async function startReceiver() {
  const receiver = await child<{ port: number }>("--receiver");
  return { ...receiver, port: receiver.first.port, stats: () => receiver.ask<ReceiverStats>("stats"), reset: () => receiver.process.send("reset") };
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function userEvent(orgId: string, subjectId: string, n: number) {
  const user = { id: subjectId, email_address: `u${n}@example.com`, organization_role: "org:member", public_metadata: { n } };
  return { organizationId: orgId, type: "scimUser.updated" as const, subjectId, data: { user, enterprise_connection_id: "conn_bench" } };
}

function record(sequelize: Sequelize, orgId: string, subjectId: string, n: number): Promise<string> {
  return sequelize.transaction((t) => recordEvent(sequelize, t, userEvent(orgId, subjectId, n), new Date()));
}

/** Records `rate` events/s for `seconds`, spread over orgs by `pick`. */
async function steadyStream(sequelize: Sequelize, rate: number, seconds: number, pick: (i: number) => { orgId: string; subjectId: string }): Promise<void> {
  const t0 = performance.now();
  const writes: Promise<string>[] = [];
  for (let i = 0; i < rate * seconds; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const { orgId, subjectId } = pick(i);
    writes.push(record(sequelize, orgId, subjectId, i));
  }
  await Promise.all(writes);
}

type Ctx = { sequelize: Sequelize; config: Config; databaseUrl: string; service: Awaited<ReturnType<typeof startService>> };

async function singleScenario({ sequelize, config, databaseUrl, service }: Ctx, receiver: Receiver): Promise<void> {
  const total = Number(process.env.BENCH_EVENTS ?? 20_000);
  const subjects = Number(process.env.BENCH_SUBJECTS ?? 5_000);
  const rate = Number(process.env.BENCH_RATE ?? 500);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const org = await createOrganization(service.deps.models, { name: "Bench single" });
  await createEndpoint(sequelize, { organizationId: org.id, url: `http://127.0.0.1:${receiver.port}/hooks`, events: [], allowPrivateUrls: true }, new Date());
  const before = (await receiver.stats()).unique;
  // Events of one subject must arrive in order, so BENCH_SUBJECTS < BENCH_EVENTS exercises the ordering rule.
  print(`single: recording ${total} events over ${subjects} subjects…`);
  for (let i = 0; i < total; i += 8) await Promise.all(Array.from({ length: Math.min(8, total - i) }, (_, k) => record(sequelize, org.id, `user_${(i + k) % subjects}`, i + k)));

  // Its own pool, as `rollcall serve` and `rollcall dispatch` give it (server/webhooks/dispatcher.ts, dispatcherWorker).
  const pool = createSequelize(databaseUrl, config, service.deps.logger, 3);
  const dispatcher = createDispatcher({ sequelize: pool, logger: service.deps.logger, metrics: createMetrics({ defaultMetrics: false }), clock: service.deps.clock, config, listenUrl: databaseUrl });
  const started = performance.now();
  dispatcher.start();
  await waitUntil(async () => (await receiver.stats()).unique >= before + total, 600_000);
  const elapsedS = (performance.now() - started) / 1000;
  const drained = await receiver.stats();
  print(`single: throughput ${total} deliveries in ${elapsedS.toFixed(2)} s = ${Math.round(total / elapsedS)} deliveries/s (one dispatcher, ${drained.requests - drained.unique} duplicates)`);

  receiver.reset();
  await steadyStream(sequelize, rate, seconds, (i) => ({ orgId: org.id, subjectId: `user_${(total + i) % subjects}` }));
  await waitUntil(async () => (await receiver.stats()).unique >= before + total + rate * seconds, 120_000);
  print(latencyLine(`single: latency at ${rate} events/s for ${seconds} s (event timestamp → consumer)`, (await receiver.stats()).latenciesMs));
  await dispatcher.stop();
  await pool.close();
}

async function noisyScenario({ sequelize, config, databaseUrl, service }: Ctx, receiver: Receiver): Promise<void> {
  const rate = Number(process.env.BENCH_QUIET_RATE ?? 50);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const noiseEvents = Number(process.env.BENCH_NOISE_EVENTS ?? 500);
  const bad = await child<{ hanging: number; failing: number; slow: number }>("--bad");
  const refusing = await freePort();
  try {
    const quiet = await createOrganization(service.deps.models, { name: "Bench quiet" });
    await createEndpoint(sequelize, { organizationId: quiet.id, url: `http://127.0.0.1:${receiver.port}/quiet`, events: [], allowPrivateUrls: true }, new Date());
    const noisy: string[] = [];
    for (const port of [bad.first.hanging, bad.first.failing, bad.first.slow, refusing]) {
      const org = await createOrganization(service.deps.models, { name: `Bench noisy ${port}` });
      await createEndpoint(sequelize, { organizationId: org.id, url: `http://127.0.0.1:${port}/hooks`, events: [], allowPrivateUrls: true }, new Date());
      noisy.push(org.id);
    }
    const pool = createSequelize(databaseUrl, config, service.deps.logger, 3);
    // The quiet organization's writes do not queue behind the noisy ones' for a connection (other SCIM requests would not either).
    const quietWriter = createSequelize(databaseUrl, config, service.deps.logger, 2);
    const dispatcher = createDispatcher({ sequelize: pool, logger: service.deps.logger, metrics: createMetrics({ defaultMetrics: false }), clock: service.deps.clock, config, listenUrl: databaseUrl });
    dispatcher.start();
    const quietStream = async (label: string, offset: number) => {
      receiver.reset();
      const before = (await receiver.stats()).unique;
      await steadyStream(quietWriter, rate, seconds, (i) => ({ orgId: quiet.id, subjectId: `user_${(offset + i) % 20}` }));
      await waitUntil(async () => (await receiver.stats()).unique >= before + rate * seconds, 120_000);
      print(latencyLine(`noisy: quiet org at ${rate} events/s, ${label}`, (await receiver.stats()).latenciesMs));
    };
    await quietStream("alone", 0);
    const noise = Promise.all(
      noisy.map(async (orgId) => {
        for (let i = 0; i < noiseEvents; i += 8) await Promise.all(Array.from({ length: 8 }, (_, k) => record(sequelize, orgId, `user_${i + k}`, i + k)));
      }),
    );
    await quietStream(`next to 4 noisy orgs recording ${noiseEvents} events each (hanging, 500, 5 s, refused)`, 1_000);
    await noise;
    const counts = await bad.ask<BadStats>("stats");
    print(`noisy: requests to the broken consumers: hanging ${counts.hanging}, 500 ${counts.failing}, 5 s ${counts.slow} (of ${noiseEvents} events each)`);
    bad.process.kill();
    await dispatcher.stop();
    await pool.close();
    await quietWriter.close();
    // The broken consumers' queues are not the next scenario's business.
    await sequelize.query(`UPDATE webhook_deliveries SET status = 'failed' WHERE organization_id = ANY ($1::text[]) AND status = 'pending'`, { bind: [noisy] });
  } finally {
    bad.process.kill();
  }
}

async function scaleScenario({ sequelize, databaseUrl }: Ctx, receiver: Receiver): Promise<void> {
  const orgs = Number(process.env.BENCH_ORGS ?? 1_000);
  const backlog = Number(process.env.BENCH_SCALE_EVENTS ?? 6_000);
  const rate = Number(process.env.BENCH_SCALE_RATE ?? 200);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5) * 2;
  const dispatchers = Number(process.env.BENCH_DISPATCHERS ?? 2);
  // BENCH_SCALE_BROKEN=0: every endpoint healthy, the baseline the healthy endpoints' latency is compared with.
  const healthyPerOrg = process.env.BENCH_SCALE_BROKEN === "0" ? 10 : 9;
  const bad = await child<{ hanging: number; failing: number; slow: number }>("--bad");
  const procs: Array<Awaited<ReturnType<typeof child<Memory>>>> = [];
  try {
    // Seeded in SQL: 1,000 organizations and 10,000 endpoints through the API would take minutes.
    // Endpoint 9 of each organization is broken: hanging in even organizations, answering 500 in odd ones.
    const secret = generateSecret();
    await sequelize.query(
      `INSERT INTO organizations (id, name, slug) SELECT 'org_scale' || lpad(g::text, 5, '0'), 'Scale ' || g, 'scale-' || g FROM generate_series(1, $1) g`,
      { bind: [orgs] },
    );
    await sequelize.query(
      `INSERT INTO webhook_endpoints (id, organization_id, url, events, secret, enabled)
       SELECT 'whep_scale' || lpad(o::text, 5, '0') || '_' || e, 'org_scale' || lpad(o::text, 5, '0'),
              CASE WHEN e < $6 THEN 'http://127.0.0.1:' || $2 || '/e/' || o || '/' || e
                   WHEN o % 2 = 0 THEN 'http://127.0.0.1:' || $3 || '/e/' || o
                   ELSE 'http://127.0.0.1:' || $4 || '/e/' || o END,
              '{}', $5, true
         FROM generate_series(1, $1) o, generate_series(0, 9) e`,
      { bind: [orgs, receiver.port, bad.first.hanging, bad.first.failing, secret, healthyPerOrg] },
    );
    const orgOf = (i: number) => `org_scale${String((i % orgs) + 1).padStart(5, "0")}`;
    const brokenNote = healthyPerOrg === 9 ? `${orgs / 2} hanging, ${orgs / 2} answering 500` : "none broken";
    print(`scale: ${orgs} organizations, ${orgs * 10} endpoints (${orgs * healthyPerOrg} healthy, ${brokenNote}); recording ${backlog} events…`);
    for (let i = 0; i < backlog; i += 16) await Promise.all(Array.from({ length: Math.min(16, backlog - i) }, (_, k) => record(sequelize, orgOf(i + k), `user_${i + k}`, i + k)));
    await sequelize.query("ANALYZE webhook_deliveries");

    receiver.reset();
    const before = await receiver.stats();
    const healthyBacklog = backlog * healthyPerOrg;
    for (let i = 0; i < dispatchers; i++) procs.push(await child<Memory>("--dispatcher", { BENCH_DATABASE_URL: databaseUrl, BENCH_ENCRYPTION_KEY }));
    let peakRss = 0;
    let peakHeap = 0;
    for (const proc of procs) {
      proc.process.on("message", (m: Memory) => {
        peakRss = Math.max(peakRss, m.rss);
        peakHeap = Math.max(peakHeap, m.heapUsed);
      });
    }
    const started = performance.now();
    const done = await waitUntil(async () => (await receiver.stats()).unique >= before.unique + healthyBacklog, 600_000);
    const elapsedS = (performance.now() - started) / 1000;
    const drained = await receiver.stats();
    print(
      `scale: backlog ${done ? "" : "NOT "}drained: ${healthyBacklog} deliveries to healthy endpoints in ${elapsedS.toFixed(2)} s = ${Math.round(healthyBacklog / elapsedS)} deliveries/s with ${dispatchers} dispatcher processes (${drained.requests - before.requests - (drained.unique - before.unique)} duplicates)`,
    );
    print(latencyLine("scale: backlog, event timestamp → healthy consumer", drained.latenciesMs));

    receiver.reset();
    await steadyStream(sequelize, rate, seconds, (i) => ({ orgId: orgOf(backlog + i), subjectId: `user_${backlog + i}` }));
    await waitUntil(async () => (await receiver.stats()).unique >= before.unique + healthyBacklog + rate * seconds * healthyPerOrg, 120_000);
    print(latencyLine(`scale: steady ${rate} events/s = ${rate * healthyPerOrg} deliveries/s to healthy endpoints for ${seconds} s`, (await receiver.stats()).latenciesMs));
    const counts = await bad.ask<BadStats>("stats");
    print(`scale: requests to broken endpoints: hanging ${counts.hanging}, 500 ${counts.failing}; dispatcher peak RSS ${Math.round(peakRss / 1048576)} MB, peak heap ${Math.round(peakHeap / 1048576)} MB`);
  } finally {
    for (const proc of procs) proc.process.send("stop");
    await Promise.all(procs.map((p) => new Promise((resolve) => (p.process.exitCode !== null ? resolve(null) : p.process.once("exit", resolve)))));
    bad.process.kill();
  }
}

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) throw new Error("set DATABASE_URL to a PostgreSQL server (a fresh database is created and dropped)");
  const scenarios = new Set((process.env.BENCH_SCENARIOS ?? "single,noisy,scale").split(",").map((s) => s.trim()));
  const receiver = await startReceiver();
  const fresh = await createFreshDatabase(serverUrl, "rollcall_bench");
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: fresh.url, ROLLCALL_ADMIN_KEY: "bench-admin-key-0123456789", ROLLCALL_ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY, LOG_LEVEL: "error", DATABASE_POOL_MAX: "10", DATABASE_POOL_ACQUIRE_MS: "120000" });
  const service = await startService({ config, serve: false, workers: [], logger: createLogger("error"), print: () => {} });
  const ctx: Ctx = { sequelize: service.deps.db.sequelize, config, databaseUrl: fresh.url, service };
  try {
    if (scenarios.has("single")) await singleScenario(ctx, receiver);
    if (scenarios.has("noisy")) await noisyScenario(ctx, receiver);
    if (scenarios.has("scale")) await scaleScenario(ctx, receiver);
  } finally {
    await service.stop();
    await fresh.drop();
    receiver.process.kill();
  }
}

const mode = process.argv[2];
if (mode === "--receiver") runReceiver();
else if (mode === "--bad") runBadConsumers();
else if (mode === "--dispatcher") void runDispatcher();
else {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
