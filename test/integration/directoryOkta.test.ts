import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createReconcileScheduler, type ScheduleFn } from "../../reconciler/scheduler.ts";
import { reconcileDepsFrom } from "../../reconciler/deps.ts";
import { TEST_ADMIN_KEY, TEST_ENCRYPTION_KEY } from "../helpers/testService.ts";
import { shared } from "../helpers/rootHooks.ts";
import { admin } from "../helpers/http.ts";
import { startFakeOkta, type FakeOkta } from "../fakes/okta.ts";
import { eventsOf, membersOf, oktaUser, oktaWorld, reconcileVia, rowsOf, usersOf } from "../helpers/directoryWorld.ts";

/*
 * Okta drift that never arrives over SCIM (Okta's own provisioning guide): suspending or
 * deactivating a user without unassigning sends nothing; users assigned before provisioning was
 * enabled are never pushed; an unassigned group leaves its members behind; profile changes can
 * be missed. Each scenario: the fake Okta changes, a report run finds it, a repair run fixes it
 * through the SCIM commands, with the webhooks a consumer needs.
 */
describe("directory reconcile against Okta", function () {
  this.timeout(60_000);
  let fake: FakeOkta;

  before(function () {
    // Repairs need a connection besides the run's lock: PostgreSQL, not the one-connection embedded database.
    if (!shared.databaseUrl) this.skip();
  });
  // One Okta org (one app) per scenario, like one customer.
  beforeEach(async () => {
    fake = await startFakeOkta({ appId: "0oa_rollcall", apiToken: "00-okta-token", pageSize: 3 });
  });
  afterEach(async () => fake?.close());

  const kindsOf = (run: { findings: Array<{ kind: string }> }) => run.findings.map((f) => f.kind).filter((k) => k.startsWith("idp_")).sort();

  it("finds nothing when Okta and Rollcall agree, across pages of 3", async () => {
    const world = await oktaWorld(fake, { users: 7, groups: [{ name: "Eng", members: [0, 1, 2, 3] }] });
    const res = await reconcileVia(world.orgId, { source: "idp" });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.summary.total).to.equal(0);
    expect(res.body.summary.directories[0]).to.include({ provider: "okta", mode: "full", users_seen: 7, groups_seen: 1 });
  });

  it("reports a user suspended in Okta without unassignment, and repair deprovisions it with scimUser.deprovisioned", async () => {
    const world = await oktaWorld(fake, { users: 6 });
    const suspended = world.oktaUsers[2]!;
    suspended.status = "SUSPENDED";
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(report.status, report.text).to.equal(201);
    expect(report.body.findings).to.have.length(1);
    expect(report.body.findings[0]).to.deep.include({
      kind: "idp_user_inactive", reason: "suspended_in_idp", subject: { type: "user", id: world.userIds.get(suspended.id) }, expected: { active: false }, action: "deactivate_user",
    });
    expect(report.body.findings[0].idp).to.include({ status: "SUSPENDED", active: false });
    expect(report.body.findings[0].stored).to.include({ active: true, user_name: suspended.login });
    expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);

    const repair = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(repair.status, repair.text).to.equal(201);
    expect(repair.body.summary).to.include({ repaired: 1, repair_failed: 0 });
    const user = (await usersOf(world.orgId)).find((u) => u.id === world.userIds.get(suspended.id))!;
    expect(user.active).to.equal(false);
    const events = await eventsOf(world.orgId);
    expect(events.filter((e) => e.type === "scimUser.deprovisioned").map((e) => e.subject_id)).to.deep.equal([user.id]);
    const audit = await rowsOf<{ actor_type: string; actor_id: string; action: string }>(`SELECT actor_type, actor_id, action FROM audit_log WHERE organization_id = $1 AND subject_id = $2 AND actor_type = 'reconciler'`, [world.orgId, user.id]);
    expect(audit).to.deep.equal([{ actor_type: "reconciler", actor_id: repair.body.id, action: "user.deactivated" }]);
    expect((await reconcileVia(world.orgId, { source: "idp" })).body.summary.total).to.equal(0);
    const drift = events.filter((e) => e.type === "reconciler.drift_detected");
    expect(drift.map((e) => (e.payload.data.reconcile_run as { summary: { counts: Record<string, number> } }).summary.counts.idp_user_inactive)).to.deep.equal([1, 1]);
    expect((drift[0]!.payload.data.findings_sample as Array<{ kind: string }>).map((f) => f.kind)).to.deep.equal(["idp_user_inactive"]);
  });

  it("reports a user deactivated in Okta (DEPROVISIONED) and repair deactivates it here", async () => {
    const world = await oktaWorld(fake, { users: 6 });
    const gone = world.oktaUsers[0]!;
    gone.status = "DEPROVISIONED";
    const repair = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(kindsOf(repair.body)).to.deep.equal(["idp_user_inactive"]);
    expect(repair.body.findings[0].reason).to.equal("deactivated_in_idp");
    expect((await usersOf(world.orgId)).find((u) => u.id === world.userIds.get(gone.id))!.active).to.equal(false);
  });

  it("reports a user unassigned in Okta without a SCIM call as unknown, and repair deactivates it", async () => {
    const world = await oktaWorld(fake, { users: 6 });
    const unassigned = world.oktaUsers[4]!;
    fake.state.appUsers.delete(unassigned.id);
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(kindsOf(report.body)).to.deep.equal(["idp_user_unknown"]);
    expect(report.body.findings[0]).to.deep.include({ reason: "not_assigned_in_idp", subject: { type: "user", id: world.userIds.get(unassigned.id) }, action: "deactivate_user" });
    await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect((await usersOf(world.orgId)).filter((u) => !u.active).map((u) => u.id)).to.deep.equal([world.userIds.get(unassigned.id)]);
    expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimUser.deprovisioned").map((e) => e.subject_id)).to.deep.equal([world.userIds.get(unassigned.id)]);
  });

  it("backfills a user assigned before SCIM was enabled, with Okta's id as externalId and scimUser.provisioned", async () => {
    const world = await oktaWorld(fake, { users: 3 });
    const early = oktaUser(fake, { firstName: "Early", lastName: "Bird" });
    fake.state.appUsers.set(early.id, "USER");
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(report.body.findings).to.have.length(1);
    expect(report.body.findings[0]).to.deep.include({
      kind: "idp_user_missing", reason: "assigned_never_provisioned", subject: { type: "idp_user", idp_id: early.id, user_name: early.login }, action: "provision_user",
    });
    const repair = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(repair.body.summary.repaired).to.equal(1);
    const created = (await usersOf(world.orgId)).find((u) => u.external_id === early.id)!;
    expect(created).to.include({ user_name: early.login, active: true });
    expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimUser.provisioned").map((e) => e.subject_id)).to.include(created.id);
  });

  it("reports a group unassigned in Okta whose team kept its members; repair needs force because it empties the team", async () => {
    const world = await oktaWorld(fake, { users: 8, groups: [{ name: "Sales", members: [0, 1, 2] }, { name: "Ops", members: [3] }] });
    const [salesId] = [...world.teamIds.keys()];
    fake.state.appGroups.delete(salesId!);
    const teamId = world.teamIds.get(salesId!)!;
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(kindsOf(report.body)).to.deep.equal(["idp_group_missing"]);
    expect(report.body.findings[0]).to.deep.include({ reason: "group_not_assigned_in_idp", subject: { type: "team", id: teamId }, action: "delete_team" });
    expect(report.body.findings[0].stored).to.include({ members: 3 });

    const guarded = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(guarded.status).to.equal(409);
    expect(guarded.body.errors[0].code).to.equal("blast_radius_exceeded");
    expect(guarded.body.errors[0].meta.teams_emptied).to.deep.equal([teamId]);
    expect(await membersOf(teamId)).to.have.length(3);

    const forced = await reconcileVia(world.orgId, { source: "idp", repair: true, force: true });
    expect(forced.status, forced.text).to.equal(201);
    expect(await membersOf(teamId)).to.deep.equal([]);
    expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimGroup.deleted").map((e) => e.subject_id)).to.deep.equal([teamId]);
  });

  it("reports stale and missing members of a pushed group (Okta's inconsistent membership data) and repairs them", async () => {
    const world = await oktaWorld(fake, { users: 6, groups: [{ name: "Design", members: [0, 1, 2] }] });
    const [groupId] = [...world.teamIds.keys()];
    const group = fake.state.groups.get(groupId!)!;
    group.members.delete(world.oktaUsers[2]!.id);
    group.members.add(world.oktaUsers[5]!.id);
    const teamId = world.teamIds.get(groupId!)!;
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(kindsOf(report.body)).to.deep.equal(["idp_member_missing", "idp_member_stale"]);
    await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(await membersOf(teamId)).to.deep.equal([0, 1, 5].map((i) => world.userIds.get(world.oktaUsers[i]!.id)!).sort());
    const updates = (await eventsOf(world.orgId)).filter((e) => e.type === "scimGroup.updated" && e.subject_id === teamId);
    expect(updates.map((e) => [e.payload.data.members_added, e.payload.data.members_removed])).to.deep.include.members([
      [[world.userIds.get(world.oktaUsers[5]!.id)], []],
      [[], [world.userIds.get(world.oktaUsers[2]!.id)]],
    ]);
  });

  it("reports a profile change that never arrived and repair writes it through SCIM (scimUser.updated)", async () => {
    const world = await oktaWorld(fake, { users: 5 });
    const renamed = world.oktaUsers[1]!;
    renamed.lastName = "Hopper";
    renamed.email = `grace.${renamed.id}@acme.example`;
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(report.body.findings).to.have.length(1);
    expect(report.body.findings[0]).to.deep.include({
      kind: "idp_attribute_drift", reason: "profile_change_never_arrived", action: "update_user_attributes",
      stored: { "emails[primary].value": renamed.login, "name.familyName": renamed.id },
      idp: { "emails[primary].value": renamed.email, "name.familyName": "Hopper" },
    });
    await reconcileVia(world.orgId, { source: "idp", repair: true });
    const app = (await admin(shared.service.url!, "GET", `/v1/organizations/${world.orgId}/users/${world.userIds.get(renamed.id)}`)).body;
    expect(app.last_name).to.equal("Hopper");
    expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimUser.updated").map((e) => e.subject_id)).to.deep.equal([world.userIds.get(renamed.id)]);
    expect((await reconcileVia(world.orgId, { source: "idp" })).body.summary.total).to.equal(0);
  });

  it("holds the blast-radius guard when Okta answers an empty assignment list: nobody is deprovisioned", async () => {
    const world = await oktaWorld(fake, { users: 6 });
    fake.options.emptyAppUsers = true;
    try {
      const report = await reconcileVia(world.orgId, { source: "idp" });
      expect(report.body.summary.counts.idp_user_unknown).to.equal(6);
      const repair = await reconcileVia(world.orgId, { source: "idp", repair: true });
      expect(repair.status).to.equal(409);
      expect(repair.body.errors[0]).to.deep.include({ code: "blast_radius_exceeded" });
      expect(repair.body.errors[0].meta).to.include({ deactivations: 6, active_users: 6, max_deactivation_ratio: 0.2 });
      expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);
      expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimUser.deprovisioned")).to.deep.equal([]);
      const run = await admin(shared.service.url!, "GET", `/v1/organizations/${world.orgId}/reconcile_runs/${repair.body.errors[0].meta.run_id}`);
      expect(run.body).to.include({ status: "failed" });
      expect(run.body.error).to.match(/^blast_radius_exceeded: the repair would deactivate 6 of 6 active users/);
    } finally {
      fake.options.emptyAppUsers = false;
    }
  });

  it("fails a run with revoked credentials with Okta's error and changes nothing", async () => {
    const world = await oktaWorld(fake, { users: 5 });
    world.oktaUsers[0]!.status = "SUSPENDED";
    const original = fake.options.apiToken;
    fake.options.apiToken = "rotated-by-the-customer";
    try {
      const res = await reconcileVia(world.orgId, { source: "idp", repair: true });
      expect(res.status).to.equal(502);
      expect(res.body.errors[0].code).to.equal("directory_pull_failed");
      expect(res.body.errors[0].message).to.match(/^okta refused the directory credentials \(HTTP 401\): E0000011 Invalid token provided\. Nothing was changed/);
      expect(res.text).not.to.contain("00-okta-token");
      expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);
    } finally {
      fake.options.apiToken = original;
    }
  });

  it("rides out 429 with Okta's rate-limit headers and a 503 blip", async () => {
    const world = await oktaWorld(fake, { users: 4 });
    fake.options.fail = { status: 429, count: 1 };
    const throttled = await reconcileVia(world.orgId, { source: "idp" });
    expect(throttled.status, throttled.text).to.equal(201);
    fake.options.fail = { status: 503, count: 2 };
    const blip = await reconcileVia(world.orgId, { source: "idp" });
    expect(blip.status, blip.text).to.equal(201);
    expect(blip.body.summary.directories[0].users_seen).to.equal(4);
  });

  it("never touches another organization's users, even ones Okta also assigns", async () => {
    const a = await oktaWorld(fake, { users: 5 });
    const b = await oktaWorld(fake, { users: 5 });
    a.oktaUsers[0]!.status = "SUSPENDED";
    const res = await reconcileVia(b.orgId, { source: "idp", repair: true });
    expect(res.status, res.text).to.equal(201);
    // b's directory sees a's users as assigned (same fake app) but can only create them in b, never change a's rows.
    expect((await usersOf(a.orgId)).every((u) => u.active)).to.equal(true);
    expect((await rowsOf(`SELECT 1 FROM audit_log WHERE organization_id = $1 AND actor_type = 'reconciler'`, [a.orgId]))).to.deep.equal([]);
  });

  it("pulls a directory on its own cadence: full first, nothing before its interval, incremental within the day, full again after it", async () => {
    const world = await oktaWorld(fake, { users: 5 });
    let now = Date.now();
    let tick: (() => Promise<void>) | undefined;
    const schedule: ScheduleFn = (_expr, fn) => ((tick = fn), { stop: () => undefined });
    const deps = { ...reconcileDepsFrom(shared.service.deps), clock: { now: () => new Date(now) } };
    const scheduler = createReconcileScheduler(deps, { cron: "*/15 * * * *", schedule, organizationId: world.orgId });
    scheduler.start();
    const latest = async () => (await admin(shared.service.url!, "GET", `/v1/organizations/${world.orgId}/reconcile_runs?limit=1`)).body.data[0];
    try {
      await tick!();
      expect((await latest()).summary).to.deep.include({ source: "all" });
      expect((await latest()).summary.directories[0].mode).to.equal("full");
      now += 15 * 60_000;
      await tick!();
      expect((await latest()).summary.source).to.equal("local");
      now += 46 * 60_000;
      world.oktaUsers[1]!.status = "SUSPENDED";
      fake.bump(world.oktaUsers[1]!.id, new Date(Date.now() + 5_000));
      await tick!();
      const incremental = await latest();
      expect(incremental.summary.directories[0]).to.include({ mode: "incremental", users_seen: 1 });
      expect(incremental.summary.counts.idp_user_inactive).to.equal(1);
      now += 24 * 3_600_000;
      await tick!();
      expect((await latest()).summary.directories[0].mode).to.equal("full");
    } finally {
      await scheduler.stop();
    }
  });

  it("rollcall reconcile --once --source idp reconciles against the directory and prints its findings", async () => {
    const world = await oktaWorld(fake, { users: 5 });
    world.oktaUsers[0]!.status = "SUSPENDED";
    const env = { ...process.env, DATABASE_URL: shared.databaseUrl!, ROLLCALL_ADMIN_KEY: TEST_ADMIN_KEY, ROLLCALL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: "silent", NODE_ENV: "test" as const };
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "server/cli.ts", "reconcile", "--once", "--org", world.orgId, "--source", "idp", "--repair"], { env, cwd: process.cwd() });
    expect(stdout.split("\n")[0]).to.match(new RegExp(`^${world.orgId} succeeded run_\\w+ findings=1 .*idp_user_inactive=1 .* repaired=1 repair_failed=0$`));
    expect((await usersOf(world.orgId)).filter((u) => !u.active)).to.have.length(1);
  });
});
