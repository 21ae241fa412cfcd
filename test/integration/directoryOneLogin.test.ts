import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, unique } from "../helpers/factories.ts";
import { startFakeOneLogin, type FakeOneLogin, type FakeOneLoginUser } from "../fakes/onelogin.ts";
import { eventsOf, membersOf, reconcileVia, rowsOf, usersOf } from "../helpers/directoryWorld.ts";
import { oneloginConnector } from "../../reconciler/directory/connectors/onelogin.ts";
import { DirectoryAuthError } from "../../reconciler/directory/connectors/types.ts";

/*
 * OneLogin drift: OneLogin grants apps through roles, and deleting a role sends nothing over SCIM
 * (SPEC), nor does suspending a user unless the app's rule says so. OneLogin's SCIM Provisioner
 * sends userName = the email (its default SCIM Username), no externalId, and role names as teams.
 */

const APP_ID = 1234567;
let nextId = 50_000_000;

function oneloginUser(fake: FakeOneLogin, props: Partial<FakeOneLoginUser> = {}): FakeOneLoginUser {
  const id = props.id ?? nextId++;
  const user: FakeOneLoginUser = {
    id, username: `user${id}`, email: `user${id}.${unique()}@acme.example`, firstname: "Given", lastname: `L${id}`, status: 1, state: 1, external_id: null, ...props,
  };
  fake.state.users.set(id, user);
  return user;
}

function addRole(fake: FakeOneLogin, name: string, members: number[], apps = [APP_ID]) {
  const id = nextId++;
  fake.state.roles.set(id, { id, name, apps: new Set(apps), users: new Set(members) });
  return id;
}

