/**
 * SCIM throughput and latency against real PostgreSQL, with mapping and webhooks on.
 * The server runs as its own process; autocannon (a real HTTP load tool) drives it from this one.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/scim.ts
 *
 * Prints a table and writes bench/results.json. BENCH_SECONDS shortens or lengthens each phase.
 */
import autocannon, { type Request as LoadRequest, type Result } from "autocannon";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import pg from "pg";
import { createFreshDatabase } from "../test/helpers/testDatabase.ts";
import { startWebhookSink } from "./webhookSink.ts";
import { backendPids, cpuPerRequest, cpuSnapshot, type CpuSnapshot, type CpuSplit } from "./cpuAccounting.ts";
import { startServerProcess } from "./scimServer.ts";
import { freshTenant } from "./freshTenant.ts";
import type { LimitResult } from "./sqlLimit.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ADMIN_KEY = "bench-admin-key-0123456789abcdef";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/** BENCH_PHASES=fresh,creates,reads,groups,mixed (default: all) runs only some phases, for profiling one at a time. */
const PHASES = new Set((process.env.BENCH_PHASES ?? "fresh,creates,reads,groups,mixed").split(",").map((p) => p.trim()));
const baseUrl = process.env.DATABASE_URL;
if (!baseUrl) throw new Error("set DATABASE_URL to a PostgreSQL server (a fresh database is created on it)");

/** A realistic 8-entry mapping with 3 templates (the SPEC examples plus common fields). */
const MAPPING = {
  "groups[0].value": '{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}.organization_role',
  [`${ENTERPRISE}.department`]: "public_metadata.department",
  [`${ENTERPRISE}:employeeNumber`]: "public_metadata.employee_number",
  "title": "{{ value | strip | capitalize }}.public_metadata.title",
  "name.givenName": "first_name",
  "name.familyName": "last_name",
  "emails[type eq \"work\"].value": "{{ value | downcase }}.email_address",
  "externalId": "external_id",
};

type Row = {
  scenario: string; requests: number; rps: number; p50_ms: number; p99_ms: number; non2xx: number; errors: number;
  /** CPU ms per request: the server process, all of PostgreSQL, the other node processes (load generator, webhook sink). */
  cpu_ms?: CpuSplit;
  /** The same database work sent straight from the bench (bench/sqlLimit.ts), and our figure's share of it. */
  limit_rps?: number;
  share_of_limit_pct?: number;
};
const rows: Row[] = [];

let serverPid = 0;
let cpuAtPhaseStart: CpuSnapshot | undefined;
let measuredPid = 0;
let mainDb: pg.Client | undefined;
let measuredDb: pg.Client | undefined;

/**
 * Starts CPU accounting for the next recorded run (call right before it), of the given server
 * process and the PostgreSQL backends of the database `db` is connected to.
 */
function measureCpu(pid = serverPid, db = mainDb): void {
  measuredPid = pid;
  measuredDb = db;
  cpuAtPhaseStart = cpuSnapshot();
}

/** Records a run; `limit`, if given, runs after the run's CPU is taken and is printed beside it. */
async function record(scenario: string, result: Result, limit?: () => Promise<LimitResult>): Promise<Row> {
  const end = cpuSnapshot();
  const cpu = cpuAtPhaseStart && measuredDb
    ? cpuPerRequest(cpuAtPhaseStart, end, measuredPid, await backendPids(measuredDb), result.requests.total)
    : undefined;
  cpuAtPhaseStart = undefined;
  const limitResult = limit ? await limit() : undefined;
  const row: Row = {
    scenario,
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    ...(cpu ? { cpu_ms: cpu } : {}),
    ...(limitResult ? { limit_rps: limitResult.perSecond, share_of_limit_pct: Math.round((100 * result.requests.average) / Math.max(1, limitResult.perSecond)) } : {}),
  };
  rows.push(row);
  const cpuText = cpu ? `, CPU ms/request: server ${cpu.server}, postgres ${cpu.postgres}, other ${cpu.other}` : "";
  const limitText = limitResult ? `; limit ${limitResult.perSecond}/s (p99 ${limitResult.p99_ms} ms): ${row.share_of_limit_pct}% of it` : "";
  console.log(`${scenario}: ${row.rps} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, non-2xx ${row.non2xx}, errors ${row.errors}${cpuText}${limitText}`);
  return row;
}

