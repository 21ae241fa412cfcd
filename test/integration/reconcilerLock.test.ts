import { expect } from "chai";
import pg from "pg";
import { QueryTypes, type Sequelize } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { createSequelize } from "../../server/db/database.ts";
import { reconcileOrganization, type ReconcileDeps } from "../../reconciler/job.ts";
import { orgLockKey } from "../../reconciler/orgLock.ts";

/*
 * Two runs of one organization never overlap. "Another replica" is a second Sequelize pool on the
 * same database; a run is held mid-way deterministically by a row lock on the user it must repair.
 * These need a second connection, so they run against DATABASE_URL only (PGlite takes one).
 */

const base = () => shared.service.url!;
const sequelize = () => shared.service.deps.db.sequelize;
const rows = <T extends object>(query: string, bind: unknown[]) => sequelize().query<T>(query, { bind, type: QueryTypes.SELECT });

const pools: Sequelize[] = [];
/** A separate pool on the test database, like another replica's. */
function otherPool(poolMax = 10): Sequelize {
  const { config, logger } = shared.service.deps;
  const pool = createSequelize(shared.databaseUrl!, config, logger, poolMax);
  pools.push(pool);
  return pool;
}
const depsOf = (pool: Sequelize): ReconcileDeps => ({ sequelize: pool, logger: shared.service.deps.logger, metrics: shared.service.deps.metrics, clock: shared.service.deps.clock });

/** An org with one drifted user (mapping changed after provisioning). */
async function driftedOrg(): Promise<{ orgId: string; userId: string }> {
  const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
  const user = await scim(base(), token, "POST", "/Users", scimUserBody({ name: { givenName: "Ada", familyName: "L" } }));
  await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: { "name.givenName": "{{ value | upcase }}.first_name" } });
  return { orgId, userId: user.body.id };
}

/** A client holding a row lock on a user, so a repair of that user waits (the run keeps its org lock meanwhile). */
async function blockUser(userId: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: shared.databaseUrl });
  await client.connect();
  await client.query("BEGIN");
  await client.query("SELECT id FROM users WHERE id = $1 FOR UPDATE", [userId]);
  return client;
}

async function runningRun(orgId: string): Promise<void> {
  const deadline = Date.now() + 8_000;
  while ((await rows(`SELECT id FROM reconcile_runs WHERE organization_id = $1 AND status = 'running'`, [orgId])).length === 0) {
    if (Date.now() > deadline) throw new Error("the first run never started");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("reconciler advisory lock", function () {
  before(function () {
    // Other connections hold the lock or run a second pool: the embedded database is one connection, held by the shared service.
    if (!shared.databaseUrl) this.skip();
  });
  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it("skips an organization whose lock another process holds: 409, a skipped run, a skipped metric", async () => {
    const { orgId } = await driftedOrg();
    const holder = new pg.Client({ connectionString: shared.databaseUrl });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [orgLockKey(orgId)]);
      const res = await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, {});
      expect(res.status).to.equal(409);
      expect(res.contentType).to.equal("application/json");
      expect(res.body.errors[0]).to.deep.include({ code: "reconcile_in_progress" });
      expect(res.body.errors[0].meta).to.include({ reason: "locked_by_another_process" });
      const run = await admin(base(), "GET", `/v1/organizations/${orgId}/reconcile_runs/${res.body.errors[0].meta.run_id}`);
      expect(run.body).to.deep.include({ status: "skipped", summary: { skipped_because: "locked_by_another_process" }, findings: [] });
      const metrics = await request(base(), "GET", "/metrics");
      expect(metrics.text).to.match(/rollcall_reconciler_runs_total\{outcome="skipped"\} [1-9]/);
    } finally {
      await holder.end();
    }
    const after = await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, {});
    expect(after.status).to.equal(201);
  });

  it("lets only one of two replicas reconcile an organization at a time; the other skips and says so", async () => {
    const { orgId, userId } = await driftedOrg();
    const blocker = await blockUser(userId);
    const first = reconcileOrganization(depsOf(otherPool()), { organizationId: orgId, repair: true, trigger: "schedule" });
    try {
      await runningRun(orgId);
      const second = await reconcileOrganization(depsOf(otherPool()), { organizationId: orgId, repair: true, trigger: "schedule" });
      expect(second.skipped).to.equal("locked_by_another_process");
      expect(second.run).to.deep.include({ status: "skipped" });
    } finally {
      await blocker.query("COMMIT");
      await blocker.end();
    }
    const done = await first;
    expect(done.run.status).to.equal("succeeded");
    expect(done.run.summary).to.include({ repaired: 1 });
  });

  it("skips a second run in the same process at once instead of queueing for a connection", async () => {
    const { orgId, userId } = await driftedOrg();
    const blocker = await blockUser(userId);
    const first = reconcileOrganization(depsOf(sequelize()), { organizationId: orgId, repair: true, trigger: "schedule" });
    try {
      await runningRun(orgId);
      const res = await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, { repair: true });
      expect(res.status).to.equal(409);
      expect(res.body.errors[0].meta).to.include({ reason: "running_in_this_process" });
    } finally {
      await blocker.query("COMMIT");
      await blocker.end();
    }
    expect((await first).run.status).to.equal("succeeded");
  });

  it("works on a one-connection pool (embedded mode): fixes are savepoints of the lock's transaction, a concurrent run skips", async () => {
    const { orgId, userId } = await driftedOrg();
    const single = otherPool(1);
    const blocker = await blockUser(userId);
    const first = reconcileOrganization(depsOf(single), { organizationId: orgId, repair: true, trigger: "cli" });
    try {
      // The run's rows are inside its transaction until it ends, so wait for it to hold the org lock.
      const deadline = Date.now() + 8_000;
      while ((await rows(`SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted
              AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)`, [orgLockKey(orgId)])).length === 0) {
        if (Date.now() > deadline) throw new Error("the one-connection run never took the lock");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const started = Date.now();
      const second = await reconcileOrganization(depsOf(single), { organizationId: orgId, repair: true, trigger: "cli" });
      expect(second.skipped).to.equal("running_in_this_process");
      expect(Date.now() - started).to.be.below(1_000);
    } finally {
      await blocker.query("COMMIT");
      await blocker.end();
    }
    const done = await first;
    expect(done.run.summary).to.include({ repaired: 1 });
    const [user] = await rows<{ first_name: string }>(`SELECT first_name FROM users WHERE id = $1`, [userId]);
    expect(user!.first_name).to.equal("ADA");
  });
});
