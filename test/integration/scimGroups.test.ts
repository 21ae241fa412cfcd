import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";

const base = () => shared.service.url!;
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const patchOf = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });
const memberIds = (group: { members?: Array<{ value: string }> }) => (group.members ?? []).map((m) => m.value).sort();

describe("SCIM Groups", () => {
  it("creates a team from a pushed group, with its members, and refuses a duplicate name with 409", async () => {
    const { token, orgId } = await createOrgWithToken(base());
    const user = await scim(base(), token, "POST", "/Users", scimUserBody());
    const name = `Engineering ${unique()}`;
    const group = await scim(base(), token, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: name, members: [{ value: user.body.id }] });
    expect(group.status).to.equal(201);
    expect(group.body.id).to.match(/^team_/);
    expect(memberIds(group.body)).to.deep.equal([user.body.id]);
    const dup = await scim(base(), token, "POST", "/Groups", { displayName: name.toUpperCase() });
    expect(dup.status).to.equal(409);
    const teams = await admin(base(), "GET", `/v1/organizations/${orgId}/teams/${group.body.id}/members`);
    expect(teams.body.data.map((u: { id: string }) => u.id)).to.deep.equal([user.body.id]);
  });

  it("keeps an unknown member value pending and applies it when that user arrives by externalId", async () => {
    const { token } = await createOrgWithToken(base());
    const externalId = `late-${unique()}`;
    const group = await scim(base(), token, "POST", "/Groups", { displayName: `Late ${unique()}`, members: [{ value: externalId }] });
    expect(group.status).to.equal(201);
    expect(memberIds(group.body)).to.deep.equal([]);
    const user = await scim(base(), token, "POST", "/Users", scimUserBody({ externalId }));
    const after = await scim(base(), token, "GET", `/Groups/${group.body.id}`);
    expect(memberIds(after.body)).to.deep.equal([user.body.id]);
    expect(user.body.groups.map((g: { value: string }) => g.value)).to.deep.equal([group.body.id]);
  });

  it("adds and removes members with PATCH, including Entra's value-array remove and the filtered path", async () => {
    const { token } = await createOrgWithToken(base());
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => scim(base(), token, "POST", "/Users", scimUserBody())));
    const group = await scim(base(), token, "POST", "/Groups", { displayName: `Ops ${unique()}` });
    const id = group.body.id;
    await scim(base(), token, "PATCH", `/Groups/${id}`, patchOf({ op: "Add", path: "members", value: [{ value: a!.body.id, $ref: null }, { value: b!.body.id }, { value: c!.body.id }] }));
    expect(memberIds((await scim(base(), token, "GET", `/Groups/${id}`)).body)).to.have.length(3);
    await scim(base(), token, "PATCH", `/Groups/${id}`, patchOf({ op: "Remove", path: "members", value: [{ value: a!.body.id }] }));
    await scim(base(), token, "PATCH", `/Groups/${id}`, patchOf({ op: "remove", path: `members[value eq "${b!.body.id}"]` }));
    expect(memberIds((await scim(base(), token, "GET", `/Groups/${id}`)).body)).to.deep.equal([c!.body.id]);
    const excluded = await scim(base(), token, "GET", `/Groups/${id}?excludedAttributes=members`);
    expect(excluded.body).to.not.have.property("members");
  });

  it("suspends memberships when a user is deactivated and restores them on reactivation", async () => {
    const { token, orgId } = await createOrgWithToken(base());
    const user = await scim(base(), token, "POST", "/Users", scimUserBody());
    const group = await scim(base(), token, "POST", "/Groups", { displayName: `Sus ${unique()}`, members: [{ value: user.body.id }] });
    const status = async () => (await admin(base(), "GET", `/v1/organizations/${orgId}/teams/${group.body.id}/members`)).body.data[0].membership.status;
    await scim(base(), token, "PATCH", `/Users/${user.body.id}`, patchOf({ op: "replace", path: "active", value: "False" }));
    expect(await status()).to.equal("suspended");
    await scim(base(), token, "PATCH", `/Users/${user.body.id}`, patchOf({ op: "replace", path: "active", value: "True" }));
    expect(await status()).to.equal("active");
  });

  it("sets a user's teams from a OneLogin-style groups attribute, by team name", async () => {
    const { token } = await createOrgWithToken(base());
    const sales = await scim(base(), token, "POST", "/Groups", { displayName: `Sales ${unique()}` });
    const support = await scim(base(), token, "POST", "/Groups", { displayName: `Support ${unique()}` });
    const body = scimUserBody({ groups: [{ value: sales.body.displayName, display: sales.body.displayName }] });
    const user = await scim(base(), token, "POST", "/Users", body);
    expect(user.body.groups.map((g: { display: string }) => g.display)).to.deep.equal([sales.body.displayName]);
    const moved = await scim(base(), token, "PUT", `/Users/${user.body.id}`, { ...body, groups: [{ value: support.body.displayName }] });
    expect(moved.body.groups.map((g: { value: string }) => g.value)).to.deep.equal([support.body.id]);
    expect(memberIds((await scim(base(), token, "GET", `/Groups/${sales.body.id}`)).body)).to.deep.equal([]);
  });

  it("leaves pushed-group memberships alone when Okta PUTs a user with groups: []", async () => {
    const { token } = await createOrgWithToken(base());
    const body = scimUserBody({ groups: [] });
    const user = await scim(base(), token, "POST", "/Users", body);
    const group = await scim(base(), token, "POST", "/Groups", { displayName: `Pushed ${unique()}`, members: [{ value: user.body.id }] });
    await scim(base(), token, "PUT", `/Users/${user.body.id}`, { ...body, name: { givenName: "Changed", familyName: "Name" } });
    expect(memberIds((await scim(base(), token, "GET", `/Groups/${group.body.id}`)).body)).to.deep.equal([user.body.id]);
  });

  it("deletes a group: 204, then 404, and its members lose the team", async () => {
    const { token } = await createOrgWithToken(base());
    const user = await scim(base(), token, "POST", "/Users", scimUserBody());
    const group = await scim(base(), token, "POST", "/Groups", { displayName: `Gone ${unique()}`, members: [{ value: user.body.id }] });
    expect((await scim(base(), token, "DELETE", `/Groups/${group.body.id}`)).status).to.equal(204);
    expect((await scim(base(), token, "GET", `/Groups/${group.body.id}`)).status).to.equal(404);
    const again = await scim(base(), token, "GET", `/Users/${user.body.id}`);
    expect(again.body.groups ?? []).to.deep.equal([]);
  });

  it("serialises concurrent member PATCHes on one group without losing any", async () => {
    const { token } = await createOrgWithToken(base());
    const users = await Promise.all(Array.from({ length: 8 }, () => scim(base(), token, "POST", "/Users", scimUserBody())));
    const group = await scim(base(), token, "POST", "/Groups", { displayName: `Busy ${unique()}` });
    const results = await Promise.all(users.map((u) => scim(base(), token, "PATCH", `/Groups/${group.body.id}`, patchOf({ op: "add", path: "members", value: [{ value: u.body.id }] }))));
    expect(results.map((r) => r.status)).to.deep.equal(Array(8).fill(204));
    expect(memberIds((await scim(base(), token, "GET", `/Groups/${group.body.id}`)).body)).to.have.length(8);
  });

  it("answers a group PATCH with 204 and the new ETag, or with 200 and the projected group when attributes are named", async () => {
    const { token } = await createOrgWithToken(base());
    const [a, b] = await Promise.all([1, 2].map(() => scim(base(), token, "POST", "/Users", scimUserBody())));
    const group = await scim(base(), token, "POST", "/Groups", { displayName: `Answers ${unique()}` });
    const path = `/Groups/${group.body.id}`;

    const bare = await scim(base(), token, "PATCH", path, patchOf({ op: "add", path: "members", value: [{ value: a!.body.id }] }));
    expect(bare.status).to.equal(204);
    expect(bare.text).to.equal("");
    const afterBare = await scim(base(), token, "GET", path);
    expect(bare.headers.get("etag")).to.equal(afterBare.headers.get("etag")).and.to.be.a("string");
    expect(memberIds(afterBare.body)).to.deep.equal([a!.body.id]);

    const excluded = await scim(base(), token, "PATCH", `${path}?excludedAttributes=members`, patchOf({ op: "add", path: "members", value: [{ value: b!.body.id }] }));
    expect(excluded.status).to.equal(200);
    expect(excluded.headers.get("content-type")).to.include("application/scim+json");
    expect(excluded.body).to.include({ id: group.body.id });
    expect(excluded.body).to.not.have.property("members");

    const named = await scim(base(), token, "PATCH", `${path}?attributes=members`, patchOf({ op: "replace", path: "displayName", value: `Renamed ${unique()}` }));
    expect(named.status).to.equal(200);
    expect(memberIds(named.body)).to.deep.equal([a!.body.id, b!.body.id].sort());
    expect(named.body).to.not.have.property("displayName");
  });
});