let sequence = 0;
function userBody(prefix: string): string {
  const n = `${prefix}${(sequence++).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return JSON.stringify({
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    userName: `${n}@bench.example.com`,
    name: { givenName: "Bench", familyName: n },
    emails: [{ value: `${n}@bench.example.com`, type: "work", primary: true }],
    externalId: `00u${n}`,
    title: " engineer ",
    active: true,
    [ENTERPRISE]: { department: "Engineering", employeeNumber: n },
  });
}

async function adminCall(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, string>>;
}

/** Bulk-seeds users (and optionally one team holding the first `members` of them) straight in SQL. */
async function seedUsers(db: pg.Client, orgId: string, connId: string, count: number, tag: string, from = 1): Promise<void> {
  await db.query(
    `INSERT INTO users (id, organization_id, enterprise_connection_id, external_id, user_name, email_address, first_name, last_name, scim_resource, created_at, updated_at)
     SELECT 'user_' || upper(substr(md5($3 || g), 1, 26)), $1, $2, $3 || g, $3 || g || '@seed.example.com', $3 || g || '@seed.example.com', 'Seed', 'User' || g,
            jsonb_build_object('schemas', jsonb_build_array('urn:ietf:params:scim:schemas:core:2.0:User'), 'userName', $3 || g || '@seed.example.com',
              'name', jsonb_build_object('givenName', 'Seed', 'familyName', 'User' || g),
              'emails', jsonb_build_array(jsonb_build_object('value', $3 || g || '@seed.example.com', 'type', 'work', 'primary', true)), 'active', true),
            now() - (g || ' seconds')::interval, now()
       FROM generate_series($5::int, $5::int + $4 - 1) AS g`,
    [orgId, connId, tag, count, from],
  );
}

/** What every phase works with: the server, a direct database connection and the main org's token. */
type Bench = { url: string; db: pg.Client; scimHeaders: Record<string, string> };

/** A new org with its own token; the connection id is for seeding users straight in SQL. */
async function newOrg(bench: Bench, name: string): Promise<{ id: string; token: string; connectionId: string }> {
  const org = await adminCall(bench.url, "POST", "/v1/organizations", { name });
  const token = (await adminCall(bench.url, "POST", `/v1/organizations/${org.id}/scim/tokens`, { name: "bench" })).token!;
  const row = (await bench.db.query(`SELECT enterprise_connection_id FROM scim_tokens WHERE organization_id = $1`, [org.id])).rows[0];
  return { id: org.id!, token, connectionId: row.enterprise_connection_id as string };
}

/** 1. Creates at full speed, then at half of that rate for the latency target. */
async function creates({ url, scimHeaders }: Bench): Promise<void> {
  const post = (prefix: string) => [{ method: "POST" as const, path: "/scim/v2/Users", setupRequest: (r: LoadRequest) => ({ ...r, body: userBody(prefix) }) }];
  await autocannon({ url, connections: CONNECTIONS, duration: 3, headers: scimHeaders, requests: post("warm") });
  measureCpu();
  const peak = await record("user creates (peak)", await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers: scimHeaders, requests: post("c") }));
  const half = Math.max(1, Math.floor(peak.rps / 2));
  // autocannon's overallRate gives each connection a quota per second that it sends as fast as it
  // can when the second starts (lib/httpClient.js: reqsMadeThisSecond < rate), so 32 connections
  // fire together once a second and the latency measures that burst's queue. Both are reported:
  // the paced figure is the fewest connections (closed loop) whose throughput reaches half of peak.
  measureCpu();
  await record(`user creates at half of peak (${half}/s), overallRate: per-second bursts`, await autocannon({
    url, connections: CONNECTIONS, duration: SECONDS, headers: scimHeaders, overallRate: half, requests: post("h"),
  }));
  for (let connections = 1; connections <= CONNECTIONS; connections *= 2) {
    measureCpu();
    const result = await autocannon({ url, connections, duration: SECONDS, headers: scimHeaders, requests: post(`p${connections}`) });
    if (result.requests.average >= half || connections * 2 > CONNECTIONS) {
      await record(`user creates at half of peak, paced by ${connections} connections`, result);
      break;
    }
  }
}

/** 2. Filtered reads (userName eq) on an org of 1,000 and one of 100,000 users. */
async function reads(bench: Bench): Promise<void> {
  const { url, db } = bench;
  const sizes = (process.env.BENCH_READ_SIZES ?? "1000,100000").split(",").map(Number);
  for (const [i, size] of sizes.entries()) {
    const org = await newOrg(bench, `Read ${size}`);
    const tag = `r${i}s${size}x`;
    await seedUsers(db, org.id, org.connectionId, size, tag);
    // Steady state: without this, autovacuum starts on the fresh rows in the middle of the measurement.
    await db.query("VACUUM ANALYZE users");
    // And the bulk load's dirty pages written out now, not by the checkpointer during the measurement.
    await db.query("CHECKPOINT");
    const headers = { Authorization: `Bearer ${org.token}` };
    const pathFor = () => `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${tag}${1 + Math.floor(Math.random() * size)}@seed.example.com"`)}`;
    const requests = [{ method: "GET" as const, setupRequest: (r: LoadRequest) => ({ ...r, path: pathFor() }) }];
    await autocannon({ url, connections: CONNECTIONS, duration: 2, headers, requests });
    measureCpu();
    await record(`filtered reads, ${size.toLocaleString("en")} users`, await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers, requests }));
  }
}

