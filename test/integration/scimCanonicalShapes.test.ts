import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";

const base = () => shared.service.url!;
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async function storedResource(userId: string): Promise<Record<string, unknown>> {
  const rows = await shared.service.deps.db.sequelize.query<{ scim_resource: Record<string, unknown> }>(
    "SELECT scim_resource FROM users WHERE id = $1",
    { bind: [userId], type: QueryTypes.SELECT },
  );
  return rows[0]!.scim_resource;
}

describe("SCIM canonical attribute shapes (RFC 7643 §2.4: multi-valued attributes are arrays)", () => {
  it("stores and returns a lone emails object sent on POST as an array of one", async () => {
    const { token } = await createOrgWithToken(base());
    const body = scimUserBody();
    const email = { value: body.userName, type: "work", primary: "True" };
    const created = await scim(base(), token, "POST", "/Users", { ...body, emails: email, phoneNumbers: { value: "+1 555 0100", type: "work" } });
    expect(created.status).to.equal(201);
    expect(created.body.emails).to.deep.equal([{ value: body.userName, type: "work", primary: true }]);
    expect(created.body.phoneNumbers).to.deep.equal([{ value: "+1 555 0100", type: "work" }]);
    const stored = await storedResource(created.body.id);
    expect(stored.emails).to.deep.equal([{ value: body.userName, type: "work", primary: true }]);
    expect((await scim(base(), token, "GET", `/Users/${created.body.id}`)).body.emails).to.be.an("array").with.lengthOf(1);
  });

  it("stores a lone object sent on PUT as an array, so filters on the attribute find it", async () => {
    const { token } = await createOrgWithToken(base());
    const body = scimUserBody();
    const created = await scim(base(), token, "POST", "/Users", body);
    const role = `role-${unique()}`;
    const replaced = await scim(base(), token, "PUT", `/Users/${created.body.id}`, { ...body, roles: { value: role, primary: true } });
    expect(replaced.status).to.equal(200);
    expect(replaced.body.roles).to.deep.equal([{ value: role, primary: true }]);
    expect((await storedResource(created.body.id)).roles).to.deep.equal([{ value: role, primary: true }]);
    const found = await scim(base(), token, "GET", `/Users?filter=${encodeURIComponent(`roles[value eq "${role}"]`)}`);
    expect(found.body.totalResults).to.equal(1);
  });

  it("stores a lone object sent by PATCH, with or without a path, as an array", async () => {
    const { token } = await createOrgWithToken(base());
    const created = await scim(base(), token, "POST", "/Users", scimUserBody());
    const patched = await scim(base(), token, "PATCH", `/Users/${created.body.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: "add", path: "addresses", value: { locality: "Paris", type: "work" } },
        { op: "replace", value: { ims: { value: "ada@xmpp", type: "xmpp" } } },
      ],
    });
    expect(patched.status).to.equal(200);
    expect(patched.body.addresses).to.deep.equal([{ locality: "Paris", type: "work" }]);
    expect(patched.body.ims).to.deep.equal([{ value: "ada@xmpp", type: "xmpp" }]);
    const stored = await storedResource(created.body.id);
    expect(stored.addresses).to.be.an("array").with.lengthOf(1);
    expect(stored.ims).to.be.an("array").with.lengthOf(1);
  });

  it("accepts a lone member object on POST /Groups and PUT as a list of one member", async () => {
    const { token } = await createOrgWithToken(base());
    const [a, b] = await Promise.all([1, 2].map(() => scim(base(), token, "POST", "/Users", scimUserBody())));
    const name = `Lone ${unique()}`;
    const group = await scim(base(), token, "POST", "/Groups", { displayName: name, members: { value: a!.body.id } });
    expect(group.status).to.equal(201);
    expect(group.body.members.map((m: { value: string }) => m.value)).to.deep.equal([a!.body.id]);
    const replaced = await scim(base(), token, "PUT", `/Groups/${group.body.id}`, { displayName: name, members: { value: b!.body.id } });
    expect(replaced.status).to.equal(200);
    expect(replaced.body.members.map((m: { value: string }) => m.value)).to.deep.equal([b!.body.id]);
  });
});
