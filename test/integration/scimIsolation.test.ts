import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";

const base = () => shared.service.url!;
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

describe("tenant isolation", () => {
  it("never lets one organization's token read, list, change or delete another's users and groups", async () => {
    const a = await createOrgWithToken(base());
    const b = await createOrgWithToken(base());
    const user = await scim(base(), a.token, "POST", "/Users", scimUserBody());
    const group = await scim(base(), a.token, "POST", "/Groups", { displayName: `A team ${unique()}`, members: [{ value: user.body.id }] });
    expect(group.status).to.equal(201);

    expect((await scim(base(), b.token, "GET", `/Users/${user.body.id}`)).status).to.equal(404);
    expect((await scim(base(), b.token, "GET", `/Groups/${group.body.id}`)).status).to.equal(404);
    const list = await scim(base(), b.token, "GET", `/Users?filter=${encodeURIComponent(`id eq "${user.body.id}" or userName eq "${user.body.userName}"`)}`);
    expect(list.body.totalResults).to.equal(0);
    expect((await scim(base(), b.token, "GET", `/Groups?filter=${encodeURIComponent(`id eq "${group.body.id}"`)}`)).body.totalResults).to.equal(0);
    const rootSearch = { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: `id eq "${user.body.id}" or id eq "${group.body.id}"` };
    expect((await scim(base(), b.token, "POST", "/.search", rootSearch)).body.totalResults).to.equal(0);
    expect((await scim(base(), a.token, "POST", "/.search", rootSearch)).body.totalResults).to.equal(2);
    const patch = { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] };
    expect((await scim(base(), b.token, "PATCH", `/Users/${user.body.id}`, patch)).status).to.equal(404);
    expect((await scim(base(), b.token, "PUT", `/Users/${user.body.id}`, scimUserBody())).status).to.equal(404);
    expect((await scim(base(), b.token, "DELETE", `/Users/${user.body.id}`)).status).to.equal(404);
    expect((await scim(base(), b.token, "DELETE", `/Groups/${group.body.id}`)).status).to.equal(404);
    const groupPatch = { schemas: [PATCH], Operations: [{ op: "remove", path: "members" }] };
    expect((await scim(base(), b.token, "PATCH", `/Groups/${group.body.id}`, groupPatch)).status).to.equal(404);

    // B adding A's user to B's own group must not link across tenants: the value stays pending.
    const bGroup = await scim(base(), b.token, "POST", "/Groups", { displayName: `B team ${unique()}`, members: [{ value: user.body.id }] });
    expect(bGroup.status).to.equal(201);
    expect(bGroup.body.members).to.deep.equal([]);

    const still = await scim(base(), a.token, "GET", `/Users/${user.body.id}`);
    expect(still.body.active).to.equal(true);
    expect((await scim(base(), a.token, "GET", `/Groups/${group.body.id}`)).body.members).to.have.length(1);
  });

  it("keeps the admin read model scoped by organization", async () => {
    const a = await createOrgWithToken(base());
    const b = await createOrgWithToken(base());
    const user = await scim(base(), a.token, "POST", "/Users", scimUserBody());
    expect((await admin(base(), "GET", `/v1/organizations/${b.orgId}/users/${user.body.id}`)).status).to.equal(404);
    expect((await admin(base(), "GET", `/v1/organizations/${b.orgId}/users`)).body.data).to.deep.equal([]);
    expect((await admin(base(), "GET", `/v1/organizations/${a.orgId}/users/${user.body.id}`)).body.id).to.equal(user.body.id);
  });

  it("allows the same userName in two organizations", async () => {
    const a = await createOrgWithToken(base());
    const b = await createOrgWithToken(base());
    const body = scimUserBody();
    expect((await scim(base(), a.token, "POST", "/Users", body)).status).to.equal(201);
    expect((await scim(base(), b.token, "POST", "/Users", body)).status).to.equal(201);
  });
});