/** 3. Group PATCH adding 100 members at a time to a 10,000-member group. */
async function groupPatches(bench: Bench): Promise<void> {
  const { url, db } = bench;
  const org = await newOrg(bench, "Groups");
  await seedUsers(db, org.id, org.connectionId, 40_000, "g");
  const headers = { Authorization: `Bearer ${org.token}`, "Content-Type": "application/scim+json" };
  const group = await (await fetch(`${url}/scim/v2/Groups`, { method: "POST", headers, body: JSON.stringify({ displayName: "Everyone" }) })).json() as { id: string };
  await db.query(
    `INSERT INTO team_memberships (organization_id, team_id, user_id) SELECT organization_id, $2, id FROM users WHERE organization_id = $1 AND external_id IN (SELECT 'g' || g FROM generate_series(1, 10000) g)`,
    [org.id, group.id],
  );
  await db.query("VACUUM ANALYZE users, team_memberships");
  await db.query("CHECKPOINT");
  const userIds = (await db.query(`SELECT id FROM users WHERE organization_id = $1 AND NOT EXISTS (SELECT 1 FROM team_memberships m WHERE m.user_id = users.id) ORDER BY id`, [org.id])).rows.map((r) => r.id as string);
  let next = 0;
  const patchBody = () => {
    const members = userIds.slice(next, next + 100).map((value) => ({ value }));
    next += 100;
    return JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "add", path: "members", value: members }] });
  };
  measureCpu();
  await record("group PATCH +100 members (10,000-member group)", await autocannon({
    url, connections: 4, amount: Math.min(250, Math.floor(userIds.length / 100)), headers,
    // As Okta and Entra send it: no attributes named (the answer is 204 since issue 14; it carried every member before).
    requests: [{ method: "PATCH", path: `/scim/v2/Groups/${group.id}`, setupRequest: (r) => ({ ...r, body: patchBody() }) }],
  }));
  // An IdP sends one group's pushes one after another (Okta and Entra queue them per group), so the
  // four connections above measure lock queueing more than a PATCH; this is one PATCH's own latency.
  measureCpu();
  await record("group PATCH +100 members (10,000-member group), one at a time", await autocannon({
    url, connections: 1, amount: Math.min(100, Math.floor((userIds.length - next) / 100)), headers,
    requests: [{ method: "PATCH", path: `/scim/v2/Groups/${group.id}`, setupRequest: (r) => ({ ...r, body: patchBody() }) }],
  }));
}

