/*
 * Directory benchmark: reconciling one organization against a fake Okta (its own process) with
 * BENCH_USERS (100,000) assigned users, BENCH_GROUPS (2,000) groups and 300,000 memberships,
 * pages of 200, X-Rate-Limit headers with BENCH_RATE_LIMIT (6,000) requests per minute of which
 * Rollcall may use ROLLCALL_DIRECTORY_RATE_LIMIT_SHARE (0.5). Rollcall holds the same users,
 * teams and memberships (seeded by bulk SQL). Prints: the full pass (report mode: the diff finds
 * nothing), its requests and peak RSS; then 100 users are suspended in Okta and an incremental
 * run (Okta's lastUpdated search + one app-user read per change) must find exactly those 100.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/directory.ts
 */
import { fork } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../server/config.ts";
import { createLogger } from "../server/logger.ts";
import { createMetrics } from "../server/metrics.ts";
import { createSequelize } from "../server/db/database.ts";
import { migrateUp } from "../server/db/migrator.ts";
import { systemClock } from "../server/context.ts";
import { attachKeyRing, KeyRing } from "../server/crypto/secretBox.ts";
import { reconcileOrganization, type ReconcileDeps } from "../reconciler/job.ts";
import type { RunSummary } from "../reconciler/findingLog.ts";
import { upsertDirectory } from "../reconciler/directory/directoryStore.ts";
import { createFreshDatabase } from "../test/helpers/testDatabase.ts";
import { randomBytes } from "node:crypto";

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) {
  process.stderr.write("set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test); the benchmark creates and drops its own database\n");
  process.exit(2);
}
const users = Number(process.env.BENCH_USERS ?? 100_000);
const groups = Number(process.env.BENCH_GROUPS ?? 2_000);
const groupSize = Number(process.env.BENCH_GROUP_SIZE ?? 150);
const changes = Number(process.env.BENCH_CHANGES ?? 100);
const rateShare = Number(process.env.ROLLCALL_DIRECTORY_RATE_LIMIT_SHARE ?? 0.5);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

type FakeProcess = { url: string; change(n: number): Promise<void>; stop(): void };

async function startFake(): Promise<FakeProcess> {
  const child = fork(fileURLToPath(new URL("./directoryFakeOkta.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"], env: { ...process.env, BENCH_USERS: String(users), BENCH_GROUPS: String(groups), BENCH_GROUP_SIZE: String(groupSize) },
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("message", (m: { url?: string }) => resolve(m.url!));
    child.once("exit", (code) => reject(new Error(`fake Okta exited with ${code}`)));
  });
  return {
    url,
    change: (n) => new Promise((resolve) => {
      child.once("message", () => resolve());
      child.send({ change: n });
    }),
    stop: () => child.send({ stop: true }),
  };
}

async function seed(deps: ReconcileDeps): Promise<string> {
  const q = (sql: string, bind: unknown[] = []) => deps.sequelize.query(sql, { bind });
  const org = "org_dirbench";
  await q(`INSERT INTO organizations (id, name, slug) VALUES ($1, 'Directory bench', 'dirbench')`, [org]);
  await q(`INSERT INTO enterprise_connections (id, organization_id, name, provider, is_default) VALUES ('conn_dirbench', $1, 'okta', 'okta', true)`, [org]);
  await q(
    `INSERT INTO users (id, organization_id, enterprise_connection_id, external_id, user_name, email_address, first_name, last_name, scim_resource)
     SELECT 'user_' || lpad(i::text, 7, '0'), $1, 'conn_dirbench', '00u' || lpad(i::text, 7, '0'), 'u' || lpad(i::text, 7, '0') || '@bench.example',
            'u' || lpad(i::text, 7, '0') || '@bench.example', 'Bench', 'User ' || i,
            jsonb_build_object('userName', 'u' || lpad(i::text, 7, '0') || '@bench.example', 'name', jsonb_build_object('givenName', 'Bench', 'familyName', 'User ' || i),
                               'emails', jsonb_build_array(jsonb_build_object('value', 'u' || lpad(i::text, 7, '0') || '@bench.example', 'primary', true)))
       FROM generate_series(0, $2 - 1) i`,
    [org, users],
  );
  await q(
    `INSERT INTO teams (id, organization_id, enterprise_connection_id, display_name)
     SELECT 'team_' || lpad(j::text, 5, '0'), $1, 'conn_dirbench', 'Group ' || lpad(j::text, 5, '0') FROM generate_series(0, $2 - 1) j`,
    [org, groups],
  );
  await q(
    `INSERT INTO team_memberships (organization_id, team_id, user_id)
     SELECT $1, 'team_' || lpad(j::text, 5, '0'), 'user_' || lpad(((j * 50 + k) % $3)::text, 7, '0')
       FROM generate_series(0, $2 - 1) j, generate_series(0, $4 - 1) k`,
    [org, groups, users, groupSize],
  );
  await q(`VACUUM ANALYZE`);
  return org;
}

