import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";

const base = () => shared.service.url!;

/** Creates a user and a group and returns their SCIM paths and the token. */
async function resources() {
  const { token } = await createOrgWithToken(base());
  const user = await scim(base(), token, "POST", "/Users", scimUserBody());
  const group = await scim(base(), token, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: `G ${unique()}` });
  expect(user.status).to.equal(201);
  expect(group.status).to.equal(201);
  return { token, paths: { Users: `/Users/${user.body.id}`, Groups: `/Groups/${group.body.id}` } };
}

const get = (token: string, path: string, ifNoneMatch: string) => request(base(), "GET", `/scim/v2${path}`, { token, headers: { "If-None-Match": ifNoneMatch } });

describe("SCIM conditional GET (If-None-Match)", () => {
  for (const resource of ["Users", "Groups"] as const) {
    it(`answers 304 with the ETag and no body when ${resource}/:id has not changed`, async () => {
      const { token, paths } = await resources();
      const res = await get(token, paths[resource], 'W/"1"');
      expect(res.status).to.equal(304);
      expect(res.text).to.equal("");
      expect(res.headers.get("etag")).to.equal('W/"1"');
    });

    it(`answers 200 with the resource when ${resource}/:id has another version than the one named`, async () => {
      const { token, paths } = await resources();
      const res = await get(token, paths[resource], 'W/"7", W/"8"');
      expect(res.status).to.equal(200);
      expect(res.body.meta.version).to.equal('W/"1"');
      expect(res.headers.get("etag")).to.equal('W/"1"');
    });

    it(`answers 304 to If-None-Match: * on an existing ${resource}/:id and when one tag of a list is current`, async () => {
      const { token, paths } = await resources();
      expect((await get(token, paths[resource], "*")).status).to.equal(304);
      expect((await get(token, paths[resource], 'W/"9", "1"')).status).to.equal(304);
    });
  }

  it("answers 200 with the new version once the user changed since the ETag was read", async () => {
    const { token, paths } = await resources();
    const patch = await scim(base(), token, "PATCH", paths.Users, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", path: "title", value: "Engineer" }],
    });
    expect(patch.status).to.equal(200);
    const res = await get(token, paths.Users, 'W/"1"');
    expect(res.status).to.equal(200);
    expect(res.body.title).to.equal("Engineer");
    expect(res.headers.get("etag")).to.equal('W/"2"');
  });

  it("still answers 404 for an unknown id whatever If-None-Match says", async () => {
    const { token } = await resources();
    expect((await get(token, "/Users/user_unknown", "*")).status).to.equal(404);
  });
});
