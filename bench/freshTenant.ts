/**
 * A new tenant's first minute: a server on a database of its own, nothing vacuumed or analyzed, as
 * a new customer's first sync meets it. Creates from the first second, then an Okta-style first sync
 * (a `userName eq` lookup that finds nobody, then the create), then lookups of users seeded straight
 * in SQL at 2,000 and then 100,000 users, with no VACUUM/ANALYZE in between. Each figure is printed
 * beside its limit: the same database work sent straight from this process (bench/sqlLimit.ts).
 */
import autocannon, { type Request as LoadRequest, type Result } from "autocannon";
import pg from "pg";
import { createFreshDatabase } from "../test/helpers/testDatabase.ts";
import { startServerProcess } from "./scimServer.ts";
import { createLimit, lookupLimit, type LimitResult } from "./sqlLimit.ts";

export type FreshTenantOptions = {
  baseUrl: string;
  adminKey: string;
  serverEnv: Record<string, string>;
  connections: number;
  seconds: number;
  /** Pool size of the server: the limit uses as many connections. */
  poolMax: number;
  webhookUrl: string;
  mapping: Record<string, string>;
  userBody(prefix: string): string;
  seedUsers(db: pg.Client, orgId: string, connId: string, count: number, tag: string, from?: number): Promise<void>;
  measureCpu(pid: number, db: pg.Client): void;
  record(scenario: string, result: Result, limit?: () => Promise<LimitResult>): Promise<unknown>;
};

/** Whether PostgreSQL has statistics for users yet (autovacuum's ANALYZE may run during the phase). */
async function statsState(db: pg.Client): Promise<string> {
  const { rows } = await db.query(
    `SELECT c.reltuples::bigint AS reltuples, s.n_live_tup::bigint AS live, s.last_autoanalyze, s.last_analyze
       FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = 'users'::regclass`,
  );
  const row = rows[0] as { reltuples: string; live: string; last_autoanalyze: Date | null; last_analyze: Date | null };
  const analyzed = row.last_autoanalyze ?? row.last_analyze;
  return `users: ${row.live} live rows, ${analyzed ? `analyzed at ${analyzed.toISOString()}` : "never analyzed"} (reltuples ${row.reltuples})`;
}

/** Rows of users PostgreSQL has read so far, by index or by sequential scan (its cumulative statistics). */
async function usersRowsRead(db: pg.Client): Promise<number> {
  // Backends publish their counts at most once a second when busy, and at once when idle.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await db.query(`SELECT pg_stat_clear_snapshot()`);
  const { rows } = await db.query(`SELECT coalesce(idx_tup_fetch, 0) + seq_tup_read AS n FROM pg_stat_user_tables WHERE relid = 'users'::regclass`);
  return Number(rows[0].n);
}