const fresh = await createFreshDatabase(serverUrl, "rollcall_dirbench");
const config = loadConfig({ DATABASE_URL: fresh.url, LOG_LEVEL: "warn", DATABASE_POOL_MAX: "5", DATABASE_STATEMENT_TIMEOUT_MS: "0" });
const logger = createLogger("warn");
const sequelize = createSequelize(fresh.url, config, logger);
const fake = await startFake();
try {
  await migrateUp(sequelize, logger);
  attachKeyRing(sequelize, new KeyRing(randomBytes(32)));
  const metrics = createMetrics();
  const deps: ReconcileDeps = { sequelize, logger, metrics, clock: systemClock, directory: { client: { timeoutMs: 30_000, rateLimitShare: rateShare }, pending: { pendingTtlMs: 72 * 3_600_000, maxPendingPerGroup: 5_000, maxPendingPerOrganization: 50_000 } } };
  const t0 = performance.now();
  const org = await seed(deps);
  process.stdout.write(`seeded ${users} users, ${groups} teams, ${groups * groupSize} memberships in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  await upsertDirectory(sequelize, {
    organizationId: org, connectionId: "conn_dirbench", provider: "okta", settings: { base_url: fake.url, app_id: "0oa_bench" },
    publicCredentials: { auth: "api_token" }, credentials: { api_token: "bench-token" },
  }, new Date());

  const requests = async () => (await metrics.directoryRequests.get()).values.reduce((n, v) => n + v.value, 0);
  const rssBefore = process.memoryUsage().rss;
  // maxRSS covers the whole process, seeding included (the fake Okta runs in its own process);
  // sampling during the pass shows what the pass itself reaches and adds.
  let passPeak = rssBefore;
  // The heap's share of the peak (V8 heap used/total, external buffers), to tell live objects from garbage and buffers.
  const heapPeak = { heapUsed: 0, heapTotal: 0, external: 0 };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    passPeak = Math.max(passPeak, m.rss);
    heapPeak.heapUsed = Math.max(heapPeak.heapUsed, m.heapUsed);
    heapPeak.heapTotal = Math.max(heapPeak.heapTotal, m.heapTotal);
    heapPeak.external = Math.max(heapPeak.external, m.external);
  }, 20);
  const full0 = performance.now();
  const full = await reconcileOrganization(deps, { organizationId: org, repair: false, trigger: "cli", source: "idp", directoryMode: "full" });
  const fullMs = performance.now() - full0;
  clearInterval(sampler);
  const fullSummary = full.run.summary as RunSummary;
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`full pass: ${(fullMs / 1000).toFixed(2)} s, ${await requests()} requests, status ${full.run.status}${full.run.error ? ` (${full.run.error})` : ""}, findings ${fullSummary.total}, users seen ${fullSummary.directories?.[0]?.users_seen}, groups seen ${fullSummary.directories?.[0]?.groups_seen}, phases (ms) ${JSON.stringify(fullSummary.directories?.[0]?.timings_ms)}\n`);
  process.stdout.write(`RSS: ${mb(rssBefore)} before the pass, ${mb(passPeak)} at most during it (+${mb(passPeak - rssBefore)}); process maxRSS ${mb(peak)}; at most heap used ${mb(heapPeak.heapUsed)}, heap total ${mb(heapPeak.heapTotal)}, external ${mb(heapPeak.external)}\n`);

  await fake.change(changes);
  const before = await requests();
  const inc0 = performance.now();
  const inc = await reconcileOrganization(deps, { organizationId: org, repair: false, trigger: "cli", source: "idp", directoryMode: "incremental" });
  const incMs = performance.now() - inc0;
  const incSummary = inc.run.summary as RunSummary;
  process.stdout.write(`incremental after ${changes} changes: ${(incMs / 1000).toFixed(2)} s, ${(await requests()) - before} requests, mode ${incSummary.directories?.[0]?.mode}, idp_user_inactive ${incSummary.counts?.idp_user_inactive}, status ${inc.run.status}, phases (ms) ${JSON.stringify(incSummary.directories?.[0]?.timings_ms)}\n`);
  process.stdout.write(`peak RSS overall: ${mb(process.resourceUsage().maxRSS * 1024)}\n`);
} finally {
  fake.stop();
  await sequelize.close();
  await fresh.drop();
}
