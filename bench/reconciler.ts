/*
 * Reconciler benchmark: one organization with BENCH_USERS (default 100,000) users seeded by bulk
 * SQL, 5% with drifted mapped fields and 2% with a stale membership (1% deactivated users whose
 * membership is still active, 0.5% members the team's last full member list left out, 0.5%
 * OneLogin-style groups-attribute memberships whose team the attribute dropped). Prints the
 * report-mode time, the repair time, a follow-up report (must find nothing repairable) and the
 * peak RSS.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/reconciler.ts
 */
import { performance } from "node:perf_hooks";
import { loadConfig } from "../server/config.ts";
import { createLogger } from "../server/logger.ts";
import { createMetrics } from "../server/metrics.ts";
import { createSequelize } from "../server/db/database.ts";
import { migrateUp } from "../server/db/migrator.ts";
import { systemClock } from "../server/context.ts";
import { reconcileOrganization, type ReconcileDeps, type ReconcileResult } from "../reconciler/job.ts";
import type { RunSummary } from "../reconciler/findingLog.ts";
import { FINDING_KINDS } from "../reconciler/types.ts";
import { createFreshDatabase } from "../test/helpers/testDatabase.ts";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const MAPPING = {
  [`${ENTERPRISE}.department`]: "public_metadata.department",
  "groups[0].value": '{% if value == "Team 1" %}org:admin{% else %}org:member{% endif %}.organization_role',
};
const TEAMS = 50;
/** Teams 1..SYNCED_TEAMS got a full member list from the IdP at SYNCED_AT. */
const SYNCED_TEAMS = 10;
const SYNCED_AT = "2030-01-01T00:00:00Z";

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) {
  process.stderr.write("set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test); the benchmark creates and drops its own database\n");
  process.exit(2);
}
const userCount = Number.parseInt(process.env.BENCH_USERS ?? "100000", 10);

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Seeds the organization in a handful of set-based statements; returns its id. */
async function seed(deps: ReconcileDeps): Promise<string> {
  const q = (sql: string, bind: unknown[] = []) => deps.sequelize.query(sql, { bind });
  const org = "org_bench";
  await q(`INSERT INTO organizations (id, name, slug) VALUES ($1, 'Bench', 'bench')`, [org]);
  await q(`INSERT INTO enterprise_connections (id, organization_id, name, provider, is_default) VALUES ('conn_bench', $1, 'bench', 'onelogin', true)`, [org]);
  await q(`INSERT INTO attribute_mappings (id, organization_id, version, mapping) VALUES ('map_bench', $1, 1, $2)`, [org, JSON.stringify(MAPPING)]);
  await q(
    `INSERT INTO teams (id, organization_id, enterprise_connection_id, display_name, idp_touched_at, members_synced_at)
     SELECT 'team_' || lpad(t::text, 4, '0'), $1, 'conn_bench', 'Team ' || t, $2, CASE WHEN t <= $3 THEN $2::timestamptz END
       FROM generate_series(1, $4) t`,
    [org, SYNCED_AT, SYNCED_TEAMS, TEAMS],
  );
  // User i is in team (i % TEAMS) + 1; i % 20 = 0 drifted; i % 100 = 1 deactivated (membership still active);
  // i % 200 = 2 left out of its synced team's last member list; i % 200 = 102 dropped from its groups attribute.
  await q(
    `INSERT INTO users (id, organization_id, enterprise_connection_id, external_id, user_name, app_external_id, email_address,
       first_name, last_name, active, organization_role, public_metadata, scim_resource, mapping_version)
     SELECT 'user_' || lpad(i::text, 7, '0'), $1, 'conn_bench', 'ext-' || i, 'user' || i || '@example.com', 'ext-' || i,
            'user' || i || '@example.com',
            CASE WHEN i % 20 = 0 THEN 'Stale' ELSE 'First' || i END, 'Last' || i, i % 100 <> 1,
            CASE WHEN i % $2 = 0 THEN 'org:admin' ELSE 'org:member' END,
            jsonb_build_object('department', 'Dept ' || (i % 7)),
            jsonb_build_object(
              'schemas', jsonb_build_array('urn:ietf:params:scim:schemas:core:2.0:User', '${ENTERPRISE}'),
              'userName', 'user' || i || '@example.com', 'externalId', 'ext-' || i, 'active', i % 100 <> 1,
              'name', jsonb_build_object('givenName', 'First' || i, 'familyName', 'Last' || i),
              'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@example.com', 'type', 'work', 'primary', true)),
              '${ENTERPRISE}', jsonb_build_object('department', 'Dept ' || (i % 7)),
              'groups', CASE WHEN i % 200 = 102 THEN jsonb_build_array(jsonb_build_object('value', 'Team 49', 'display', 'Team 49'))
                             ELSE jsonb_build_array(jsonb_build_object('value', 'Team ' || (i % $2 + 1), 'display', 'Team ' || (i % $2 + 1))) END),
            1
       FROM generate_series(1, $3) i`,
    [org, TEAMS, userCount],
  );
  await q(
    `INSERT INTO team_memberships (organization_id, team_id, user_id, status, source, confirmed_at)
     SELECT $1, 'team_' || lpad((i % $2 + 1)::text, 4, '0'), 'user_' || lpad(i::text, 7, '0'), 'active',
            CASE WHEN i % 200 = 102 THEN 'user_groups' ELSE 'group' END,
            CASE WHEN i % 200 = 2 THEN $3::timestamptz - interval '30 days' ELSE $3::timestamptz END
       FROM generate_series(1, $4) i`,
    [org, TEAMS, SYNCED_AT, userCount],
  );
  await q(`ANALYZE`);
  return org;
}

function describe(label: string, result: ReconcileResult, ms: number): string {
  const s = result.run.summary as RunSummary;
  return `${label.padEnd(16)} ${seconds(ms).padStart(9)}  status=${result.run.status} users=${s.users_scanned} findings=${s.total} ` +
    `(${FINDING_KINDS.map((k) => `${k}=${s.counts[k]}`).join(" ")}) repairable=${s.repairable} repaired=${s.repaired} repair_failed=${s.repair_failed}`;
}

async function main(): Promise<void> {
  const fresh = await createFreshDatabase(serverUrl!, "rollcall_bench");
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: fresh.url, LOG_LEVEL: "warn", DATABASE_STATEMENT_TIMEOUT_MS: "0" });
  const logger = createLogger(config.logLevel);
  const sequelize = createSequelize(fresh.url, config, logger);
  try {
    await migrateUp(sequelize, logger);
    const deps: ReconcileDeps = { sequelize, logger, metrics: createMetrics({ defaultMetrics: false }), clock: systemClock };
    let started = performance.now();
    const org = await seed(deps);
    process.stdout.write(`seeded ${userCount} users in ${seconds(performance.now() - started)}; RSS before the first run ${mb(process.memoryUsage().rss / 1024)}\n`);
    const run = async (label: string, repair: boolean) => {
      started = performance.now();
      const result = await reconcileOrganization(deps, { organizationId: org, repair, trigger: "cli" });
      process.stdout.write(`${describe(label, result, performance.now() - started)}  maxRSS=${mb(process.resourceUsage().maxRSS)}\n`);
      return result;
    };
    await run("report", false);
    await run("repair", true);
    const after = await run("report (after)", false);
    const repairable = (after.run.summary as RunSummary).repairable;
    process.stdout.write(`peak RSS ${mb(process.resourceUsage().maxRSS)}; repairable after repair: ${repairable}\n`);
    if (repairable !== 0) process.exitCode = 1;
  } finally {
    await sequelize.close();
    await fresh.drop();
  }
}

await main();
