import { expect } from "chai";
import { generateKeyPair, exportJWK, exportPKCS8 } from "jose";
import { shared } from "../helpers/rootHooks.ts";
import { admin } from "../helpers/http.ts";
import { createOrgWithToken } from "../helpers/factories.ts";
import { startFakeOkta, type FakeOkta } from "../fakes/okta.ts";
import { startFakeGraph, type FakeGraph } from "../fakes/graph.ts";
import { startFakeGoogle } from "../fakes/google.ts";
import { startFakeOneLogin } from "../fakes/onelogin.ts";
import { makeServiceAccount } from "../helpers/googleServiceAccount.ts";
import { select } from "../../server/models/sql.ts";

const base = () => shared.service.url!;

describe("admin API: directory connections", () => {
  let okta: FakeOkta;
  let graph: FakeGraph;
  let privatePem: string;

  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    privatePem = await exportPKCS8(privateKey);
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256" };
    okta = await startFakeOkta({ appId: "0oa_app", apiToken: "00ssws-right", oauthClient: { clientId: "0oa_client", jwks: { keys: [jwk] } }, pageSize: 2 });
    for (const [i, status] of (["ACTIVE", "ACTIVE", "SUSPENDED"] as const).entries()) {
      const id = `00u${i}`;
      okta.state.users.set(id, { id, login: `u${i}@acme.com`, email: `u${i}@acme.com`, firstName: "U", lastName: `${i}`, status, lastUpdated: "2026-12-01T00:00:00.000Z" });
      okta.state.appUsers.set(id, "USER");
    }
    okta.state.groups.set("00g1", { id: "00g1", name: "Engineering", members: new Set(["00u0"]) });
    okta.state.appGroups.add("00g1");
    graph = await startFakeGraph({ tenantId: "tenant-1", servicePrincipalId: "sp-1", clientId: "app-1", clientSecret: "right-secret", pageSize: 1 });
    graph.state.users.set("u-1", { id: "u-1", userPrincipalName: "ada@acme.com", mail: "ada@acme.com", mailNickname: "ada", givenName: "Ada", surname: "L", accountEnabled: true });
    graph.state.groups.set("g-1", { id: "g-1", displayName: "Eng", members: new Set(["u-1"]) });
    graph.state.assignments.add("u-1");
    graph.state.assignments.add("g-1");
  });
  after(async () => {
    await okta.close();
    await graph.close();
  });

  const dirPath = (orgId: string, connId: string) => `/v1/organizations/${orgId}/enterprise_connections/${connId}/directory`;

  it("stores an Okta directory and shows its credentials only as non-secret fields and configured: true", async () => {
    const { orgId, connectionId } = await createOrgWithToken(base(), { provider: "okta" });
    const put = await admin(base(), "PUT", dirPath(orgId, connectionId), { provider: "okta", base_url: `${okta.url}/`, app_id: "0oa_app", credentials: { api_token: "00ssws-right" } });
    expect(put.status, put.text).to.equal(200);
    expect(put.contentType).to.equal("application/json");
    expect(put.body).to.include({ object: "directory_connection", provider: "okta", base_url: okta.url, app_id: "0oa_app", enterprise_connection_id: connectionId, max_deactivation_ratio: 0.2, interval_minutes: 60 });
    expect(put.body.credentials).to.deep.equal({ auth: "api_token", configured: true });
    expect(put.text).not.to.contain("00ssws-right");
    const got = await admin(base(), "GET", dirPath(orgId, connectionId));
    expect(got.status).to.equal(200);
    expect(got.body).to.deep.equal(put.body);
    const [row] = await select<{ credentials: string }>(shared.service.deps.db.sequelize, `SELECT credentials FROM directory_connections WHERE id = $1`, [put.body.id]);
    expect(row!.credentials.startsWith("rcenc:v1:")).to.equal(true);
    expect(row!.credentials).not.to.contain("00ssws-right");
  });

  it("tests an Okta directory with an SSWS token: counts the assigned users and groups across pages", async () => {
    const { orgId, connectionId } = await createOrgWithToken(base(), { provider: "okta" });
    await admin(base(), "PUT", dirPath(orgId, connectionId), { provider: "okta", base_url: okta.url, app_id: "0oa_app", credentials: { api_token: "00ssws-right" } });
    const res = await admin(base(), "POST", `${dirPath(orgId, connectionId)}/test`);
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.deep.equal({ ok: true, detail: "okta answered: 3 assigned user(s), 1 assigned group(s)", users: 3, groups: 1 });
  });

  it("tests an Okta OAuth 2.0 service app: the private_key_jwt assertion is accepted and the key never shown", async () => {
    const { orgId, connectionId } = await createOrgWithToken(base(), { provider: "okta" });
    const put = await admin(base(), "PUT", dirPath(orgId, connectionId), { provider: "okta", base_url: okta.url, app_id: "0oa_app", credentials: { client_id: "0oa_client", private_key: privatePem, key_id: "k1" } });
    expect(put.body.credentials).to.deep.equal({ auth: "private_key_jwt", client_id: "0oa_client", key_id: "k1", configured: true });
    expect(put.text).not.to.contain("PRIVATE KEY");
    const res = await admin(base(), "POST", `${dirPath(orgId, connectionId)}/test`);
    expect(res.body).to.include({ ok: true, users: 3, groups: 1 });
  });

  it("reports revoked Okta credentials with Okta's own error, not a 500", async () => {
    const { orgId, connectionId } = await createOrgWithToken(base(), { provider: "okta" });
    await admin(base(), "PUT", dirPath(orgId, connectionId), { provider: "okta", base_url: okta.url, app_id: "0oa_app", credentials: { api_token: "00ssws-revoked" } });
    const res = await admin(base(), "POST", `${dirPath(orgId, connectionId)}/test`);
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ ok: false, detail: "okta refused the directory credentials (HTTP 401): E0000011 Invalid token provided", users: 0, groups: 0 });
  });

  it("tests an Entra directory through Graph: users directly and via groups, each once, across nextLink pages", async () => {
    const { orgId, connectionId } = await createOrgWithToken(base(), { provider: "entra" });
    const put = await admin(base(), "PUT", dirPath(orgId, connectionId), {
      provider: "entra", tenant_id: "tenant-1", service_principal_id: "sp-1", base_url: graph.url, login_base_url: graph.url, credentials: { client_id: "app-1", client_secret: "right-secret" },
    });
    expect(put.status, put.text).to.equal(200);
    expect(put.body).to.include({ external_id_attribute: "mailNickname" });
    expect(put.body.credentials).to.deep.equal({ client_id: "app-1", configured: true });
    const res = await admin(base(), "POST", `${dirPath(orgId, connectionId)}/test`);
    expect(res.body).to.deep.equal({ ok: true, detail: "entra answered: 1 assigned user(s), 1 assigned group(s)", users: 1, groups: 1 });
  });

  it("reports a wrong Entra client secret with the AADSTS error", async () => {
    const { orgId, connectionId } = await createOrgWithToken(base(), { provider: "entra" });
    await admin(base(), "PUT", dirPath(orgId, connectionId), {
      provider: "entra", tenant_id: "tenant-1", service_principal_id: "sp-1", base_url: graph.url, login_base_url: graph.url, credentials: { client_id: "app-1", client_secret: "wrong" },
    });
    const res = await admin(base(), "POST", `${dirPath(orgId, connectionId)}/test`);
    expect(res.body.ok).to.equal(false);
    expect(res.body.detail).to.match(/^entra refused the directory credentials \(HTTP 401\): invalid_client: AADSTS7000215/);
    expect(res.body.detail).not.to.contain("wrong");
  });

  it("stores a Google Workspace directory (key sealed, client_email and subject shown) and tests it through the Directory API", async () => {
    const account = await makeServiceAccount();
    const google = await startFakeGoogle({
      serviceAccount: { clientEmail: account.clientEmail, keyId: account.keyId, publicKeyPem: account.publicKeyPem }, admins: new Set(["admin@acme.com"]), domain: "acme.com", pageSize: 1,
    });
    try {
      for (const [id, suspended] of [["1", false], ["2", true]] as const) {
        google.state.users.set(id, { id, primaryEmail: `g${id}@acme.com`, givenName: "G", familyName: id, suspended, archived: false, orgUnitPath: "/" });
      }
      google.state.groups.set("g1", { id: "g1", email: "eng@acme.com", name: "Eng", members: new Set(["1"]) });
      const { orgId, connectionId } = await createOrgWithToken(base(), { provider: "google" });
      const bad = await admin(base(), "PUT", dirPath(orgId, connectionId), { provider: "google", credentials: { service_account_json: "not json", subject: "nobody" } });
      expect(bad.status).to.equal(400);
      expect(bad.text).to.contain("service_account_json").and.contain("subject");
      const put = await admin(base(), "PUT", dirPath(orgId, connectionId), {
        provider: "google", base_url: google.url, token_url: google.tokenUrl, credentials: { service_account_json: account.json, subject: "admin@acme.com" },
      });
      expect(put.status, put.text).to.equal(200);
      expect(put.body).to.include({ provider: "google", customer: "my_customer", external_id_attribute: "id" });
      expect(put.body.credentials).to.deep.equal({ subject: "admin@acme.com", client_email: account.clientEmail, configured: true });
      expect(put.text).not.to.contain("PRIVATE KEY");
      const [row] = await select<{ credentials: string }>(shared.service.deps.db.sequelize, `SELECT credentials FROM directory_connections WHERE id = $1`, [put.body.id]);
      expect(row!.credentials.startsWith("rcenc:v1:")).to.equal(true);
      expect(row!.credentials).not.to.contain("PRIVATE KEY");
      const res = await admin(base(), "POST", `${dirPath(orgId, connectionId)}/test`);
      expect(res.body).to.deep.equal({ ok: true, detail: "google answered: 2 assigned user(s), 1 assigned group(s)", users: 2, groups: 1 });
      google.options.keyRevoked = true;
      const revoked = await admin(base(), "POST", `${dirPath(orgId, connectionId)}/test`);
      expect(revoked.body).to.deep.equal({ ok: false, detail: "google refused the directory credentials (HTTP 400): invalid_grant: Invalid JWT Signature.", users: 0, groups: 0 });
    } finally {
      await google.close();
    }
  });

  it("stores a OneLogin directory (secret sealed, client_id shown) and tests it; another organization cannot read or test it", async () => {
    const onelogin = await startFakeOneLogin({ appId: 31337, clientId: "ol-id", clientSecret: "ol-very-secret", pageSize: 1 });
    try {
      for (const id of [1, 2, 3]) onelogin.state.users.set(id, { id, username: `u${id}`, email: `u${id}@acme.com`, firstname: "U", lastname: `${id}`, status: 1, state: 1, external_id: null });
      onelogin.state.roles.set(9, { id: 9, name: "Staff", apps: new Set([31337]), users: new Set([1, 2, 3]) });
      const a = await createOrgWithToken(base(), { provider: "onelogin" });
      const b = await createOrgWithToken(base(), { provider: "onelogin" });
      const put = await admin(base(), "PUT", dirPath(a.orgId, a.connectionId), { provider: "onelogin", base_url: onelogin.url, app_id: "31337", credentials: { client_id: "ol-id", client_secret: "ol-very-secret" } });
      expect(put.status, put.text).to.equal(200);
      expect(put.body).to.include({ provider: "onelogin", app_id: "31337", user_name_attribute: "email", external_id_attribute: "none" });
      expect(put.body.credentials).to.deep.equal({ client_id: "ol-id", configured: true });
      expect(put.text).not.to.contain("ol-very-secret");
      const res = await admin(base(), "POST", `${dirPath(a.orgId, a.connectionId)}/test`);
      expect(res.body).to.deep.equal({ ok: true, detail: "onelogin answered: 3 assigned user(s), 1 assigned group(s)", users: 3, groups: 1 });
      expect((await admin(base(), "GET", dirPath(b.orgId, a.connectionId))).status).to.equal(404);
      expect((await admin(base(), "POST", `${dirPath(b.orgId, a.connectionId)}/test`)).status).to.equal(404);
    } finally {
      await onelogin.close();
    }
  });

  it("reports users Okta assigns and nobody provisioned in a report run on any database, changing nothing", async () => {
    const { orgId, connectionId } = await createOrgWithToken(base(), { provider: "okta" });
    await admin(base(), "PUT", dirPath(orgId, connectionId), { provider: "okta", base_url: okta.url, app_id: "0oa_app", credentials: { api_token: "00ssws-right" } });
    const res = await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, {});
    expect(res.status, res.text).to.equal(201);
    expect(res.body.summary.source).to.equal("all");
    expect(res.body.summary.counts).to.include({ idp_user_missing: 2, idp_user_inactive: 0 });
    expect(res.body.findings.map((f: { subject: { idp_id: string } }) => f.subject.idp_id).sort()).to.deep.equal(["00u0", "00u1"]);
    expect((await admin(base(), "GET", `/v1/organizations/${orgId}/users`)).body.data).to.deep.equal([]);
    const after = await admin(base(), "GET", dirPath(orgId, connectionId));
    expect(after.body.last_run_at).to.be.a("number");
  });

  it("rejects a body that misses provider fields, naming them", async () => {
    const { orgId, connectionId } = await createOrgWithToken(base(), { provider: "okta" });
    const res = await admin(base(), "PUT", dirPath(orgId, connectionId), { provider: "okta", base_url: "ftp://x", credentials: {} });
    expect(res.status).to.equal(400);
    expect(res.text).to.contain("app_id");
    expect(res.text).to.contain("base_url");
    const unknown = await admin(base(), "PUT", dirPath(orgId, connectionId), { provider: "ldap" });
    expect(unknown.status).to.equal(400);
  });

  it("deletes a directory, after which GET answers 404", async () => {
    const { orgId, connectionId } = await createOrgWithToken(base(), { provider: "okta" });
    await admin(base(), "PUT", dirPath(orgId, connectionId), { provider: "okta", base_url: okta.url, app_id: "0oa_app", credentials: { api_token: "00ssws-right" } });
    const del = await admin(base(), "DELETE", dirPath(orgId, connectionId));
    expect(del.status).to.equal(200);
    expect(del.body.deleted).to.equal(true);
    expect((await admin(base(), "GET", dirPath(orgId, connectionId))).status).to.equal(404);
  });

  it("never reads or writes another organization's directory through its connection id", async () => {
    const a = await createOrgWithToken(base(), { provider: "okta" });
    const b = await createOrgWithToken(base(), { provider: "okta" });
    await admin(base(), "PUT", dirPath(a.orgId, a.connectionId), { provider: "okta", base_url: okta.url, app_id: "0oa_app", credentials: { api_token: "00ssws-right" } });
    expect((await admin(base(), "GET", dirPath(b.orgId, a.connectionId))).status).to.equal(404);
    expect((await admin(base(), "POST", `${dirPath(b.orgId, a.connectionId)}/test`)).status).to.equal(404);
    expect((await admin(base(), "PUT", dirPath(b.orgId, a.connectionId), { provider: "okta", base_url: okta.url, app_id: "x", credentials: { api_token: "t" } })).status).to.equal(404);
    expect((await admin(base(), "DELETE", dirPath(b.orgId, a.connectionId))).status).to.equal(404);
    expect((await admin(base(), "GET", dirPath(a.orgId, a.connectionId))).body.app_id).to.equal("0oa_app");
  });
});
