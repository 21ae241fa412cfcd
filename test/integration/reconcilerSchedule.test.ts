import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { TEST_ADMIN_KEY, TEST_ENCRYPTION_KEY } from "../helpers/testService.ts";
import { createReconcileScheduler, reconcilerWorker, type ScheduleFn } from "../../reconciler/scheduler.ts";
import type { ReconcileDeps } from "../../reconciler/job.ts";

const base = () => shared.service.url!;
const runFile = promisify(execFile);
type RunJson = { id: string; trigger: string; status: string; repair: boolean; summary: Record<string, unknown> };
const runsOf = async (orgId: string): Promise<RunJson[]> => (await admin(base(), "GET", `/v1/organizations/${orgId}/reconcile_runs`)).body.data;
const deps = (): ReconcileDeps => {
  const { db, logger, metrics, clock } = shared.service.deps;
  return { sequelize: db.sequelize, logger, metrics, clock };
};

/** A scheduler that never fires by itself: the test calls the tick it was given. */
function fakeSchedule(): { schedule: ScheduleFn; fire(): Promise<void>; expression: () => string | undefined; stopped: () => boolean } {
  let tick: (() => Promise<void>) | undefined;
  let expression: string | undefined;
  let stopped = false;
  return {
    schedule: (expr, fn) => {
      expression = expr;
      tick = fn;
      return { stop: () => void (stopped = true) };
    },
    fire: () => tick!(),
    expression: () => expression,
    stopped: () => stopped,
  };
}

async function driftedOrg(): Promise<{ orgId: string; userId: string }> {
  const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
  const user = await scim(base(), token, "POST", "/Users", scimUserBody({ name: { givenName: "Ada", familyName: "L" } }));
  await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: { "name.givenName": "{{ value | upcase }}.first_name" } });
  return { orgId, userId: user.body.id };
}

describe("reconciler schedule", () => {
  it("runs a pass on each tick of its cron expression, recorded with trigger schedule", async () => {
    const { orgId } = await driftedOrg();
    const fake = fakeSchedule();
    const scheduler = createReconcileScheduler(deps(), { cron: "*/15 * * * *", schedule: fake.schedule, organizationId: orgId });
    scheduler.start();
    expect(fake.expression()).to.equal("*/15 * * * *");
    expect(await runsOf(orgId)).to.deep.equal([]);
    await fake.fire();
    await fake.fire();
    const runs = await runsOf(orgId);
    expect(runs.map((r) => [r.trigger, r.status, r.repair])).to.deep.equal([["schedule", "succeeded", false], ["schedule", "succeeded", false]]);
    expect(runs[0]!.summary).to.have.nested.property("counts.mapping_drift", 1);
    await scheduler.stop();
    expect(fake.stopped()).to.equal(true);
  });

  it("repairs on schedule for an organization whose reconcile_repair setting is on", async () => {
    const { orgId, userId } = await driftedOrg();
    // There is no admin API for organization settings yet; the column is written directly.
    await shared.service.deps.db.sequelize.query(`UPDATE organizations SET settings = settings || '{"reconcile_repair": true}' WHERE id = $1`, { bind: [orgId] });
    const fake = fakeSchedule();
    const scheduler = createReconcileScheduler(deps(), { cron: "* * * * *", schedule: fake.schedule, organizationId: orgId });
    scheduler.start();
    await fake.fire();
    await scheduler.stop();
    const [run] = await runsOf(orgId);
    expect(run).to.deep.include({ trigger: "schedule", repair: true });
    expect(run!.summary).to.include({ repaired: 1 });
    expect((await admin(base(), "GET", `/v1/organizations/${orgId}/users/${userId}`)).body.first_name).to.equal("ADA");
  });

  it("refuses an invalid cron expression up front", () => {
    expect(() => createReconcileScheduler(deps(), { cron: "every now and then" })).to.throw(/ROLLCALL_RECONCILE_CRON/);
  });

  it("fires with node-cron as a worker of the running service (a one-second cron, no long sleep)", async function () {
    this.timeout(15_000);
    const { orgId } = await driftedOrg();
    const worker = reconcilerWorker({ cron: "* * * * * *", organizationId: orgId })(shared.service.deps);
    await worker.start();
    try {
      const deadline = Date.now() + 5_000;
      let runs: RunJson[] = [];
      while (!runs.some((r) => r.status === "succeeded") && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        runs = await runsOf(orgId);
      }
      expect(runs.find((r) => r.status === "succeeded")).to.deep.include({ trigger: "schedule" });
    } finally {
      await worker.stop();
    }
  });
});

describe("rollcall reconcile (CLI)", function () {
  this.timeout(60_000);
  before(function () {
    if (!shared.databaseUrl) this.skip(); // the embedded database belongs to the test process
  });
  const env = () => ({ ...process.env, DATABASE_URL: shared.databaseUrl!, ROLLCALL_ADMIN_KEY: TEST_ADMIN_KEY, ROLLCALL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: "silent", NODE_ENV: "test" });
  const cli = (args: string[]) => runFile(process.execPath, ["--import", "tsx", "server/cli.ts", ...args], { env: env(), cwd: process.cwd() });

  it("--once --org --repair reconciles that organization, prints a summary and exits 0", async () => {
    const { orgId, userId } = await driftedOrg();
    const { stdout } = await cli(["reconcile", "--once", "--org", orgId, "--repair"]);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).to.match(new RegExp(`^${orgId} succeeded run_\\w+ findings=1 mapping_drift=1 .* repaired=1 repair_failed=0$`));
    expect(lines.at(-1)).to.equal("reconciled 1 organization(s): 1 succeeded, 0 failed, 0 skipped");
    const [run] = await runsOf(orgId);
    expect(run).to.deep.include({ trigger: "cli", repair: true, status: "succeeded" });
    expect((await admin(base(), "GET", `/v1/organizations/${orgId}/users/${userId}`)).body.first_name).to.equal("ADA");
  });

  it("exits 2 with the usage on an unknown flag", async () => {
    const failure = await cli(["reconcile", "--once", "--everything"]).then(() => null, (error: { code: number; stderr: string }) => error);
    expect(failure).to.not.equal(null);
    expect(failure!.code).to.equal(2);
    expect(failure!.stderr).to.match(/--everything/).and.to.match(/reconcile \[--once\] \[--org ID\] \[--repair\]/);
  });
});
