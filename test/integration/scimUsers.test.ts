import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";

const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
const base = () => shared.service.url!;
const filter = (expr: string) => `/Users?filter=${encodeURIComponent(expr)}`;

describe("SCIM Users", () => {
  describe("create", () => {
    it("creates a user with meta, a weak ETag and a Location header", async () => {
      const { token } = await createOrgWithToken(base());
      const body = scimUserBody();
      const res = await scim(base(), token, "POST", "/Users", body);
      expect(res.status).to.equal(201);
      expect(res.contentType).to.equal("application/scim+json");
      expect(res.body.id).to.match(/^user_/);
      expect(res.body.userName).to.equal(body.userName);
      expect(res.body.meta).to.include({ resourceType: "User", version: 'W/"1"' });
      expect(res.body.meta.location).to.match(new RegExp(`/scim/v2/Users/${res.body.id}$`));
      expect(res.headers.get("etag")).to.equal('W/"1"');
      expect(res.headers.get("location")).to.equal(res.body.meta.location);
    });

    it("never returns or stores a password", async () => {
      const { token } = await createOrgWithToken(base());
      const res = await scim(base(), token, "POST", "/Users", scimUserBody({ password: "hunter2-secret" }));
      expect(res.status).to.equal(201);
      expect(res.body).to.not.have.property("password");
      const rows = await shared.service.deps.db.sequelize.query<{ scim_resource: unknown }>(
        "SELECT scim_resource FROM users WHERE id = $1",
        { bind: [res.body.id], type: QueryTypes.SELECT },
      );
      expect(JSON.stringify(rows)).to.not.include("hunter2-secret");
    });

    it("refuses a user without an email with 400 invalidValue that says so", async () => {
      const { token } = await createOrgWithToken(base());
      const res = await scim(base(), token, "POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: `nomail-${unique()}` });
      expect(res.status).to.equal(400);
      expect(res.body).to.include({ status: "400", scimType: "invalidValue" });
      expect(res.body.schemas).to.deep.equal([ERROR_SCHEMA]);
      expect(res.body.detail).to.match(/email/i);
    });

    it("accepts a userName that is an email as the email", async () => {
      const { token } = await createOrgWithToken(base());
      const res = await scim(base(), token, "POST", "/Users", { userName: `only.${unique()}@example.com` });
      expect(res.status).to.equal(201);
    });

    it("answers an active duplicate userName (any case) with 409 uniqueness", async () => {
      const { token } = await createOrgWithToken(base());
      const body = scimUserBody();
      expect((await scim(base(), token, "POST", "/Users", body)).status).to.equal(201);
      const dup = await scim(base(), token, "POST", "/Users", { ...body, userName: String(body.userName).toUpperCase(), externalId: `other-${unique()}` });
      expect(dup.status).to.equal(409);
      expect(dup.body).to.include({ status: "409", scimType: "uniqueness" });
    });

    it("treats a retried create with the same externalId as the same user", async () => {
      const { token } = await createOrgWithToken(base());
      const body = scimUserBody();
      const first = await scim(base(), token, "POST", "/Users", body);
      const retry = await scim(base(), token, "POST", "/Users", body);
      expect(retry.status).to.equal(201);
      expect(retry.body.id).to.equal(first.body.id);
      const list = await scim(base(), token, "GET", filter(`externalId eq "${body.externalId}"`));
      expect(list.body.totalResults).to.equal(1);
    });

    it("makes exactly one user from ten concurrent creates with the same externalId", async () => {
      const { token } = await createOrgWithToken(base());
      const body = scimUserBody();
      const results = await Promise.all(Array.from({ length: 10 }, () => scim(base(), token, "POST", "/Users", body)));
      expect(results.map((r) => r.status)).to.deep.equal(Array(10).fill(201));
      expect(new Set(results.map((r) => r.body.id)).size).to.equal(1);
      const list = await scim(base(), token, "GET", filter(`userName eq "${body.userName}"`));
      expect(list.body.totalResults).to.equal(1);
    });

    it("gives one 201 and 409s for concurrent creates of one userName from different externalIds", async () => {
      const { token } = await createOrgWithToken(base());
      const body = scimUserBody();
      const results = await Promise.all(Array.from({ length: 6 }, () => scim(base(), token, "POST", "/Users", { ...body, externalId: `ext-${unique()}` })));
      expect(results.filter((r) => r.status === 201)).to.have.length(1);
      expect(results.filter((r) => r.status === 409)).to.have.length(5);
    });
  });

  describe("lifecycle", () => {
    it("deactivates with active:false, keeps the user readable, and reactivates on create with the same id", async () => {
      const { token } = await createOrgWithToken(base());
      const body = scimUserBody();
      const created = await scim(base(), token, "POST", "/Users", body);
      const off = await scim(base(), token, "PATCH", `/Users/${created.body.id}`, {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        Operations: [{ op: "replace", value: { active: false } }],
      });
      expect(off.status).to.equal(200);
      expect(off.body.active).to.equal(false);
      expect((await scim(base(), token, "GET", `/Users/${created.body.id}`)).body.active).to.equal(false);
      const again = await scim(base(), token, "POST", "/Users", { ...body, externalId: `new-${unique()}` });
      expect(again.status).to.equal(201);
      expect(again.body.id).to.equal(created.body.id);
      expect(again.body.active).to.equal(true);
    });

    it("soft-deletes: GET answers 404 afterwards, the row stays for audit, and the userName is free again", async () => {
      const { token } = await createOrgWithToken(base());
      const body = scimUserBody();
      const created = await scim(base(), token, "POST", "/Users", body);
      const del = await scim(base(), token, "DELETE", `/Users/${created.body.id}`);
      expect(del.status).to.equal(204);
      const gone = await scim(base(), token, "GET", `/Users/${created.body.id}`);
      expect(gone.status).to.equal(404);
      expect(gone.body.schemas).to.deep.equal([ERROR_SCHEMA]);
      expect((await scim(base(), token, "DELETE", `/Users/${created.body.id}`)).status).to.equal(404);
      const rows = await shared.service.deps.db.sequelize.query<{ deleted_at: Date | null }>("SELECT deleted_at FROM users WHERE id = $1", {
        bind: [created.body.id],
        type: QueryTypes.SELECT,
      });
      expect(rows[0]!.deleted_at).to.be.an.instanceOf(Date);
      const recreated = await scim(base(), token, "POST", "/Users", body);
      expect(recreated.status).to.equal(201);
      expect(recreated.body.id).to.not.equal(created.body.id);
    });

    it("replaces a user with PUT and bumps the version", async () => {
      const { token } = await createOrgWithToken(base());
      const created = await scim(base(), token, "POST", "/Users", scimUserBody());
      const put = await scim(base(), token, "PUT", `/Users/${created.body.id}`, { ...scimUserBody({ userName: created.body.userName, externalId: created.body.externalId }), name: { givenName: "New", familyName: "Name" }, id: created.body.id, meta: created.body.meta });
      expect(put.status).to.equal(200);
      expect(put.body.name).to.deep.equal({ givenName: "New", familyName: "Name" });
      expect(put.body.meta.version).to.equal('W/"2"');
    });

    it("honours If-Match and answers a stale version with 412", async () => {
      const { token } = await createOrgWithToken(base());
      const created = await scim(base(), token, "POST", "/Users", scimUserBody());
      const patch = { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "displayName", value: "X" }] };
      expect((await scim(base(), token, "PATCH", `/Users/${created.body.id}`, patch, { "If-Match": 'W/"7"' })).status).to.equal(412);
      expect((await scim(base(), token, "PATCH", `/Users/${created.body.id}`, patch, { "If-Match": 'W/"1"' })).status).to.equal(200);
    });

    it("answers a PUT that takes another user's userName with 409", async () => {
      const { token } = await createOrgWithToken(base());
      const a = await scim(base(), token, "POST", "/Users", scimUserBody());
      const b = await scim(base(), token, "POST", "/Users", scimUserBody());
      const put = await scim(base(), token, "PUT", `/Users/${b.body.id}`, scimUserBody({ userName: a.body.userName, externalId: b.body.externalId }));
      expect(put.status).to.equal(409);
      expect(put.body.scimType).to.equal("uniqueness");
    });
  });

  describe("lists", () => {
    it("filters in SQL with the RFC grammar and pages with startIndex/count", async () => {
      const { token } = await createOrgWithToken(base());
      const tag = unique();
      for (let i = 0; i < 3; i++) {
        await scim(base(), token, "POST", "/Users", scimUserBody({ userName: `${tag}.${i}@acme.com`, emails: [{ value: `${tag}.${i}@acme.com`, type: "work", primary: true }], title: i === 0 ? "Boss" : undefined }));
      }
      const sw = await scim(base(), token, "GET", filter(`userName sw "${tag}" and emails[type eq "work" and value co "@acme.com"]`));
      expect(sw.body.totalResults).to.equal(3);
      const pr = await scim(base(), token, "GET", filter(`userName sw "${tag}" and title pr`));
      expect(pr.body.totalResults).to.equal(1);
      const not = await scim(base(), token, "GET", filter(`userName sw "${tag}" and not (title pr)`));
      expect(not.body.totalResults).to.equal(2);
      const work = await scim(base(), token, "GET", filter(`emails[type eq "work"].value eq "${tag}.1@acme.com"`));
      expect(work.body.totalResults).to.equal(1);
      const home = await scim(base(), token, "GET", filter(`emails[type eq "home"].value eq "${tag}.1@acme.com"`));
      expect(home.body.totalResults).to.equal(0);
      const page = await scim(base(), token, "GET", `${filter(`userName sw "${tag}"`)}&startIndex=2&count=1&sortBy=userName`);
      expect(page.body).to.include({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
      expect(page.body.Resources[0].userName).to.equal(`${tag}.1@acme.com`);
    });

    it("answers a bad filter with 400 invalidFilter, never a 5xx", async () => {
      const { token } = await createOrgWithToken(base());
      for (const bad of ['userName eq', 'nosuchattr eq "x"', "((((", 'userName eq "x" and', `meta.created gt "yesterday"`]) {
        const res = await scim(base(), token, "GET", filter(bad));
        expect(res.status, bad).to.equal(400);
        expect(res.body.scimType, bad).to.equal("invalidFilter");
      }
    });

    it("caps count at maxResults and returns only totals for count=0", async () => {
      const { token } = await createOrgWithToken(base());
      await scim(base(), token, "POST", "/Users", scimUserBody());
      const zero = await scim(base(), token, "GET", "/Users?count=0");
      expect(zero.body.totalResults).to.equal(1);
      expect(zero.body.Resources).to.equal(undefined);
      const big = await scim(base(), token, "GET", "/Users?count=100000");
      expect(big.status).to.equal(200);
    });

    it("applies attributes and excludedAttributes", async () => {
      const { token } = await createOrgWithToken(base());
      const created = await scim(base(), token, "POST", "/Users", scimUserBody({ "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "R&D", employeeNumber: "42" } }));
      const only = await scim(base(), token, "GET", `/Users/${created.body.id}?attributes=userName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`);
      expect(only.body).to.have.keys(["schemas", "id", "userName", "meta", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]);
      expect(only.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]).to.deep.equal({ department: "R&D" });
      const without = await scim(base(), token, "GET", `/Users/${created.body.id}?excludedAttributes=emails,name`);
      expect(without.body).to.not.have.any.keys("emails", "name");
      expect(without.body.userName).to.equal(created.body.userName);
    });
  });

  describe("protocol limits", () => {
    it("answers malformed JSON with 400 invalidSyntax", async () => {
      const { token } = await createOrgWithToken(base());
      const res = await request(base(), "POST", "/scim/v2/Users", { token, rawBody: '{"userName": ', headers: { "Content-Type": "application/scim+json" } });
      expect(res.status).to.equal(400);
      expect(res.body).to.include({ scimType: "invalidSyntax", status: "400" });
    });

    it("answers a body over 1 MiB with 413 and the SCIM error body", async () => {
      const { token } = await createOrgWithToken(base());
      const res = await request(base(), "POST", "/scim/v2/Users", { token, rawBody: JSON.stringify({ userName: "x", pad: "a".repeat(1_100_000) }), headers: { "Content-Type": "application/scim+json" } });
      expect(res.status).to.equal(413);
      expect(res.contentType).to.equal("application/scim+json");
      expect(res.body.status).to.equal("413");
    });

    it("answers invalid UTF-8 and absurdly deep JSON with 400", async () => {
      const { token } = await createOrgWithToken(base());
      const bad = await request(base(), "POST", "/scim/v2/Users", { token, rawBody: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), headers: { "Content-Type": "application/scim+json" } });
      expect(bad.status).to.equal(400);
      const deep = await request(base(), "POST", "/scim/v2/Users", { token, rawBody: "[".repeat(5000) + "]".repeat(5000), headers: { "Content-Type": "application/scim+json" } });
      expect(deep.status).to.equal(400);
    });

    it("rate-limits per token with 429, an integer Retry-After and the SCIM error body", async () => {
      const { token, orgId } = await createOrgWithToken(base());
      await admin(base(), "PATCH", `/v1/organizations/${orgId}`, { scim_rate_limit: 3 });
      const results = await Promise.all(Array.from({ length: 8 }, () => scim(base(), token, "GET", "/Users?count=0")));
      const limited = results.filter((r) => r.status === 429);
      expect(limited.length).to.be.greaterThan(0);
      expect(limited[0]!.headers.get("retry-after")).to.match(/^\d+$/);
      expect(limited[0]!.body).to.include({ status: "429" });
      expect(limited[0]!.body.schemas).to.deep.equal([ERROR_SCHEMA]);
      const other = await createOrgWithToken(base());
      expect((await scim(base(), other.token, "GET", "/Users?count=0")).status).to.equal(200);
    });
  });

  describe("request log", () => {
    it("records each SCIM call for the org admin, without secrets", async () => {
      const { token, orgId, tokenId } = await createOrgWithToken(base());
      await scim(base(), token, "POST", "/Users", scimUserBody({ password: "s3cret-pw" }));
      await scim(base(), token, "GET", "/Users/user_00000000000000000000000000");
      await shared.service.deps.requestLog.flush();
      const log = await admin(base(), "GET", `/v1/organizations/${orgId}/scim/events`);
      expect(log.status).to.equal(200);
      expect(log.body.data).to.have.length(2);
      const [notFound, created] = log.body.data;
      expect(created).to.include({ method: "POST", path: "/scim/v2/Users", status: 201, token_id: tokenId, outcome: "success" });
      expect(notFound).to.include({ status: 404, outcome: "client_error" });
      expect(notFound.error).to.match(/not found/);
      expect(log.text).to.not.include("s3cret-pw");
      expect(log.text).to.not.include(token);
    });

    it("logs a request whose error detail echoes a U+0000 from the request, with U+FFFD in its place", async () => {
      const { orgId, token } = await createOrgWithToken(base());
      const response = await scim(base(), token, "GET", `/Users?filter=${encodeURIComponent('userName eq "a\u0000')}`);
      expect(response.status).to.equal(400);
      await shared.service.deps.requestLog.flush();
      const log = await admin(base(), "GET", `/v1/organizations/${orgId}/scim/events`);
      expect(log.body.data).to.have.length(1);
      expect(log.body.data[0]).to.include({ status: 400, outcome: "client_error" });
      expect(log.body.data[0].error).to.include("\uFFFD").and.not.include("\u0000");
    });
  });
});
