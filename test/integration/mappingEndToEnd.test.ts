import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";

const base = () => shared.service.url!;
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** The two examples from SPEC "Attribute mapping", verbatim. */
const SPEC_MAPPING = {
  "groups[0].value": '{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}.organization_role',
  [`${ENTERPRISE}.department`]: "public_metadata.department",
  [`${ENTERPRISE}:employeeNumber`]: "public_metadata.employee_number",
};

describe("attribute mapping, end to end", () => {
  it("stores a validated mapping as version 1, 2, … and lists the versions", async () => {
    const { orgId } = await createOrgWithToken(base());
    const empty = await admin(base(), "GET", `/v1/organizations/${orgId}/scim/attribute-mappings`);
    expect(empty.status).to.equal(200);
    expect(empty.body).to.include({ version: null });
    expect(empty.body.defaults).to.have.property("userName");
    const v1 = await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: SPEC_MAPPING });
    expect(v1.status).to.equal(200);
    expect(v1.body).to.include({ version: 1, object: "attribute_mapping" });
    const v2 = await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: { "title": "public_metadata.title" } });
    expect(v2.body.version).to.equal(2);
    const versions = await admin(base(), "GET", `/v1/organizations/${orgId}/scim/attribute-mappings/versions`);
    expect(versions.body.data.map((v: { version: number }) => v.version)).to.deep.equal([2, 1]);
  });

  it("refuses an invalid mapping with every problem listed and stores nothing", async () => {
    const { orgId } = await createOrgWithToken(base());
    const res = await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, {
      mapping: { "emails[type eq": "email_address", "title": "nowhere", "name.givenName": "{% if value %}unclosed.first_name" },
    });
    expect(res.status).to.equal(400);
    expect(res.body.errors.length).to.be.at.least(3);
    expect(res.body.errors.map((e: { meta: { key: string } }) => e.meta.key)).to.include.members(["emails[type eq", "title", "name.givenName"]);
    const current = await admin(base(), "GET", `/v1/organizations/${orgId}/scim/attribute-mappings`);
    expect(current.body.version).to.equal(null);
  });

  it("gives an Okta-pushed 'Admins' group member org:admin and enterprise attributes in public_metadata", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: SPEC_MAPPING });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
      [ENTERPRISE]: { department: "Platform", employeeNumber: "E-1001" },
      groups: [],
    }));
    expect(user.status).to.equal(201);
    const before = await admin(base(), "GET", `/v1/organizations/${orgId}/users/${user.body.id}`);
    expect(before.body.organization_role).to.equal("org:member");
    expect(before.body.public_metadata).to.deep.equal({ department: "Platform", employee_number: "E-1001" });

    const group = await scim(base(), token, "POST", "/Groups", { displayName: "Admins", members: [] });
    await scim(base(), token, "PATCH", `/Groups/${group.body.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: [{ value: user.body.id }] }] });
    const after = await admin(base(), "GET", `/v1/organizations/${orgId}/users/${user.body.id}`);
    expect(after.body.organization_role).to.equal("org:admin");
    expect(after.body.teams.map((t: { name: string }) => t.name)).to.deep.equal(["Admins"]);

    await scim(base(), token, "PATCH", `/Groups/${group.body.id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: `members[value eq "${user.body.id}"]` }] });
    const removed = await admin(base(), "GET", `/v1/organizations/${orgId}/users/${user.body.id}`);
    expect(removed.body.organization_role).to.equal("org:member");
  });

  it("lets an org mapping override a default by source path", async () => {
    const { orgId, token } = await createOrgWithToken(base());
    await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: { "name.givenName": "{{ value | upcase }}.first_name" } });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody({ name: { givenName: "ada", familyName: "Lovelace" } }));
    const read = await admin(base(), "GET", `/v1/organizations/${orgId}/users/${user.body.id}`);
    expect(read.body).to.include({ first_name: "ADA", last_name: "Lovelace" });
  });

  it("falls back to the default when a template fails, records the error, and still provisions", async () => {
    const { orgId, token } = await createOrgWithToken(base());
    await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, {
      mapping: { "title": "{% for i in (1..100000000) %}{% for j in (1..100000000) %}x{% endfor %}{% endfor %}.public_metadata.title", "displayName": "organization_role" },
    });
    const started = Date.now();
    const user = await scim(base(), token, "POST", "/Users", scimUserBody({ title: "CTO", displayName: "Not A Role" }));
    expect(Date.now() - started).to.be.below(5_000);
    expect(user.status).to.equal(201);
    const read = await admin(base(), "GET", `/v1/organizations/${orgId}/users/${user.body.id}`);
    expect(read.body.organization_role).to.equal("org:member");
    expect(read.body.public_metadata).to.not.have.property("title");
    expect(read.body.mapping.errors.length).to.equal(2);
  });

  it("previews a SCIM user under the current or a proposed mapping", async () => {
    const { orgId } = await createOrgWithToken(base());
    await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: SPEC_MAPPING });
    const scimUser = { userName: `p.${unique()}@example.com`, groups: [{ value: "Admins", display: "Admins" }], [ENTERPRISE]: { department: "Sales" } };
    const current = await admin(base(), "POST", `/v1/organizations/${orgId}/scim/attribute-mappings/preview`, { scim_user: scimUser });
    expect(current.status).to.equal(200);
    expect(current.body.user).to.include({ organization_role: "org:admin", email_address: scimUser.userName });
    expect(current.body.user.public_metadata).to.deep.equal({ department: "Sales" });
    const proposed = await admin(base(), "POST", `/v1/organizations/${orgId}/scim/attribute-mappings/preview`, { scim_user: scimUser, mapping: { "userName": "{{ value | nosuchfilter }}.first_name" } });
    expect(proposed.status).to.equal(400);
    const erroring = await admin(base(), "POST", `/v1/organizations/${orgId}/scim/attribute-mappings/preview`, { scim_user: scimUser, mapping: { "userName": "organization_role" } });
    expect(erroring.status).to.equal(200);
    expect(erroring.body.user.organization_role).to.equal("org:member");
    expect(erroring.body.errors[0]).to.include({ key: "userName" });
  });
});
