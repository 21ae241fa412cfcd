import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { admin, scim } from "../helpers/http.ts";
import { portalGet, portalPost, startPortal } from "../helpers/portal.ts";

describe("admin portal mapping editor and guides (HTTP, without script)", () => {
  const base = () => shared.service.url!;

  it("re-renders the editor with each problem listed next to it when a mapping is invalid, and stores nothing", async () => {
    const org = await createOrgWithToken(base());
    const client = await startPortal(base(), org.orgId);
    const refused = await portalPost(client, "/portal/mapping", { mapping: '{"name.givenName": "nowhere", "emails[": "first_name"}' });
    expect(refused.status).to.equal(400);
    expect(refused.text).to.include('aria-invalid="true"').and.include('id="mapping-errors"').and.include("name.givenName");
    expect((await admin(base(), "GET", `/v1/organizations/${org.orgId}/scim/attribute-mappings`)).body.version).to.equal(null);
  });

  it("reports malformed JSON in plain words", async () => {
    const org = await createOrgWithToken(base());
    const client = await startPortal(base(), org.orgId);
    const refused = await portalPost(client, "/portal/mapping/preview", { mapping: '{"name.givenName": ' });
    expect(refused.status).to.equal(400);
    expect(refused.text).to.include("The mapping is not valid JSON");
  });

  it("saves a mapping with apply, and the progress reaches every existing user", async function () {
    this.timeout(30_000);
    const org = await createOrgWithToken(base());
    for (let i = 0; i < 3; i++) expect((await scim(base(), org.token, "POST", "/Users", scimUserBody())).status).to.equal(201);
    const client = await startPortal(base(), org.orgId);
    const saved = await portalPost(client, "/portal/mapping", { mapping: '{"name.familyName": "{{ value | upcase }}.last_name"}', apply: "true" });
    expect(saved.status).to.equal(303);
    expect(saved.headers.get("location")).to.equal("/portal/mapping?notice=mapping_saved_applying&applying=1");
    const page = await portalGet(client, "/portal/mapping?notice=mapping_saved_applying&applying=1");
    expect(page.text).to.include('data-progress-url="/portal/mapping/progress"');
    let progress = { done: false, html: "" };
    for (let i = 0; i < 50 && !progress.done; i++) {
      progress = JSON.parse((await portalGet(client, "/portal/mapping/progress", { Accept: "application/json" })).text);
      if (!progress.done) await new Promise((r) => setTimeout(r, 200));
    }
    expect(progress.done).to.equal(true);
    expect(progress.html).to.include("All of 3 user(s) mapped with version 1");
    const users = await admin(base(), "GET", `/v1/organizations/${org.orgId}/users`);
    expect(users.body.data.every((u: { last_name: string }) => u.last_name === u.last_name.toUpperCase())).to.equal(true);
  });

  it("shows a version's changes against the version before it", async () => {
    const org = await createOrgWithToken(base());
    const client = await startPortal(base(), org.orgId);
    await portalPost(client, "/portal/mapping", { mapping: '{"name.givenName": "first_name", "title": "public_metadata.title"}' });
    await portalPost(client, "/portal/mapping", { mapping: '{"name.givenName": "{{ value | upcase }}.first_name", "department": "public_metadata.department"}' });
    const diff = await portalGet(client, "/portal/mapping/versions/2");
    expect(diff.status).to.equal(200);
    expect(diff.text).to.match(/class="diff-changed"><th scope="row" class="mono">name\.givenName</);
    expect(diff.text).to.match(/class="diff-removed"><th scope="row" class="mono">title</);
    expect(diff.text).to.match(/class="diff-added"><th scope="row" class="mono">department</);
    expect((await portalGet(client, "/portal/mapping/versions/9")).status).to.equal(404);
  });

  it("serves a guide per IdP with its traps, and 404 for an unknown one", async () => {
    const org = await createOrgWithToken(base());
    const client = await startPortal(base(), org.orgId);
    const expected: Record<string, string[]> = {
      okta: ["Import Groups", "Push Groups", "Test Connector Configuration", "401"],
      entra: ["Tenant URL", "Secret Token", "Test Connection", "401"],
      onelogin: ["Set Groups in", "Require admin approval before this action is performed"],
      jumpcloud: ["Identity Management", "Group Management"],
      google: ["auto-provisioning", "custom SAML app"],
    };
    for (const [idp, phrases] of Object.entries(expected)) {
      const guide = await portalGet(client, `/portal/guides/${idp}`);
      expect(guide.status, idp).to.equal(200);
      for (const phrase of phrases) expect(guide.text, `${idp}: ${phrase}`).to.include(phrase);
      expect(guide.text).to.include(`${shared.service.deps.config.publicUrl}/scim/v2/`);
    }
    expect((await portalGet(client, "/portal/guides/ping")).status).to.equal(404);
  });
});
