import { expect } from "chai";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, unique } from "../helpers/factories.ts";
import { makeServiceAccount, type TestServiceAccount } from "../helpers/googleServiceAccount.ts";
import { GOOGLE_READ_SCOPES, startFakeGoogle, type FakeGoogle, type FakeGoogleUser } from "../fakes/google.ts";
import { eventsOf, membersOf, reconcileVia, rowsOf, usersOf } from "../helpers/directoryWorld.ts";
import { googleConnector } from "../../reconciler/directory/connectors/google.ts";
import { DirectoryAuthError } from "../../reconciler/directory/connectors/types.ts";

/*
 * Google Workspace drift: auto-provisioning runs on Google's schedule and a suspension or a group
 * change can stay unsent. Google's auto-provisioning sends userName = primaryEmail and (with the
 * mapping this README documents) externalId = the Google user id; teams carry the group's email.
 */

const DOMAIN = "acme.example";
const ADMIN = `it-admin@${DOMAIN}`;

async function newFake(account: TestServiceAccount, pageSize = 2): Promise<FakeGoogle> {
  return startFakeGoogle({
    serviceAccount: { clientEmail: account.clientEmail, keyId: account.keyId, publicKeyPem: account.publicKeyPem },
    admins: new Set([ADMIN]), domain: DOMAIN, pageSize,
  });
}

function googleUser(fake: FakeGoogle, props: Partial<FakeGoogleUser> = {}): FakeGoogleUser {
  const id = props.id ?? `1${Math.floor(Math.random() * 1e17)}`;
  const user: FakeGoogleUser = { id, primaryEmail: `u${unique()}@${DOMAIN}`, givenName: "Given", familyName: `F${unique()}`, suspended: false, archived: false, orgUnitPath: "/", ...props };
  fake.state.users.set(id, user);
  return user;
}