/** Waits (at most 60 s) until the webhook outbox is delivered, so a phase does not measure the dispatcher's catch-up. */
async function outboxDrained(db: pg.Client): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'`);
    if (rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function freshTenant(options: FreshTenantOptions): Promise<void> {
  const { adminKey, connections, seconds } = options;
  const fresh = await createFreshDatabase(options.baseUrl, "rollcall_fresh");
  const server = await startServerProcess(fresh.url, adminKey, options.serverEnv);
  const db = new pg.Client({ connectionString: fresh.url });
  await db.connect();
  const startedAt = Date.now();
  const since = () => `${((Date.now() - startedAt) / 1000).toFixed(0)} s after start`;
  try {
    const admin = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method, headers: { Authorization: `Bearer ${adminKey}`, "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<Record<string, string>>;
    };
    const org = await admin("POST", "/v1/organizations", { name: "Fresh Corp" });
    const token = (await admin("POST", `/v1/organizations/${org.id}/scim/tokens`, { name: "bench" })).token!;
    await admin("PUT", `/v1/organizations/${org.id}/scim/attribute-mappings`, { mapping: options.mapping });
    await admin("POST", `/v1/organizations/${org.id}/webhook_endpoints`, { url: options.webhookUrl });
    const tenantRow = (await db.query(
      `SELECT t.enterprise_connection_id, (SELECT max(a.version) FROM attribute_mappings a WHERE a.organization_id = t.organization_id) AS mapping_version
         FROM scim_tokens t WHERE t.organization_id = $1`, [org.id],
    )).rows[0] as { enterprise_connection_id: string; mapping_version: number | null };
    const tenant = { organizationId: org.id!, enterpriseConnectionId: tenantRow.enterprise_connection_id, mappingVersion: tenantRow.mapping_version };
    const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" };
    const run = (requests: Parameters<typeof autocannon>[0]["requests"]) => autocannon({ url: server.url, connections, duration: seconds, headers, requests });

    console.log(`fresh tenant: ${await statsState(db)}`);
    // 1. Creates from the first second: no warm-up, no statistics.
    options.measureCpu(server.pid, db);
    const creates = await run([{ method: "POST", path: "/scim/v2/Users", setupRequest: (r: LoadRequest) => ({ ...r, body: options.userBody("f") }) }]);
    await options.record(`fresh tenant: user creates from the first second (${since()})`, creates);

    // 2. Okta's first sync: a lookup that finds nobody, then the create.
    let sync = 0;
    options.measureCpu(server.pid, db);
    const firstSync = await run([
      {
        method: "GET",
        setupRequest: (r: LoadRequest, ctx: Record<string, unknown>) => {
          ctx.body = options.userBody(`s${sync++}x`);
          const userName = (JSON.parse(ctx.body as string) as { userName: string }).userName;
          return { ...r, path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}` };
        },
      },
      { method: "POST", path: "/scim/v2/Users", setupRequest: (r: LoadRequest, ctx: Record<string, unknown>) => ({ ...r, body: ctx.body as string }) },
    ]);
    await options.record(`fresh tenant: first sync, lookup then create, requests (${since()})`, firstSync);
    console.log(`fresh tenant: ${await statsState(db)}`);

    // 3. Lookups of seeded users at 2,000 and then 100,000, with no VACUUM or ANALYZE.
    const sizes = (process.env.BENCH_FRESH_SIZES ?? "2000,100000").split(",").map(Number);
    let seeded = 0;
    for (const size of sizes) {
      await options.seedUsers(db, tenant.organizationId, tenant.enterpriseConnectionId, size - seeded, "fresh", seeded + 1);
      seeded = size;
      await outboxDrained(db);
      console.log(`fresh tenant: seeded to ${size}; ${await statsState(db)}`);
      const readBefore = await usersRowsRead(db);
      const userName = () => `fresh${1 + Math.floor(Math.random() * size)}@seed.example.com`;
      const lookups = [{ method: "GET" as const, setupRequest: (r: LoadRequest) => ({ ...r, path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName()}"`)}` }) }];
      options.measureCpu(server.pid, db);
      const result = await run(lookups);
      const readPerLookup = ((await usersRowsRead(db)) - readBefore) / Math.max(1, result.requests.total);
      console.log(`fresh tenant: users rows PostgreSQL read per lookup: ${readPerLookup.toFixed(1)} (1 when each probe reads only its user)`);
      await options.record(`fresh tenant: userName eq lookups, ${size.toLocaleString("en")} seeded users (${since()})`, result,
        () => lookupLimit(fresh.url, tenant.organizationId, userName, { connections: options.poolMax, seconds }));
    }
    options.measureCpu(server.pid, db);
    const again = await run([{ method: "POST", path: "/scim/v2/Users", setupRequest: (r: LoadRequest) => ({ ...r, body: options.userBody("g") }) }]);
    await options.record(`fresh tenant: user creates again, beside their limit (${since()})`, again,
      () => createLimit(fresh.url, tenant, options.userBody, { connections: options.poolMax, seconds }));
    console.log(`fresh tenant: ${await statsState(db)}`);
  } finally {
    await db.end();
    await server.stop();
    await fresh.drop();
  }
}
