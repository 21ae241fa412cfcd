import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { createOrgWithToken, type OrgWithToken } from "../helpers/factories.ts";
import { admin } from "../helpers/http.ts";
import { portalGet, portalPost, startPortal, type PortalClient } from "../helpers/portal.ts";
import { oktaScimBody, oktaUser } from "../helpers/directoryWorld.ts";
import { scim } from "../helpers/http.ts";
import { startFakeOkta, type FakeOkta } from "../fakes/okta.ts";

/** The portal's Directory page and the IdP side of its Reconciliation page, over plain HTTP. */
describe("admin portal directory connections (HTTP)", function () {
  this.timeout(60_000);
  const base = () => shared.service.url!;
  const API_TOKEN = "00-portal-okta-secret-token";
  let fake: FakeOkta;
  let orgA: OrgWithToken;
  let orgB: OrgWithToken;
  let portalA: PortalClient;
  let portalB: PortalClient;

  const oktaForm = (overrides: Record<string, string> = {}) => ({
    provider: "okta", okta_base_url: fake.url, okta_app_id: fake.options.appId, okta_api_token: API_TOKEN, max_deactivation_percent: "20", interval_minutes: "60", ...overrides,
  });
  const directoryOf = (org: OrgWithToken) => admin(base(), "GET", `/v1/organizations/${org.orgId}/enterprise_connections/${org.connectionId}/directory`);
  const rows = <T extends object>(sql: string, bind: unknown[]) => shared.service.deps.db.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });

  before(async () => {
    fake = await startFakeOkta({ appId: "0oa_portal", apiToken: API_TOKEN });
    orgA = await createOrgWithToken(base(), { provider: "okta" });
    orgB = await createOrgWithToken(base(), { provider: "okta" });
    portalA = await startPortal(base(), orgA.orgId);
    portalB = await startPortal(base(), orgB.orgId);
    for (let i = 0; i < 3; i++) {
      const u = oktaUser(fake);
      fake.state.appUsers.set(u.id, "USER");
    }
    fake.state.groups.set("00g_portal", { id: "00g_portal", name: "Portal group", members: new Set() });
    fake.state.appGroups.add("00g_portal");
  });
  after(async () => fake?.close());

  it("saves an Okta directory from the form and shows its settings with configured: true, never the token", async () => {
    const saved = await portalPost(portalA, `/portal/directory/${orgA.connectionId}`, oktaForm());
    expect(saved.status, saved.text).to.equal(303);
    expect(saved.headers.get("location")).to.equal("/portal/directory?notice=directory_saved");
    const page = await portalGet(portalA, "/portal/directory");
    expect(page.status).to.equal(200);
    expect(page.text).to.include(fake.url).and.include("0oa_portal").and.include("configured: true").and.include("api_token");
    expect(page.text).not.to.include(API_TOKEN);
    const stored = await directoryOf(orgA);
    expect(stored.body).to.include({ provider: "okta", base_url: fake.url, app_id: "0oa_portal", max_deactivation_ratio: 0.2 });
    expect(stored.body.credentials).to.deep.equal({ auth: "api_token", configured: true });
  });

  it("records who configured the directory in the audit log, without the secret", async () => {
    const audit = await rows<{ actor_type: string; action: string; changes: unknown }>(
      `SELECT actor_type, action, changes FROM audit_log WHERE organization_id = $1 AND subject_type = 'directory_connection' ORDER BY created_at`, [orgA.orgId],
    );
    expect(audit.map((a) => [a.actor_type, a.action])).to.deep.include(["portal_session", "directory.configured"]);
    expect(JSON.stringify(audit)).not.to.include(API_TOKEN);
  });

  it("tests the connection and shows ok, the detail and the user and group counts", async () => {
    const tested = await portalPost(portalA, `/portal/directory/${orgA.connectionId}/test`);
    expect(tested.status).to.equal(200);
    expect(tested.text).to.include("Connection works.").and.include("okta answered: 3 assigned user(s), 1 assigned group(s)").and.include("ok: true, users: 3, groups: 1");
    expect(tested.text).not.to.include(API_TOKEN);
  });

  it("shows a failed test with the IdP's answer when the token is wrong", async () => {
    expect((await portalPost(portalB, `/portal/directory/${orgB.connectionId}`, oktaForm({ okta_api_token: "wrong-token" }))).status).to.equal(303);
    const tested = await portalPost(portalB, `/portal/directory/${orgB.connectionId}/test`);
    expect(tested.text).to.include("Connection failed.").and.include("ok: false, users: 0, groups: 0");
    expect(tested.text).not.to.include("wrong-token");
  });

  it("refuses an invalid form with the field's label and stores nothing", async () => {
    const other = await createOrgWithToken(base(), { provider: "okta" });
    const portal = await startPortal(base(), other.orgId);
    const refused = await portalPost(portal, `/portal/directory/${other.connectionId}`, oktaForm({ okta_base_url: "not a url", okta_api_token: "" }));
    expect(refused.status).to.equal(400);
    expect(refused.text).to.include("Okta base URL: must be an http(s) URL.").and.include("Okta API token:");
    expect((await directoryOf(other)).status).to.equal(404);
  });

  it("refuses a directory form without the CSRF token and changes nothing", async () => {
    const before = (await directoryOf(orgA)).body.updated_at;
    const body = new URLSearchParams(oktaForm({ okta_app_id: "0oa_attacker" })).toString();
    const response = await fetch(`${base()}/portal/directory/${orgA.connectionId}`, {
      method: "POST", headers: { Cookie: portalA.cookie, "Content-Type": "application/x-www-form-urlencoded", Origin: base() }, body, redirect: "manual",
    });
    expect(response.status).to.equal(403);
    expect((await portalPost(portalA, `/portal/directory/${orgA.connectionId}/delete`, { _csrf: "forged" })).status).to.equal(403);
    const after = await directoryOf(orgA);
    expect(after.body).to.include({ app_id: "0oa_portal", updated_at: before });
  });

  it("does not show, test, change or delete another organization's directory", async () => {
    const page = await portalGet(portalA, "/portal/directory");
    expect(page.text).not.to.include(orgB.connectionId);
    expect((await portalPost(portalA, `/portal/directory/${orgB.connectionId}`, oktaForm({ okta_app_id: "0oa_hijack" }))).status).to.equal(404);
    expect((await portalPost(portalA, `/portal/directory/${orgB.connectionId}/test`)).status).to.equal(404);
    expect((await portalPost(portalA, `/portal/directory/${orgB.connectionId}/delete`)).status).to.equal(404);
    const stored = await directoryOf(orgB);
    expect(stored.status).to.equal(200);
    expect(stored.body.app_id).to.equal("0oa_portal");
  });

  it("says a source of IdP needs a directory when the organization has none", async () => {
    const other = await createOrgWithToken(base(), { provider: "okta" });
    const portal = await startPortal(base(), other.orgId);
    const refused = await portalPost(portal, "/portal/reconcile", { source: "idp" });
    expect(refused.status).to.equal(409);
    expect(refused.text).to.include("needs a directory connection");
  });

  it("runs a reconciliation against the IdP and shows its findings and what the pull read", async () => {
    const suspended = oktaUser(fake, { status: "SUSPENDED" });
    fake.state.appUsers.set(suspended.id, "USER");
    expect((await scim(base(), orgA.token, "POST", "/Users", oktaScimBody(suspended))).status).to.equal(201);
    const started = await portalPost(portalA, "/portal/reconcile", { source: "idp" });
    expect(started.status, started.text).to.equal(303);
    const run = await portalGet(portalA, started.headers.get("location")!);
    expect(run.text).to.include("Compared with: The IdP&#39;s directory (IdP).").and.include("okta directory, full pull: 4 user(s) and 1 group(s) read");
    expect(run.text).to.include('data-kind="idp_user_inactive"').and.include("suspended_in_idp").and.include("In the IdP").and.include("&quot;status&quot;:&quot;SUSPENDED&quot;");
  });

  it("holds back a repair past the blast-radius guard with its numbers, and Repair anyway forces it", async function () {
    // Repairs need a connection besides the run's lock: PostgreSQL, not the one-connection embedded database.
    if (!shared.databaseUrl) this.skip();
    const runs = await admin(base(), "GET", `/v1/organizations/${orgA.orgId}/reconcile_runs`);
    const runId = runs.body.data[0].id as string;
    const refused = await portalPost(portalA, `/portal/reconcile/runs/${runId}/repair`, { kind: "idp_user_inactive" });
    expect(refused.status, refused.text).to.equal(409);
    expect(refused.text).to.include("Nothing was changed.").and.include("deactivate <strong>1</strong> of <strong>1</strong> active user(s)").and.include("Repair anyway");
    const users = () => admin(base(), "GET", `/v1/organizations/${orgA.orgId}/users`);
    expect((await users()).body.data.every((u: { active: boolean }) => u.active)).to.equal(true);
    const forced = await portalPost(portalA, `/portal/reconcile/runs/${runId}/repair`, { kind: "idp_user_inactive", force: "true" });
    expect(forced.status, forced.text).to.equal(303);
    expect((await users()).body.data.map((u: { active: boolean }) => u.active)).to.deep.equal([false]);
  });

  it("deletes the directory, and reconciliations no longer read the IdP", async () => {
    const deleted = await portalPost(portalB, `/portal/directory/${orgB.connectionId}/delete`);
    expect(deleted.status).to.equal(303);
    expect((await directoryOf(orgB)).status).to.equal(404);
    const page = await portalGet(portalB, "/portal/directory?notice=directory_deleted");
    expect(page.text).to.include("The directory was deleted").and.include("No directory is configured for this connection.");
  });
});
