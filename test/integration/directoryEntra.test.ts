import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, unique } from "../helpers/factories.ts";
import { startFakeGraph, type FakeGraph, type FakeGraphUser } from "../fakes/graph.ts";
import { eventsOf, membersOf, reconcileVia, usersOf } from "../helpers/directoryWorld.ts";

/*
 * Entra ID drift: a provisioning cycle runs every ~40 minutes and quarantines on errors, so a
 * disabled account or a profile change can stay missed. Entra's default attribute mapping sends
 * userName = userPrincipalName, externalId = mailNickname, active = accountEnabled; groups carry
 * their object id as externalId.
 */
describe("directory reconcile against Entra ID (Microsoft Graph)", function () {
  this.timeout(60_000);
  let graph: FakeGraph;

  before(function () {
    if (!shared.databaseUrl) this.skip(); // repairs need PostgreSQL (a connection besides the run's lock)
  });
  beforeEach(async () => {
    graph = await startFakeGraph({ tenantId: "contoso", servicePrincipalId: "sp-rollcall", clientId: "app-id", clientSecret: "s3cret", pageSize: 2 });
  });
  afterEach(async () => graph?.close());

  const base = () => shared.service.url!;

  /** An Entra tenant whose users were provisioned by Entra's SCIM client, half directly and half through one group. */
  async function entraWorld(count: number) {
    const { orgId, token, connectionId } = await createOrgWithToken(base(), { provider: "entra" });
    const users: FakeGraphUser[] = [];
    const ids = new Map<string, string>();
    const groupId = `grp-${unique()}`;
    graph.state.groups.set(groupId, { id: groupId, displayName: `Finance ${unique()}`, members: new Set() });
    graph.state.assignments.add(groupId);
    for (let i = 0; i < count; i++) {
      const nick = `user${i}.${unique()}`;
      const u: FakeGraphUser = { id: `oid-${unique()}`, userPrincipalName: `${nick}@contoso.example`, mail: `${nick}@contoso.example`, mailNickname: nick, givenName: "Given", surname: `S${i}`, accountEnabled: true };
      graph.state.users.set(u.id, u);
      if (i % 2 === 0) graph.state.assignments.add(u.id);
      else graph.state.groups.get(groupId)!.members.add(u.id);
      const res = await scim(base(), token, "POST", "/Users", {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: u.userPrincipalName, externalId: u.mailNickname,
        name: { givenName: u.givenName, familyName: u.surname }, emails: [{ value: u.mail, type: "work", primary: true }], active: true,
      });
      ids.set(u.id, res.body.id);
      users.push(u);
    }
    const group = graph.state.groups.get(groupId)!;
    const team = await scim(base(), token, "POST", "/Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: group.displayName, externalId: groupId,
      members: [...group.members].map((m) => ({ value: ids.get(m)! })),
    });
    const dir = await admin(base(), "PUT", `/v1/organizations/${orgId}/enterprise_connections/${connectionId}/directory`, {
      provider: "entra", tenant_id: "contoso", service_principal_id: "sp-rollcall", base_url: graph.url, login_base_url: graph.url,
      credentials: { client_id: "app-id", client_secret: "s3cret" },
    });
    expect(dir.status, dir.text).to.equal(200);
    return { orgId, users, ids, groupId, teamId: team.body.id as string };
  }

  it("finds nothing when Entra and Rollcall agree: direct and group assignments, pages of 2", async () => {
    const world = await entraWorld(6);
    const res = await reconcileVia(world.orgId, { source: "idp" });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.summary.total).to.equal(0);
    expect(res.body.summary.directories[0]).to.include({ provider: "entra", users_seen: 6, groups_seen: 1 });
  });

  it("reports an account disabled in Entra (accountEnabled=false) and repair deprovisions it", async () => {
    const world = await entraWorld(6);
    const disabled = world.users[3]!;
    disabled.accountEnabled = false;
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(report.body.findings).to.have.length(1);
    expect(report.body.findings[0]).to.deep.include({ kind: "idp_user_inactive", reason: "account_disabled_in_idp", subject: { type: "user", id: world.ids.get(disabled.id) } });
    expect(report.body.findings[0].idp).to.include({ status: "accountEnabled=false", assignment: "group", external_id: disabled.mailNickname });
    const repair = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(repair.body.summary).to.include({ repaired: 1, repair_failed: 0 });
    expect((await usersOf(world.orgId)).filter((u) => !u.active).map((u) => u.id)).to.deep.equal([world.ids.get(disabled.id)]);
    expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimUser.deprovisioned").map((e) => e.subject_id)).to.deep.equal([world.ids.get(disabled.id)]);
  });

  it("reports a surname change a quarantined cycle never sent, and repairs it", async () => {
    const world = await entraWorld(4);
    world.users[0]!.surname = "Married";
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(report.body.findings.map((f: { kind: string; idp: unknown }) => [f.kind, f.idp])).to.deep.equal([["idp_attribute_drift", { "name.familyName": "Married" }]]);
    await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect((await usersOf(world.orgId)).find((u) => u.id === world.ids.get(world.users[0]!.id))!.last_name).to.equal("Married");
  });

  it("reports a member removed from the assigned group as stale and removes it from the team", async () => {
    const world = await entraWorld(6);
    const member = world.users[1]!; // odd: assigned through the group
    graph.state.groups.get(world.groupId)!.members.delete(member.id);
    graph.state.assignments.add(member.id); // still assigned directly, so still a user of the app
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(report.body.findings.map((f: { kind: string }) => f.kind)).to.deep.equal(["idp_member_stale"]);
    await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(await membersOf(world.teamId)).not.to.include(world.ids.get(member.id));
    expect(await membersOf(world.teamId)).to.have.length(2);
  });

  it("rides out Graph throttling (429 with Retry-After) and a 503", async () => {
    const world = await entraWorld(4);
    graph.options.fail = { status: 429, count: 1 };
    const throttled = await reconcileVia(world.orgId, { source: "idp" });
    expect(throttled.status, throttled.text).to.equal(201);
    graph.options.fail = { status: 503, count: 1 };
    expect((await reconcileVia(world.orgId, { source: "idp" })).body.summary.directories[0].users_seen).to.equal(4);
  });

  it("fails with Entra's AADSTS error when the client secret was revoked, changing nothing", async () => {
    const world = await entraWorld(4);
    world.users[0]!.accountEnabled = false;
    graph.options.clientSecret = "rotated";
    const res = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(res.status).to.equal(502);
    expect(res.body.errors[0].message).to.match(/^entra refused the directory credentials \(HTTP 401\): invalid_client: AADSTS7000215/);
    expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);
  });

  it("holds the guard when Graph answers no assignments at all", async () => {
    const world = await entraWorld(6);
    graph.state.assignments.clear();
    const res = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(res.status).to.equal(409);
    expect(res.body.errors[0].code).to.equal("blast_radius_exceeded");
    expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);
    expect(await membersOf(world.teamId)).to.have.length(3);
  });
});
