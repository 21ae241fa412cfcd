import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, unique } from "../helpers/factories.ts";

describe("admin API: organizations, connections, SCIM tokens", () => {
  const base = () => shared.service.url!;

  describe("authentication", () => {
    it("refuses a request without an admin key with 401 and the admin error body", async () => {
      const res = await request(base(), "GET", "/v1/organizations");
      expect(res.status).to.equal(401);
      expect(res.contentType).to.equal("application/json");
      expect(res.body.errors[0].code).to.equal("unauthorized");
    });

    it("refuses a wrong admin key with 401", async () => {
      const res = await request(base(), "GET", "/v1/organizations", { token: "not-the-admin-key-at-all" });
      expect(res.status).to.equal(401);
    });

    it("refuses a SCIM token on the admin API", async () => {
      const { token } = await createOrgWithToken(base());
      const res = await request(base(), "GET", "/v1/organizations", { token });
      expect(res.status).to.equal(401);
    });
  });

  describe("organizations", () => {
    it("creates an organization with a derived slug and ms timestamps", async () => {
      const res = await admin(base(), "POST", "/v1/organizations", { name: `Acme ${unique()}` });
      expect(res.status).to.equal(201);
      expect(res.body).to.include({ object: "organization" });
      expect(res.body.id).to.match(/^org_[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(res.body.slug).to.match(/^acme-[a-f0-9]{8}$/);
      expect(res.body.created_at).to.be.a("number").above(1_600_000_000_000);
    });

    it("rejects an explicit slug that is taken with 409", async () => {
      const slug = `taken-${unique()}`;
      expect((await admin(base(), "POST", "/v1/organizations", { name: "A", slug })).status).to.equal(201);
      const res = await admin(base(), "POST", "/v1/organizations", { name: "B", slug });
      expect(res.status).to.equal(409);
      expect(res.body.errors[0].code).to.equal("conflict");
    });

    it("names the offending field in a validation error", async () => {
      const res = await admin(base(), "POST", "/v1/organizations", { name: "ok", slug: "Not A Slug" });
      expect(res.status).to.equal(400);
      expect(res.body.errors[0].message).to.match(/^slug: /);
      expect(res.body.errors[0].meta.issues[0].field).to.equal("slug");
    });

    it("rejects unknown fields instead of ignoring them", async () => {
      const res = await admin(base(), "POST", "/v1/organizations", { name: "ok", colour: "red" });
      expect(res.status).to.equal(400);
    });

    it("reads an organization by id and by slug, and 404s an unknown one", async () => {
      const created = await admin(base(), "POST", "/v1/organizations", { name: `Read ${unique()}` });
      expect((await admin(base(), "GET", `/v1/organizations/${created.body.id}`)).body.id).to.equal(created.body.id);
      expect((await admin(base(), "GET", `/v1/organizations/${created.body.slug}`)).body.id).to.equal(created.body.id);
      const missing = await admin(base(), "GET", "/v1/organizations/org_01ZZZZZZZZZZZZZZZZZZZZZZZZ");
      expect(missing.status).to.equal(404);
      expect(missing.body.errors[0].code).to.equal("not_found");
    });

    it("lists organizations with keyset pagination", async () => {
      for (let i = 0; i < 3; i++) await admin(base(), "POST", "/v1/organizations", { name: `List ${unique()}` });
      const first = await admin(base(), "GET", "/v1/organizations?limit=2");
      expect(first.body.data).to.have.length(2);
      expect(first.body.has_more).to.equal(true);
      const second = await admin(base(), "GET", `/v1/organizations?limit=2&after=${first.body.next_cursor}`);
      expect(second.body.data[0].id > first.body.data[1].id).to.equal(true);
    });

    it("sets and clears the per-organization SCIM rate limit", async () => {
      const { orgId } = await createOrgWithToken(base());
      const set = await admin(base(), "PATCH", `/v1/organizations/${orgId}`, { scim_rate_limit: 5 });
      expect(set.status).to.equal(200);
      expect(set.body.scim_rate_limit).to.equal(5);
      const cleared = await admin(base(), "PATCH", `/v1/organizations/${orgId}`, { scim_rate_limit: null });
      expect(cleared.body.scim_rate_limit).to.equal(null);
      expect((await admin(base(), "PATCH", `/v1/organizations/${orgId}`, { scim_rate_limit: -1 })).status).to.equal(400);
    });
  });

  describe("enterprise connections and the SCIM endpoint", () => {
    it("creates and lists connections, refusing unknown providers", async () => {
      const org = await admin(base(), "POST", "/v1/organizations", { name: `Conn ${unique()}` });
      const created = await admin(base(), "POST", `/v1/organizations/${org.body.id}/enterprise_connections`, { name: "Okta", provider: "okta" });
      expect(created.status).to.equal(201);
      expect(created.body.id).to.match(/^conn_/);
      expect(created.body.provider).to.equal("okta");
      const bad = await admin(base(), "POST", `/v1/organizations/${org.body.id}/enterprise_connections`, { name: "X", provider: "ldap" });
      expect(bad.status).to.equal(400);
      expect(bad.body.errors[0].message).to.match(/^provider: /);
      const list = await admin(base(), "GET", `/v1/organizations/${org.body.id}/enterprise_connections`);
      expect(list.body.data.map((c: { id: string }) => c.id)).to.deep.equal([created.body.id]);
    });

    it("answers the SCIM endpoint URL from ROLLCALL_PUBLIC_URL", async () => {
      const org = await admin(base(), "POST", "/v1/organizations", { name: `Endpoint ${unique()}` });
      const res = await admin(base(), "GET", `/v1/organizations/${org.body.id}/scim/endpoint`);
      expect(res.status).to.equal(200);
      expect(res.body.endpoint_url).to.equal(`${shared.service.deps.config.publicUrl}/scim/v2/`);
    });
  });

  describe("SCIM tokens", () => {
    it("issues a token once in plaintext, on a default connection created on demand", async () => {
      const org = await admin(base(), "POST", "/v1/organizations", { name: `Tok ${unique()}` });
      const res = await admin(base(), "POST", `/v1/organizations/${org.body.id}/scim/tokens`, { name: "Okta" });
      expect(res.status).to.equal(201);
      expect(res.body).to.include({ object: "scim_token", organization_id: org.body.id, name: "Okta", revoked_at: null });
      expect(res.body.token).to.match(/^scim_[A-Za-z0-9_-]{43}$/);
      expect(res.body.token.startsWith(res.body.prefix)).to.equal(true);
      const conns = await admin(base(), "GET", `/v1/organizations/${org.body.id}/enterprise_connections`);
      expect(conns.body.data[0]).to.include({ id: res.body.enterprise_connection_id, is_default: true });
      const again = await admin(base(), "POST", `/v1/organizations/${org.body.id}/scim/tokens`, { name: "Second" });
      expect(again.body.enterprise_connection_id).to.equal(res.body.enterprise_connection_id);
    });

    it("lists tokens without their plaintext", async () => {
      const { orgId, tokenId } = await createOrgWithToken(base());
      const list = await admin(base(), "GET", `/v1/organizations/${orgId}/scim/tokens`);
      expect(list.body.data).to.have.length(1);
      expect(list.body.data[0].id).to.equal(tokenId);
      expect(list.body.data[0]).to.not.have.property("token");
      expect(list.text).to.not.match(/scim_[A-Za-z0-9_-]{43}/);
    });

    it("never stores the plaintext token", async () => {
      const { token } = await createOrgWithToken(base());
      const rows = await shared.service.deps.db.sequelize.query<Record<string, unknown>>("SELECT * FROM scim_tokens", { type: QueryTypes.SELECT });
      const dump = JSON.stringify(rows, (_k, v) => (Buffer.isBuffer(v) ? v.toString("hex") : v));
      expect(dump).to.not.include(token);
      expect(dump).to.not.include(token.slice(12));
    });

    it("refuses to issue a token for another organization's connection", async () => {
      const a = await createOrgWithToken(base());
      const b = await admin(base(), "POST", "/v1/organizations", { name: `B ${unique()}` });
      const res = await admin(base(), "POST", `/v1/organizations/${b.body.id}/scim/tokens`, { name: "x", enterprise_connection_id: a.connectionId });
      expect(res.status).to.equal(404);
    });

    it("refuses a revoked token on its very next request and keeps last_used_at", async () => {
      const { orgId, token, tokenId } = await createOrgWithToken(base());
      expect((await scim(base(), token, "GET", "/ServiceProviderConfig")).status).to.equal(200);
      const revoked = await admin(base(), "DELETE", `/v1/organizations/${orgId}/scim/tokens/${tokenId}`);
      expect(revoked.status).to.equal(200);
      expect(revoked.body.revoked_at).to.be.a("number");
      const refused = await scim(base(), token, "GET", "/ServiceProviderConfig");
      expect(refused.status).to.equal(401);
      expect(refused.contentType).to.equal("application/scim+json");
      expect(refused.headers.get("www-authenticate")).to.match(/^Bearer/);
      const list = await admin(base(), "GET", `/v1/organizations/${orgId}/scim/tokens`);
      expect(list.body.data[0].last_used_at).to.be.a("number");
    });

    it("cannot revoke another organization's token", async () => {
      const a = await createOrgWithToken(base());
      const b = await createOrgWithToken(base());
      const res = await admin(base(), "DELETE", `/v1/organizations/${b.orgId}/scim/tokens/${a.tokenId}`);
      expect(res.status).to.equal(404);
      expect((await scim(base(), a.token, "GET", "/ServiceProviderConfig")).status).to.equal(200);
    });
  });

  describe("operations endpoints", () => {
    it("answers /healthz and /readyz", async () => {
      expect((await request(base(), "GET", "/healthz")).status).to.equal(200);
      const ready = await request(base(), "GET", "/readyz");
      expect(ready.status).to.equal(200);
      expect(ready.body.status).to.equal("ready");
    });

    it("answers unknown admin routes with a 404 in the admin error shape", async () => {
      const res = await admin(base(), "GET", "/v1/nope");
      expect(res.status).to.equal(404);
      expect(res.body.errors[0].code).to.equal("not_found");
    });

    it("echoes a request id", async () => {
      const res = await request(base(), "GET", "/healthz", { headers: { "X-Request-Id": "abc-123" } });
      expect(res.headers.get("x-request-id")).to.equal("abc-123");
    });
  });
});
