import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, unique } from "../helpers/factories.ts";
import { startFakeGraph, type FakeGraph, type FakeGraphUser } from "../fakes/graph.ts";
import { eventsOf, membersOf, reconcileVia, rowsOf, usersOf } from "../helpers/directoryWorld.ts";

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

  describe("incremental runs (Graph delta queries)", () => {
    const incremental = (orgId: string, body: Record<string, unknown> = {}) => reconcileVia(orgId, { source: "idp", directory_mode: "incremental", ...body });
    /** The Graph requests made from index `from` on, without the token exchange. */
    const requestsSince = (from: number) => graph.requests.slice(from).filter((r) => !r.includes("/oauth2/"));

    it("a full pass starts both delta feeds from now; an incremental run then finds an account disabled in Entra, reading only the delta", async () => {
      const world = await entraWorld(6);
      const full = await reconcileVia(world.orgId, { source: "idp" });
      expect(full.body.summary.directories[0]).to.include({ mode: "full" });
      expect(graph.requests.filter((r) => r.includes("/delta"))).to.have.members([
        "GET /v1.0/users/delta?$select=id,userPrincipalName,mail,mailNickname,givenName,surname,accountEnabled,employeeId&$deltatoken=latest",
        "GET /v1.0/groups/delta?$select=displayName,members&$deltatoken=latest",
      ]);
      // The delta links carry a state token: stored sealed, never in the clear.
      const [stored] = await rowsOf<{ state: string }>(`SELECT state::text AS state FROM directory_connections WHERE organization_id = $1`, [world.orgId]);
      expect(stored!.state).to.match(/sealed_cursor/);
      expect(stored!.state).not.to.match(/deltatoken|delta/i);

      const disabled = world.users[3]!; // assigned through the group
      disabled.accountEnabled = false;
      const from = graph.requests.length;
      const report = await incremental(world.orgId);
      expect(report.status, report.text).to.equal(201);
      expect(report.body.summary.directories[0]).to.include({ mode: "incremental", users_seen: 1 });
      expect(report.body.findings).to.have.length(1);
      expect(report.body.findings[0]).to.deep.include({ kind: "idp_user_inactive", reason: "account_disabled_in_idp", subject: { type: "user", id: world.ids.get(disabled.id) } });
      const asked = requestsSince(from);
      expect(asked.filter((r) => r.includes("/members/microsoft.graph.user"))).to.deep.equal([]); // no full member pull
      expect(asked).to.include(`GET /v1.0/users/${disabled.id}?$select=id,userPrincipalName,mail,mailNickname,givenName,surname,accountEnabled,employeeId`);
      expect(asked.some((r) => r.startsWith("GET /v1.0/users/delta?$deltatoken="))).to.equal(true);

      // The round's delta link moved the feed on: with nothing changed since, the next run reads an empty delta.
      const quiet = await incremental(world.orgId);
      expect(quiet.body.summary).to.include({ total: 0 });
      expect(quiet.body.summary.directories[0]).to.include({ mode: "incremental", users_seen: 0 });
    });

    it("repairs what an incremental run finds: the disabled account is deprovisioned with scimUser.deprovisioned", async () => {
      const world = await entraWorld(6);
      await reconcileVia(world.orgId, { source: "idp" });
      const disabled = world.users[0]!; // assigned directly
      disabled.accountEnabled = false;
      const repair = await incremental(world.orgId, { repair: true });
      expect(repair.status, repair.text).to.equal(201);
      expect(repair.body.summary).to.include({ repaired: 1, repair_failed: 0 });
      expect((await usersOf(world.orgId)).filter((u) => !u.active).map((u) => u.id)).to.deep.equal([world.ids.get(disabled.id)]);
      expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimUser.deprovisioned").map((e) => e.subject_id)).to.deep.equal([world.ids.get(disabled.id)]);
    });

    it("a user removed from the app's only assigned group (members@delta) is unassigned: deactivated and taken out of the team", async () => {
      const world = await entraWorld(6);
      await reconcileVia(world.orgId, { source: "idp" });
      const leaver = world.users[1]!; // odd: assigned only through the group
      graph.state.groups.get(world.groupId)!.members.delete(leaver.id);
      const report = await incremental(world.orgId);
      expect(report.body.summary.directories[0]).to.include({ mode: "incremental", users_seen: 1, groups_seen: 1 });
      const kinds = report.body.findings.map((f: { kind: string; reason: string }) => `${f.kind}:${f.reason}`).sort();
      expect(kinds).to.deep.equal(["idp_member_stale:not_in_idp_group", "idp_user_inactive:unassigned_in_idp"]);
      const inactive = report.body.findings.find((f: { kind: string }) => f.kind === "idp_user_inactive");
      expect(inactive.subject).to.deep.equal({ type: "user", id: world.ids.get(leaver.id) });
      expect(inactive.idp).to.include({ id: leaver.id, assigned: false, user_name: leaver.userPrincipalName });
      const repair = await incremental(world.orgId, { repair: true });
      expect(repair.body.summary.total).to.equal(0); // the feed moved on: repair with a full pass, or at the time it is found
      const fixed = await reconcileVia(world.orgId, { source: "idp", repair: true });
      expect(fixed.body.summary.counts).to.include({ idp_user_unknown: 1, idp_member_stale: 1 });
      expect(await membersOf(world.teamId)).not.to.include(world.ids.get(leaver.id));
      expect((await usersOf(world.orgId)).find((u) => u.id === world.ids.get(leaver.id))).to.include({ active: false });
    });

    it("a user deleted in Entra (@removed, still in deletedItems) is matched by its mailNickname and deactivated", async () => {
      const world = await entraWorld(6);
      await reconcileVia(world.orgId, { source: "idp" });
      const gone = world.users[2]!;
      graph.state.users.delete(gone.id);
      graph.state.deleted.set(gone.id, gone);
      const repair = await incremental(world.orgId, { repair: true });
      expect(repair.status, repair.text).to.equal(201);
      expect(repair.body.findings.map((f: { kind: string; reason: string }) => `${f.kind}:${f.reason}`)).to.deep.equal(["idp_user_inactive:unassigned_in_idp"]);
      expect(repair.body.summary).to.include({ repaired: 1 });
      expect((await usersOf(world.orgId)).filter((u) => !u.active).map((u) => u.id)).to.deep.equal([world.ids.get(gone.id)]);
      expect(graph.requests).to.include(`GET /v1.0/directory/deletedItems/${gone.id}?$select=id,userPrincipalName,mail,mailNickname,givenName,surname,accountEnabled,employeeId`);
    });

    it("a member removed from the group via members@delta but still assigned directly is stale in the team, and repair removes it", async () => {
      const world = await entraWorld(6);
      await reconcileVia(world.orgId, { source: "idp" });
      const member = world.users[3]!;
      graph.state.assignments.add(member.id);
      graph.state.groups.get(world.groupId)!.members.delete(member.id);
      const repair = await incremental(world.orgId, { repair: true });
      expect(repair.status, repair.text).to.equal(201);
      expect(repair.body.findings).to.have.length(1);
      expect(repair.body.findings[0]).to.deep.include({
        kind: "idp_member_stale", subject: { type: "membership", team_id: world.teamId, user_id: world.ids.get(member.id) }, action: "remove_team_members",
      });
      expect(repair.body.findings[0].idp).to.include({ group_id: world.groupId, member: false });
      expect(await membersOf(world.teamId)).to.have.length(2).and.not.include(world.ids.get(member.id));
      expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);
      // And back: a member added in Entra that the team lacks is missing here.
      graph.state.groups.get(world.groupId)!.members.add(member.id);
      const back = await incremental(world.orgId);
      expect(back.body.findings.map((f: { kind: string }) => f.kind)).to.deep.equal(["idp_member_missing"]);
    });

    it("falls back to a full pass when Graph answers 410 Gone for the delta token, and starts a new feed", async () => {
      const world = await entraWorld(4);
      await reconcileVia(world.orgId, { source: "idp" });
      graph.expireDeltaTokens();
      world.users[1]!.surname = "Renamed";
      const resync = await incremental(world.orgId);
      expect(resync.status, resync.text).to.equal(201);
      expect(resync.body.summary.directories[0]).to.include({ mode: "full", resynced: true, users_seen: 4, groups_seen: 1 });
      expect(resync.body.findings.map((f: { kind: string }) => f.kind)).to.deep.equal(["idp_attribute_drift"]);
      const directory = await rowsOf<{ last_full_run_at: Date | null }>(`SELECT last_full_run_at FROM directory_connections WHERE organization_id = $1`, [world.orgId]);
      expect(directory[0]!.last_full_run_at).to.be.an.instanceOf(Date);
      world.users[0]!.accountEnabled = false;
      const next = await incremental(world.orgId);
      expect(next.body.summary.directories[0]).to.include({ mode: "incremental", users_seen: 1 });
      expect(next.body.findings.map((f: { kind: string }) => f.kind)).to.deep.equal(["idp_user_inactive"]);
    });
  });
});