describe("directory reconcile against OneLogin (API v2)", function () {
  this.timeout(60_000);
  let onelogin: FakeOneLogin;

  before(function () {
    if (!shared.databaseUrl) this.skip(); // repairs need PostgreSQL (a connection besides the run's lock)
  });
  beforeEach(async () => {
    onelogin = await startFakeOneLogin({ appId: APP_ID, clientId: "ol-client", clientSecret: "ol-secret", pageSize: 2 });
  });
  afterEach(async () => onelogin?.close());

  const base = () => shared.service.url!;

  /**
   * `count` OneLogin users with the app through an "Employees" role, provisioned here as OneLogin's
   * SCIM Provisioner sends them, plus roles pushed as teams (named like the role).
   */
  async function oneloginWorld(count: number, roles: Array<{ name: string; members: number[]; grantsApp?: boolean }> = [], employees?: number[]) {
    const { orgId, token, connectionId } = await createOrgWithToken(base(), { provider: "onelogin" });
    const users: FakeOneLoginUser[] = [];
    const ids = new Map<number, string>();
    for (let i = 0; i < count; i++) {
      const u = oneloginUser(onelogin);
      const res = await scim(base(), token, "POST", "/Users", {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: u.email,
        name: { givenName: u.firstname, familyName: u.lastname }, emails: [{ value: u.email, type: "work", primary: true }], active: true,
      });
      expect(res.status, res.text).to.equal(201);
      ids.set(u.id, res.body.id);
      users.push(u);
    }
    addRole(onelogin, `Employees ${unique()}`, (employees ?? users.map((_, i) => i)).map((i) => users[i]!.id));
    const teams = new Map<string, { roleId: number; teamId: string }>();
    for (const r of roles) {
      const name = `${r.name} ${unique()}`;
      const members = r.members.map((i) => users[i]!.id);
      const roleId = addRole(onelogin, name, members, r.grantsApp === false ? [] : [APP_ID]);
      const team = await scim(base(), token, "POST", "/Groups", {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: name, members: members.map((m) => ({ value: ids.get(m)! })),
      });
      expect(team.status, team.text).to.equal(201);
      teams.set(r.name, { roleId, teamId: team.body.id });
    }
    const dir = await admin(base(), "PUT", `/v1/organizations/${orgId}/enterprise_connections/${connectionId}/directory`, {
      provider: "onelogin", base_url: onelogin.url, app_id: String(APP_ID), credentials: { client_id: "ol-client", client_secret: "ol-secret" },
    });
    expect(dir.status, dir.text).to.equal(200);
    return { orgId, token, users, ids, teams };
  }

  const kindsOf = (run: { findings: Array<{ kind: string }> }) => run.findings.map((f) => f.kind).sort();

  it("finds nothing when OneLogin and Rollcall agree, across After-Cursor pages of 2", async () => {
    const world = await oneloginWorld(5, [{ name: "Sales", members: [0, 1, 2] }]);
    const res = await reconcileVia(world.orgId, { source: "idp" });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.summary.total, JSON.stringify(res.body.findings)).to.equal(0);
    // The Employees role grants the app but was never pushed as a team: not drift.
    expect(res.body.summary.directories[0]).to.include({ provider: "onelogin", mode: "full", users_seen: 5, groups_seen: 2 });
    expect(onelogin.requests.filter((r) => r.startsWith(`GET /api/2/apps/${APP_ID}/users?`) && r.includes("cursor="))).to.have.length(2);
    expect(onelogin.requests.filter((r) => r === "POST /auth/oauth2/v2/token")).to.have.length(1);
  });

  it("reports the team of a deleted role (no SCIM event) as idp_group_missing; repair needs force because it empties the team", async () => {
    const world = await oneloginWorld(6, [{ name: "Sales", members: [0, 1, 2] }, { name: "Ops", members: [3] }]);
    const sales = world.teams.get("Sales")!;
    onelogin.state.roles.delete(sales.roleId);
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(kindsOf(report.body)).to.deep.equal(["idp_group_missing"]);
    expect(report.body.findings[0]).to.deep.include({ reason: "group_not_assigned_in_idp", subject: { type: "team", id: sales.teamId }, action: "delete_team" });
    expect(report.body.findings[0].stored).to.include({ members: 3 });

    const guarded = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(guarded.status).to.equal(409);
    expect(guarded.body.errors[0].meta.teams_emptied).to.deep.equal([sales.teamId]);
    expect(await membersOf(sales.teamId)).to.have.length(3);

    const forced = await reconcileVia(world.orgId, { source: "idp", repair: true, force: true });
    expect(forced.status, forced.text).to.equal(201);
    expect(await membersOf(sales.teamId)).to.deep.equal([]);
    expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimGroup.deleted").map((e) => e.subject_id)).to.deep.equal([sales.teamId]);
    expect(await membersOf(world.teams.get("Ops")!.teamId)).to.have.length(1);
  });

  it("reports the users whose only way into the app was the deleted role, besides its team", async () => {
    // Contractors get the app only through their role; deleting it takes the app away from them.
    const world = await oneloginWorld(10, [{ name: "Contractors", members: [8, 9] }], [0, 1, 2, 3, 4, 5, 6, 7]);
    const contractors = world.teams.get("Contractors")!;
    onelogin.state.roles.delete(contractors.roleId);
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(kindsOf(report.body)).to.deep.equal(["idp_group_missing", "idp_user_unknown", "idp_user_unknown"]);
    expect(report.body.findings.filter((f: { kind: string }) => f.kind === "idp_user_unknown").map((f: { subject: { id: string } }) => f.subject.id).sort())
      .to.deep.equal([8, 9].map((i) => world.ids.get(world.users[i]!.id)!).sort());
    const forced = await reconcileVia(world.orgId, { source: "idp", repair: true, force: true });
    expect(forced.body.summary).to.include({ repaired: 3, repair_failed: 0 });
    expect((await usersOf(world.orgId)).filter((u) => !u.active).map((u) => u.id).sort()).to.deep.equal([8, 9].map((i) => world.ids.get(world.users[i]!.id)!).sort());
  });

  it("reports a user suspended in OneLogin (status 2) and repair deprovisions it; a locked user is left alone", async () => {
    const world = await oneloginWorld(6);
    world.users[1]!.status = 2;
    world.users[4]!.status = 3; // locked after failed logins: passing, not a deprovisioning
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(report.body.findings).to.have.length(1);
    expect(report.body.findings[0]).to.deep.include({ kind: "idp_user_inactive", reason: "suspended_in_idp", subject: { type: "user", id: world.ids.get(world.users[1]!.id) } });
    expect(report.body.findings[0].idp).to.include({ status: "SUSPENDED", active: false, id: String(world.users[1]!.id), external_id: null });
    const repair = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(repair.body.summary).to.include({ repaired: 1, repair_failed: 0 });
    expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimUser.deprovisioned").map((e) => e.subject_id)).to.deep.equal([world.ids.get(world.users[1]!.id)]);
  });

  it("fails clearly when the API credentials were revoked, changing nothing", async () => {
    const world = await oneloginWorld(4);
    world.users[0]!.status = 2;
    onelogin.options.clientSecret = "regenerated";
    const res = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(res.status).to.equal(502);
    expect(res.body.errors[0].code).to.equal("directory_pull_failed");
    expect(res.body.errors[0].message).to.match(/^onelogin refused the directory credentials \(HTTP 401\): Unauthorized: Authentication Failure\. Nothing was changed/);
    expect(res.text).not.to.contain("ol-secret");
    expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);
  });

  it("holds the blast-radius guard when OneLogin answers an empty app user list by mistake", async () => {
    const world = await oneloginWorld(6, [{ name: "Eng", members: [0, 1] }]);
    onelogin.options.emptyAppUsers = true;
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(report.body.summary.counts.idp_user_unknown).to.equal(6);
    const repair = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(repair.status).to.equal(409);
    expect(repair.body.errors[0]).to.deep.include({ code: "blast_radius_exceeded" });
    expect(repair.body.errors[0].meta).to.include({ deactivations: 6, active_users: 6 });
    expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);
    expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimUser.deprovisioned")).to.deep.equal([]);
  });

  it("rides out a 429 with OneLogin's X-RateLimit headers and a 503 blip", async () => {
    const world = await oneloginWorld(3);
    onelogin.options.fail = { status: 429, count: 1 };
    const throttled = await reconcileVia(world.orgId, { source: "idp" });
    expect(throttled.status, throttled.text).to.equal(201);
    onelogin.options.fail = { status: 503, count: 2 };
    const blip = await reconcileVia(world.orgId, { source: "idp" });
    expect(blip.status, blip.text).to.equal(201);
    expect(blip.body.summary.directories[0].users_seen).to.equal(3);
  });

  it("never touches another organization's users, even ones the same OneLogin app lists", async () => {
    const a = await oneloginWorld(4);
    const b = await oneloginWorld(4);
    a.users[0]!.status = 2;
    const res = await reconcileVia(b.orgId, { source: "idp", repair: true, force: true });
    expect(res.status, res.text).to.equal(201);
    expect((await usersOf(a.orgId)).every((u) => u.active)).to.equal(true);
    expect(await rowsOf(`SELECT 1 FROM audit_log WHERE organization_id = $1 AND actor_type = 'reconciler'`, [a.orgId])).to.deep.equal([]);
  });
});