describe("directory reconcile against Google Workspace (Admin SDK Directory API)", function () {
  this.timeout(60_000);
  let account: TestServiceAccount;
  let google: FakeGoogle;

  before(async function () {
    if (!shared.databaseUrl) this.skip(); // repairs need PostgreSQL (a connection besides the run's lock)
    account = await makeServiceAccount();
  });
  beforeEach(async () => {
    google = await newFake(account);
  });
  afterEach(async () => google?.close());

  const base = () => shared.service.url!;

  /** A Workspace whose users Google provisioned (userName = primaryEmail, externalId = Google id), with pushed groups. */
  async function googleWorld(count: number, groups: Array<{ name: string; members: number[] }> = [], settings: Record<string, unknown> = {}) {
    const { orgId, token, connectionId } = await createOrgWithToken(base(), { provider: "google" });
    const users: FakeGoogleUser[] = [];
    const ids = new Map<string, string>();
    for (let i = 0; i < count; i++) {
      const u = googleUser(google);
      const res = await scim(base(), token, "POST", "/Users", {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: u.primaryEmail, externalId: u.id,
        name: { givenName: u.givenName, familyName: u.familyName }, emails: [{ value: u.primaryEmail, type: "work", primary: true }], active: true,
      });
      expect(res.status, res.text).to.equal(201);
      ids.set(u.id, res.body.id);
      users.push(u);
    }
    const teamIds = new Map<string, string>();
    for (const g of groups) {
      const id = `0${unique()}${unique()}`;
      const email = `${g.name.toLowerCase()}-${unique()}@${DOMAIN}`;
      const members = g.members.map((i) => users[i]!.id);
      google.state.groups.set(id, { id, email, name: `${g.name} ${unique()}`, members: new Set(members) });
      const team = await scim(base(), token, "POST", "/Groups", {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: google.state.groups.get(id)!.name, externalId: email,
        members: members.map((m) => ({ value: ids.get(m)! })),
      });
      expect(team.status, team.text).to.equal(201);
      teamIds.set(id, team.body.id);
    }
    const dir = await admin(base(), "PUT", `/v1/organizations/${orgId}/enterprise_connections/${connectionId}/directory`, {
      provider: "google", base_url: google.url, token_url: google.tokenUrl, credentials: { service_account_json: account.json, subject: ADMIN }, ...settings,
    });
    expect(dir.status, dir.text).to.equal(200);
    return { orgId, token, users, ids, teamIds };
  }

  it("finds nothing when Google and Rollcall agree, across pageToken pages of 2, with a delegated RS256 assertion", async () => {
    const world = await googleWorld(5, [{ name: "Eng", members: [0, 1, 2] }]);
    const res = await reconcileVia(world.orgId, { source: "idp" });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.summary.total).to.equal(0);
    expect(res.body.summary.directories[0]).to.include({ provider: "google", mode: "full", users_seen: 5, groups_seen: 1 });
    expect(google.requests.filter((r) => r.startsWith("GET /admin/directory/v1/users?") && r.includes("pageToken="))).to.have.length(2);
    expect(google.requests.find((r) => r.startsWith("GET /admin/directory/v1/users?"))).to.include("customer=my_customer").and.include("maxResults=500");
    expect(google.requests.some((r) => /\/groups\/[^/]+\/members\?.*includeDerivedMembership=true/.test(r))).to.equal(true);
  });

  it("reports a user suspended in Google and repair deprovisions it with scimUser.deprovisioned", async () => {
    const world = await googleWorld(6);
    const suspended = world.users[3]!;
    suspended.suspended = true;
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(report.status, report.text).to.equal(201);
    expect(report.body.findings).to.have.length(1);
    expect(report.body.findings[0]).to.deep.include({
      kind: "idp_user_inactive", reason: "suspended_in_idp", subject: { type: "user", id: world.ids.get(suspended.id) }, expected: { active: false }, action: "deactivate_user",
    });
    expect(report.body.findings[0].idp).to.include({ status: "SUSPENDED", active: false, external_id: suspended.id, user_name: suspended.primaryEmail });
    expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);

    const repair = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(repair.body.summary).to.include({ repaired: 1, repair_failed: 0 });
    expect((await usersOf(world.orgId)).filter((u) => !u.active).map((u) => u.id)).to.deep.equal([world.ids.get(suspended.id)]);
    expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimUser.deprovisioned").map((e) => e.subject_id)).to.deep.equal([world.ids.get(suspended.id)]);
    const audit = await rowsOf<{ actor_type: string; action: string }>(`SELECT actor_type, action FROM audit_log WHERE organization_id = $1 AND actor_type = 'reconciler'`, [world.orgId]);
    expect(audit).to.deep.equal([{ actor_type: "reconciler", action: "user.deactivated" }]);
    expect((await reconcileVia(world.orgId, { source: "idp" })).body.summary.total).to.equal(0);
  });

  it("reports a member removed from a Google group as stale and repair removes it from the team", async () => {
    const world = await googleWorld(5, [{ name: "Design", members: [0, 1, 2] }]);
    const [groupId] = [...world.teamIds.keys()];
    const teamId = world.teamIds.get(groupId!)!;
    google.state.groups.get(groupId!)!.members.delete(world.users[1]!.id);
    const report = await reconcileVia(world.orgId, { source: "idp" });
    expect(report.body.findings.map((f: { kind: string }) => f.kind)).to.deep.equal(["idp_member_stale"]);
    expect(report.body.findings[0]).to.deep.include({ subject: { type: "membership", team_id: teamId, user_id: world.ids.get(world.users[1]!.id) }, action: "remove_team_members" });
    await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(await membersOf(teamId)).to.deep.equal([0, 2].map((i) => world.ids.get(world.users[i]!.id)!).sort());
    const updates = (await eventsOf(world.orgId)).filter((e) => e.type === "scimGroup.updated" && e.subject_id === teamId);
    expect(updates.map((e) => e.payload.data.members_removed)).to.deep.equal([[world.ids.get(world.users[1]!.id)]]);
  });

  it("fails clearly when the service account key was deleted (invalid_grant), changing nothing", async () => {
    const world = await googleWorld(4);
    world.users[0]!.suspended = true;
    google.options.keyRevoked = true;
    const res = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(res.status).to.equal(502);
    expect(res.body.errors[0].code).to.equal("directory_pull_failed");
    expect(res.body.errors[0].message).to.match(/^google refused the directory credentials \(HTTP 400\): invalid_grant: Invalid JWT Signature\. Nothing was changed/);
    expect(res.text).not.to.contain("PRIVATE KEY");
    expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);
    expect((await eventsOf(world.orgId)).filter((e) => e.type === "scimUser.deprovisioned")).to.deep.equal([]);
  });

  it("fails clearly when domain-wide delegation lacks a scope (unauthorized_client)", async () => {
    const world = await googleWorld(2);
    google.options.grantedScopes = GOOGLE_READ_SCOPES.slice(0, 1);
    const res = await reconcileVia(world.orgId, { source: "idp" });
    expect(res.status).to.equal(502);
    expect(res.body.errors[0].message).to.match(/^google refused the directory credentials \(HTTP 401\): unauthorized_client: Client is unauthorized/);
  });

  it("waits out Google's 403 rateLimitExceeded, 429 userRateLimitExceeded and a 503", async () => {
    const world = await googleWorld(3);
    google.options.fail = { status: 403, count: 1, reason: "rateLimitExceeded" };
    const throttled = await reconcileVia(world.orgId, { source: "idp" });
    expect(throttled.status, throttled.text).to.equal(201);
    expect(throttled.body.summary.directories[0].users_seen).to.equal(3);
    google.options.fail = { status: 429, count: 1, reason: "userRateLimitExceeded" };
    expect((await reconcileVia(world.orgId, { source: "idp" })).status).to.equal(201);
    google.options.fail = { status: 503, count: 2 };
    const blip = await reconcileVia(world.orgId, { source: "idp" });
    expect(blip.status, blip.text).to.equal(201);
    expect(blip.body.summary.total).to.equal(0);
  });

  it("limits the users to the provisioning scope's organizational unit (user_query)", async () => {
    const world = await googleWorld(3, [], { user_query: "orgUnitPath='/Engineering'" });
    for (const u of world.users) u.orgUnitPath = "/Engineering";
    googleUser(google, { orgUnitPath: "/Sales" }); // outside the app's scope: not a missing user
    const res = await reconcileVia(world.orgId, { source: "idp" });
    expect(res.body.summary.total, JSON.stringify(res.body.findings)).to.equal(0);
    expect(res.body.summary.directories[0].users_seen).to.equal(3);
  });

  it("limits the users to the members of the scope groups, nested groups included (scope_groups)", async () => {
    const world = await googleWorld(4, [], { scope_groups: [`rollcall-users@${DOMAIN}`] });
    google.state.groups.set("inner", { id: "inner", email: `contractors@${DOMAIN}`, name: "Contractors", members: new Set([world.users[3]!.id]) });
    google.state.groups.set("scope", { id: "scope", email: `rollcall-users@${DOMAIN}`, name: "Rollcall users", members: new Set([...world.users.slice(0, 3).map((u) => u.id), "inner"]) });
    googleUser(google); // not in the scope groups: not a missing user
    const res = await reconcileVia(world.orgId, { source: "idp" });
    expect(res.body.summary.total, JSON.stringify(res.body.findings)).to.equal(0);
    expect(res.body.summary.directories[0].users_seen).to.equal(4);
    google.state.groups.get("inner")!.members.clear(); // the contractor left the nested group: out of the app's scope
    const after = await reconcileVia(world.orgId, { source: "idp" });
    expect(after.body.findings.map((f: { kind: string; subject: { id: string } }) => [f.kind, f.subject.id])).to.deep.equal([["idp_user_unknown", world.ids.get(world.users[3]!.id)]]);
  });

  it("holds the blast-radius guard when Google answers no users at all", async () => {
    const world = await googleWorld(5, [{ name: "Ops", members: [0, 1] }]);
    google.options.emptyUsers = true;
    const res = await reconcileVia(world.orgId, { source: "idp", repair: true });
    expect(res.status).to.equal(409);
    expect(res.body.errors[0].code).to.equal("blast_radius_exceeded");
    expect(res.body.errors[0].meta).to.include({ deactivations: 5, active_users: 5 });
    expect((await usersOf(world.orgId)).every((u) => u.active)).to.equal(true);
    expect(await membersOf([...world.teamIds.values()][0]!)).to.have.length(2);
  });

  it("never touches another organization's users, even ones its Workspace also lists", async () => {
    const a = await googleWorld(5);
    const b = await googleWorld(5);
    a.users[0]!.suspended = true;
    b.users[0]!.suspended = true;
    const res = await reconcileVia(b.orgId, { source: "idp", repair: true, force: true });
    expect(res.status, res.text).to.equal(201);
    expect((await usersOf(a.orgId)).every((u) => u.active)).to.equal(true);
    expect((await usersOf(b.orgId)).filter((u) => !u.active).map((u) => u.id)).to.deep.equal([b.ids.get(b.users[0]!.id)]);
    expect(await rowsOf(`SELECT 1 FROM audit_log WHERE organization_id = $1 AND actor_type = 'reconciler'`, [a.orgId])).to.deep.equal([]);
  });
});

