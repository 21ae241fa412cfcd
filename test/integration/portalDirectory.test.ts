import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { createOrgWithToken, type OrgWithToken } from "../helpers/factories.ts";
import { admin } from "../helpers/http.ts";
import { portalGet, portalPost, startPortal, type PortalClient } from "../helpers/portal.ts";
import { oktaScimBody, oktaUser } from "../helpers/directoryWorld.ts";
import { scim } from "../helpers/http.ts";
import { startFakeOkta, type FakeOkta } from "../fakes/okta.ts";
import { startFakeOneLogin } from "../fakes/onelogin.ts";
import { startFakeGoogle } from "../fakes/google.ts";
import { makeServiceAccount } from "../helpers/googleServiceAccount.ts";

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

  it("sets up and tests a OneLogin directory from the form: client secret sealed, client id shown", async () => {
    const onelogin = await startFakeOneLogin({ appId: 424242, clientId: "ol-portal", clientSecret: "ol-portal-secret" });
    try {
      onelogin.state.users.set(7, { id: 7, username: "ana", email: "ana@acme.example", firstname: "Ana", lastname: "B", status: 1, state: 1, external_id: null });
      onelogin.state.roles.set(70, { id: 70, name: "Staff", apps: new Set([424242]), users: new Set([7]) });
      const org = await createOrgWithToken(base(), { provider: "onelogin" });
      const portal = await startPortal(base(), org.orgId);
      const form = await portalGet(portal, "/portal/directory");
      expect(form.text).to.match(/<option value="onelogin" selected>OneLogin<\/option>/);
      const saved = await portalPost(portal, `/portal/directory/${org.connectionId}`, {
        provider: "onelogin", onelogin_base_url: onelogin.url, onelogin_app_id: "424242", onelogin_user_name_attribute: "email", onelogin_external_id_attribute: "none",
        onelogin_client_id: "ol-portal", onelogin_client_secret: "ol-portal-secret", max_deactivation_percent: "20", interval_minutes: "60",
      });
      expect(saved.status, saved.text).to.equal(303);
      expect((await directoryOf(org)).body).to.deep.include({ provider: "onelogin", app_id: "424242", credentials: { client_id: "ol-portal", configured: true } });
      const tested = await portalPost(portal, `/portal/directory/${org.connectionId}/test`);
      expect(tested.text).to.include("Connection works.").and.include("onelogin answered: 1 assigned user(s), 1 assigned group(s)");
      expect(tested.text).not.to.include("ol-portal-secret");
    } finally {
      await onelogin.close();
    }
  });

  it("sets up and tests a Google Workspace directory from the form, naming a bad key by its label", async () => {
    const account = await makeServiceAccount();
    const google = await startFakeGoogle({
      serviceAccount: { clientEmail: account.clientEmail, keyId: account.keyId, publicKeyPem: account.publicKeyPem }, admins: new Set(["admin@acme.example"]), domain: "acme.example",
    });
    try {
      google.state.users.set("11", { id: "11", primaryEmail: "kim@acme.example", givenName: "Kim", familyName: "L", suspended: false, archived: false, orgUnitPath: "/" });
      const org = await createOrgWithToken(base(), { provider: "google" });
      const portal = await startPortal(base(), org.orgId);
      const fields = { provider: "google", google_base_url: google.url, google_token_url: google.tokenUrl, google_subject: "admin@acme.example", max_deactivation_percent: "20", interval_minutes: "60" };
      const refused = await portalPost(portal, `/portal/directory/${org.connectionId}`, { ...fields, google_service_account_json: "{\"type\":\"user\"}" });
      expect(refused.status).to.equal(400);
      expect(refused.text).to.include("Google service account key (JSON): must be the service account&#39;s JSON key");
      const saved = await portalPost(portal, `/portal/directory/${org.connectionId}`, { ...fields, google_service_account_json: account.json });
      expect(saved.status, saved.text).to.equal(303);
      const stored = (await directoryOf(org)).body;
      expect(stored).to.deep.include({ provider: "google", customer: "my_customer", external_id_attribute: "id", credentials: { subject: "admin@acme.example", client_email: account.clientEmail, configured: true } });
      const page = await portalGet(portal, "/portal/directory");
      expect(page.text).to.include(account.clientEmail).and.not.include("PRIVATE KEY");
      const tested = await portalPost(portal, `/portal/directory/${org.connectionId}/test`);
      expect(tested.text).to.include("Connection works.").and.include("google answered: 1 assigned user(s), 0 assigned group(s)");
      const scoped = await portalPost(portal, `/portal/directory/${org.connectionId}`, { ...fields, google_service_account_json: account.json, google_scope_groups: "eng@acme.example, ops@acme.example" });
      expect(scoped.status, scoped.text).to.equal(303);
      expect((await directoryOf(org)).body.scope_groups).to.deep.equal(["eng@acme.example", "ops@acme.example"]);
      expect((await portalGet(portal, "/portal/directory")).text).to.include('value="eng@acme.example, ops@acme.example"');
    } finally {
      await google.close();
    }
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