/* The connector on its own (no database): runs on the embedded database too. */
describe("OneLogin directory connector", function () {
  this.timeout(30_000);
  let onelogin: FakeOneLogin;

  beforeEach(async () => {
    onelogin = await startFakeOneLogin({ appId: APP_ID, clientId: "ol-client", clientSecret: "ol-secret", pageSize: 2 });
  });
  afterEach(async () => onelogin?.close());

  const connector = (settings: Record<string, unknown> = {}, sleeps: number[] = []) =>
    oneloginConnector(
      { base_url: onelogin.url, app_id: String(APP_ID), ...settings },
      { client_id: "ol-client", client_secret: "ol-secret" },
      { timeoutMs: 5_000, rateLimitShare: 0.5, sleep: (ms) => (sleeps.push(ms), new Promise<void>((resolve) => setTimeout(resolve, ms))) },
    );
  const all = async <T>(pages: AsyncGenerator<T[]>) => {
    const out: T[] = [];
    for await (const page of pages) out.push(...page);
    return out;
  };

  it("reads users with their status through the app's assignment, userName as the SCIM Username mapping says", async () => {
    const ada = oneloginUser(onelogin, { username: "ada", email: "ada@acme.example", firstname: "Ada", lastname: "Lovelace" });
    const sus = oneloginUser(onelogin, { status: 2 });
    const other = oneloginUser(onelogin); // not assigned the app
    onelogin.state.directAppUsers.add(ada.id);
    addRole(onelogin, "Staff", [sus.id]);
    addRole(onelogin, "Elsewhere", [other.id], [999]);
    const users = await all(connector().users());
    expect(users.map((u) => [u.idpId, u.userName, u.externalId, u.active, u.status])).to.deep.equal([
      [String(ada.id), "ada@acme.example", null, true, "ACTIVE"],
      [String(sus.id), sus.email, null, false, "SUSPENDED"],
    ]);
    const byUsername = await all(connector({ user_name_attribute: "username", external_id_attribute: "id" }).users());
    expect(byUsername[0]).to.include({ userName: "ada", externalId: String(ada.id), givenName: "Ada", familyName: "Lovelace" });
    expect((await all(connector().groups())).map((g) => g.name)).to.deep.equal(["Staff"]);
  });

  it("keeps within the share of OneLogin's advertised rate limit, waiting for X-RateLimit-Reset", async () => {
    onelogin.options.rateLimit = { limit: 4, windowMs: 1_000 };
    for (let i = 0; i < 6; i++) onelogin.state.directAppUsers.add(oneloginUser(onelogin).id);
    const sleeps: number[] = [];
    const users = await all(connector({}, sleeps).users());
    expect(users).to.have.length(6);
    // Share 0.5 of 4 a window: after two requests the client waits out the window instead of meeting a 429.
    expect(sleeps.length).to.be.greaterThan(0);
    expect(sleeps.every((ms) => ms > 0 && ms <= 1_000)).to.equal(true);
    expect(onelogin.requests.length).to.equal(7); // the token and six API calls: nothing was refused and retried
  });

  it("reports the team of a deleted role in a report run on any database, changing nothing", async () => {
    const { orgId, token, connectionId } = await createOrgWithToken(shared.service.url!, { provider: "onelogin" });
    const users = [oneloginUser(onelogin), oneloginUser(onelogin)];
    const stored: string[] = [];
    for (const u of users) {
      const res = await scim(shared.service.url!, token, "POST", "/Users", {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: u.email, name: { givenName: u.firstname, familyName: u.lastname },
        emails: [{ value: u.email, primary: true }], active: true,
      });
      stored.push(res.body.id);
    }
    addRole(onelogin, "Everyone", users.map((u) => u.id));
    const doomed = addRole(onelogin, `Finance ${unique()}`, [users[0]!.id]);
    const team = await scim(shared.service.url!, token, "POST", "/Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: onelogin.state.roles.get(doomed)!.name, members: [{ value: stored[0]! }],
    });
    await admin(shared.service.url!, "PUT", `/v1/organizations/${orgId}/enterprise_connections/${connectionId}/directory`, {
      provider: "onelogin", base_url: onelogin.url, app_id: String(APP_ID), credentials: { client_id: "ol-client", client_secret: "ol-secret" },
    });
    expect((await reconcileVia(orgId, { source: "idp" })).body.summary.total).to.equal(0);
    onelogin.state.roles.delete(doomed);
    const res = await reconcileVia(orgId, { source: "idp" });
    expect(res.body.findings.map((f: { kind: string; subject: { id: string } }) => [f.kind, f.subject.id])).to.deep.equal([["idp_group_missing", team.body.id]]);
    expect(await membersOf(team.body.id)).to.deep.equal([stored[0]]);
  });

  it("fetches a new token when OneLogin revoked the cached one", async () => {
    onelogin.state.directAppUsers.add(oneloginUser(onelogin).id);
    const c = connector();
    await all(c.users());
    onelogin.revokeTokens();
    expect(await all(c.users())).to.have.length(1);
    expect(onelogin.requests.filter((r) => r === "POST /auth/oauth2/v2/token")).to.have.length(2);
  });

  it("reports wrong credentials as a credentials error with OneLogin's message", async () => {
    const error = await all(oneloginConnector({ base_url: onelogin.url, app_id: String(APP_ID) }, { client_id: "ol-client", client_secret: "nope" }, { timeoutMs: 5_000, rateLimitShare: 1 }).users())
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(DirectoryAuthError);
    expect((error as Error).message).to.equal("onelogin refused the directory credentials (HTTP 401): Unauthorized: Authentication Failure");
  });
});