/** How many popular teams the mixed workload's group pushes go to (an IdP pushes a few groups most). */
const MIXED_TEAMS = Number(process.env.BENCH_MIXED_TEAMS ?? 4);

/**
 * 4. A mixed Okta-like workload: create, PUT update, group push (to one of a few popular teams),
 * deactivate, per connection. At peak, then at half of peak: the fewest connections (closed loop)
 * whose throughput reaches half of peak, as for creates, since the latency target is at half of peak.
 */
async function mixed({ url, scimHeaders }: Bench): Promise<void> {
  const teams: string[] = [];
  for (let i = 0; i < MIXED_TEAMS; i++) {
    const created = await fetch(`${url}/scim/v2/Groups`, { method: "POST", headers: scimHeaders, body: JSON.stringify({ displayName: `Popular ${i} ${Date.now()}` }) });
    teams.push(((await created.json()) as { id: string }).id);
  }
  const patchOp = (operation: unknown) => JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [operation] });
  let pushes = 0;
  const workload = (prefix: string): NonNullable<Parameters<typeof autocannon>[0]["requests"]> => [
    { method: "POST", path: "/scim/v2/Users", setupRequest: (r, ctx) => { ctx.body = userBody(prefix); return { ...r, body: ctx.body as string }; }, onResponse: (_s, body, ctx) => { ctx.id = (JSON.parse(body) as { id: string }).id; } },
    { method: "PUT", setupRequest: (r, ctx) => ({ ...r, path: `/scim/v2/Users/${String(ctx.id)}`, body: (ctx.body as string).replace('"givenName":"Bench"', '"givenName":"Updated"') }) },
    { method: "PATCH", setupRequest: (r, ctx) => ({ ...r, path: `/scim/v2/Groups/${teams[pushes++ % teams.length]}`, body: patchOp({ op: "add", path: "members", value: [{ value: ctx.id }] }) }) },
    { method: "PATCH", setupRequest: (r, ctx) => ({ ...r, path: `/scim/v2/Users/${String(ctx.id)}`, body: patchOp({ op: "replace", value: { active: false } }) }) },
  ];
  measureCpu();
  const peak = await record(`mixed Okta-like workload (create, PUT, push to ${MIXED_TEAMS} teams, deactivate), peak`, await autocannon({
    url, connections: CONNECTIONS, duration: SECONDS, headers: scimHeaders, requests: workload("m"),
  }));
  const half = Math.max(1, Math.floor(peak.rps / 2));
  for (let connections = 1; connections <= CONNECTIONS; connections *= 2) {
    measureCpu();
    const result = await autocannon({ url, connections, duration: SECONDS, headers: scimHeaders, requests: workload(`mh${connections}`) });
    if (result.requests.average >= half || connections * 2 > CONNECTIONS) {
      await record(`mixed workload at half of peak (${half}/s), paced by ${connections} connections`, result);
      break;
    }
  }
}

const POOL_MAX = 20;
let receiverUrl = "";
let extraServerEnv: Record<string, string> = {};