/* The connector on its own (no database): runs on the embedded database too. */
describe("Google Workspace directory connector", function () {
  this.timeout(30_000);
  let account: TestServiceAccount;
  let google: FakeGoogle;

  before(async () => {
    account = await makeServiceAccount();
  });
  beforeEach(async () => {
    google = await newFake(account, 3);
  });
  afterEach(async () => google?.close());

  const connector = (subject = ADMIN, extra: Record<string, unknown> = {}) =>
    googleConnector(
      { customer: "my_customer", base_url: google.url, token_url: google.tokenUrl, ...extra },
      { service_account_json: account.json, subject },
      { timeoutMs: 5_000, rateLimitShare: 1, sleep: async () => undefined },
    );
  const all = async <T>(pages: AsyncGenerator<T[]>) => {
    const out: T[] = [];
    for await (const page of pages) out.push(...page);
    return out;
  };

  it("signs the assertion Google expects: kid, iss, sub, aud, the three read-only scopes, an hour at most", async () => {
    await all(connector().users());
    expect(google.assertions).to.have.length(1);
    const assertion = google.assertions[0]!;
    expect(decodeProtectedHeader(assertion)).to.include({ alg: "RS256", kid: account.keyId });
    const claims = decodeJwt(assertion);
    expect(claims).to.include({ iss: account.clientEmail, sub: ADMIN, aud: google.tokenUrl, scope: GOOGLE_READ_SCOPES.join(" ") });
    expect(claims.exp! - claims.iat!).to.be.at.most(3600);
  });

  it("normalizes users, archived ones inactive, and fetches a new token when Google drops the cached one", async () => {
    googleUser(google, { primaryEmail: `ada@${DOMAIN}`, givenName: "Ada", familyName: "Lovelace", id: "101" });
    googleUser(google, { primaryEmail: `bob@${DOMAIN}`, archived: true, id: "102" });
    const c = connector();
    const first = await all(c.users());
    expect(first.map((u) => [u.idpId, u.externalId, u.userName, u.active, u.status])).to.deep.equal([
      ["101", "101", `ada@${DOMAIN}`, true, "ACTIVE"],
      ["102", "102", `bob@${DOMAIN}`, false, "ARCHIVED"],
    ]);
    google.expireTokens();
    expect(await all(c.users())).to.have.length(2);
    expect(google.requests.filter((r) => r === "POST /token")).to.have.length(2);
  });

  it("sends externalId as the app's mapping does (primaryEmail, or none) and lists a domain instead of the customer", async () => {
    googleUser(google, { primaryEmail: `cy@${DOMAIN}`, id: "103" });
    expect((await all(connector(ADMIN, { external_id_attribute: "primaryEmail", domain: DOMAIN }).users()))[0]!.externalId).to.equal(`cy@${DOMAIN}`);
    expect(google.requests.some((r) => r.includes(`domain=${DOMAIN}`))).to.equal(true);
    expect((await all(connector(ADMIN, { external_id_attribute: "none" }).users()))[0]!.externalId).to.equal(null);
  });

  it("refuses a subject that is not a delegated admin with Google's invalid_grant, as a credentials error", async () => {
    const error = await all(connector(`someone@${DOMAIN}`).users()).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(DirectoryAuthError);
    expect((error as Error).message).to.equal("google refused the directory credentials (HTTP 400): invalid_grant: Invalid email or User ID");
  });

  it("reports a user suspended in Google in a report run on any database, changing nothing", async () => {
    const { orgId, token, connectionId } = await createOrgWithToken(shared.service.url!, { provider: "google" });
    const users = [googleUser(google), googleUser(google, { suspended: true })];
    for (const u of users) {
      const res = await scim(shared.service.url!, token, "POST", "/Users", {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: u.primaryEmail, externalId: u.id,
        name: { givenName: u.givenName, familyName: u.familyName }, emails: [{ value: u.primaryEmail, primary: true }], active: true,
      });
      expect(res.status, res.text).to.equal(201);
    }
    const dir = await admin(shared.service.url!, "PUT", `/v1/organizations/${orgId}/enterprise_connections/${connectionId}/directory`, {
      provider: "google", base_url: google.url, token_url: google.tokenUrl, credentials: { service_account_json: account.json, subject: ADMIN },
    });
    expect(dir.status, dir.text).to.equal(200);
    const res = await reconcileVia(orgId, { source: "idp" });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.findings.map((f: { kind: string; idp: { id: string } }) => [f.kind, f.idp.id])).to.deep.equal([["idp_user_inactive", users[1]!.id]]);
    expect((await usersOf(orgId)).every((u) => u.active)).to.equal(true);
  });

  it("gives up on a quota that never frees with a request error, not a credentials error", async () => {
    googleUser(google);
    google.options.fail = { status: 403, count: 100, reason: "userRateLimitExceeded" };
    const error = await all(connector().users()).catch((e: unknown) => e);
    expect(error).not.to.be.instanceOf(DirectoryAuthError);
    expect((error as Error).message).to.match(/^google API request failed \(HTTP 403\): 403 Quota exceeded/);
  });
});