/** 0. A new tenant's first minute, on a server and database of its own (bench/freshTenant.ts). */
function fresh(): Promise<void> {
  return freshTenant({
    baseUrl: baseUrl!, adminKey: ADMIN_KEY, connections: CONNECTIONS, seconds: SECONDS, poolMax: POOL_MAX, webhookUrl: receiverUrl,
    serverEnv: { ROLLCALL_SCIM_RATE_LIMIT: "0", DATABASE_POOL_MAX: String(POOL_MAX), ...extraServerEnv },
    mapping: MAPPING, userBody, seedUsers, measureCpu, record,
  });
}

const PHASE_RUNNERS: Record<string, (bench: Bench) => Promise<void>> = { fresh, creates, reads, groups: groupPatches, mixed };

async function main(): Promise<void> {
  const fresh = await createFreshDatabase(baseUrl!, "rollcall_bench");
  const receiver = await startWebhookSink();
  // BENCH_SERVER_ENV='{"NAME":"value"}' adds settings to the server's environment (for experiments).
  const extraEnv = JSON.parse(process.env.BENCH_SERVER_ENV ?? "{}") as Record<string, string>;
  extraServerEnv = extraEnv;
  receiverUrl = receiver.url;
  // BENCH_DISPATCHER=separate runs the webhook dispatcher as its own process (`rollcall dispatch`, the
  // Helm chart's dispatcher workload) instead of inside the SCIM server.
  const separateDispatcher = process.env.BENCH_DISPATCHER === "separate";
  const server = await startServerProcess(fresh.url, ADMIN_KEY, {
    ROLLCALL_SCIM_RATE_LIMIT: "0", DATABASE_POOL_MAX: String(POOL_MAX), ...(separateDispatcher ? { ROLLCALL_ENABLE_DISPATCHER: "false" } : {}), ...extraEnv,
  });
  serverPid = server.pid;
  const dispatcher = separateDispatcher ? await startServerProcess(fresh.url, ADMIN_KEY, { DATABASE_POOL_MAX: "5" }, [], "dispatch") : undefined;
  const db = new pg.Client({ connectionString: fresh.url });
  await db.connect();
  mainDb = db;
  try {
    const org = await adminCall(server.url, "POST", "/v1/organizations", { name: "Bench Corp" });
    const token = (await adminCall(server.url, "POST", `/v1/organizations/${org.id}/scim/tokens`, { name: "bench" })).token!;
    await adminCall(server.url, "PUT", `/v1/organizations/${org.id}/scim/attribute-mappings`, { mapping: MAPPING });
    await adminCall(server.url, "POST", `/v1/organizations/${org.id}/webhook_endpoints`, { url: receiver.url });
    const bench: Bench = { url: server.url, db, scimHeaders: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" } };
    for (const [phase, run] of Object.entries(PHASE_RUNNERS)) if (PHASES.has(phase)) await run(bench);

    // Every event recorded during the run must reach the consumer: wait (bounded) for the outbox to drain.
    const drainDeadline = Date.now() + 60_000;
    const pendingNow = async () => (await db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'`)).rows[0].n as number;
    while ((await pendingNow()) > 0 && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 250));
    const pending = await pendingNow();
    const events = (await db.query(`SELECT count(*)::int AS n FROM events`)).rows[0].n as number;
    const sink = await receiver.stats();
    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
    const webhooks = { dispatcher: separateDispatcher ? "separate process" : "in the server process", events, delivered: sink.received, distinct_webhook_ids: sink.distinct, pending_after_drain: pending };
    console.log(`\nmachine: ${machine}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    console.log(`webhooks (dispatcher ${webhooks.dispatcher}): ${events} events recorded, ${sink.distinct} distinct delivered (${sink.received} requests), ${pending} still pending`);
    console.table(rows);
    await writeFile(new URL("./results.json", import.meta.url), `${JSON.stringify({ machine, seconds: SECONDS, connections: CONNECTIONS, at: new Date().toISOString(), rows, webhooks }, null, 2)}\n`);
  } finally {
    await db.end();
    await server.stop();
    await dispatcher?.stop();
    await receiver.stop();
    await fresh.drop();
  }
}

await main();
