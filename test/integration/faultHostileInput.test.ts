import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, type OrgWithToken } from "../helpers/factories.ts";
import { TEST_ADMIN_KEY } from "../helpers/testService.ts";
import { buildRequest, rawRequest, type RawResponse } from "../faults/support/rawHttp.ts";

const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
const base = () => shared.service.url!;
/** The configured SCIM body limit of the test service (ROLLCALL_SCIM_BODY_LIMIT_BYTES default). */
const BODY_LIMIT = 1024 * 1024;

/** Asserts the RFC 7644 §3.12 error shape: SCIM media type, Error schema, status as a string. */
function expectScimError(response: RawResponse, status: number, scimType?: string): void {
  expect(response.status, response.body.slice(0, 300)).to.equal(status);
  expect(response.headers["content-type"]).to.match(/^application\/scim\+json/);
  const body = JSON.parse(response.body) as { schemas: string[]; status: string; scimType?: string; detail: string };
  expect(body.schemas).to.deep.equal([SCIM_ERROR]);
  expect(body.status).to.equal(String(status));
  expect(body.detail).to.be.a("string").and.not.equal("");
  if (scimType) expect(body.scimType).to.equal(scimType);
}

async function stillHealthy(org: OrgWithToken): Promise<void> {
  expect((await fetch(`${base()}/healthz`)).status).to.equal(200);
  expect((await scim(base(), org.token, "POST", "/Users", scimUserBody())).status).to.equal(201);
}

describe("fault (quick): hostile input", () => {
  let org: OrgWithToken;
  const auth = (): [string, string] => ["Authorization", `Bearer ${org.token}`];
  const json: [string, string] = ["Content-Type", "application/scim+json"];

  before(async () => {
    org = await createOrgWithToken(base());
  });

  describe("oversized and deep bodies", () => {
    it("answers 413 with the SCIM error body for a body over the limit that declares its length", async () => {
      const body = JSON.stringify({ ...scimUserBody(), title: "x".repeat(BODY_LIMIT) });
      expectScimError(await rawRequest(base(), buildRequest("POST", "/scim/v2/Users", [auth(), json], body)), 413);
      await stillHealthy(org);
    });

    it("answers 413 for a chunked body that grows past the limit without declaring its length", async () => {
      const body = JSON.stringify({ ...scimUserBody(), title: "x".repeat(2 * BODY_LIMIT) });
      expectScimError(await rawRequest(base(), buildRequest("POST", "/scim/v2/Users", [auth(), json], body, { chunked: true })), 413);
      await stillHealthy(org);
    });

    it("answers 400 invalidSyntax for JSON nested 100,000 levels deep, and for 33 levels of objects", async () => {
      const deepArrays = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
      expectScimError(await rawRequest(base(), buildRequest("POST", "/scim/v2/Users", [auth(), json], deepArrays)), 400, "invalidSyntax");
      let nested: unknown = "leaf";
      for (let i = 0; i < 33; i++) nested = { a: nested };
      const deepObjects = JSON.stringify({ ...scimUserBody(), title: nested });
      expectScimError(await rawRequest(base(), buildRequest("PATCH", "/scim/v2/Users/user_x", [auth(), json], deepObjects)), 400, "invalidSyntax");
      await stillHealthy(org);
    });
  });

  describe("filters", () => {
    const query = (f: string) => `/scim/v2/Users?filter=${encodeURIComponent(f)}`;

    it("answers 400 invalidFilter for a filter over 4,096 characters and for 100 nested nots", async () => {
      const long = Array.from({ length: 200 }, (_, i) => `userName eq "user${i}@example.com"`).join(" or ");
      expect(long.length).to.be.greaterThan(4096);
      expectScimError(await rawRequest(base(), buildRequest("GET", query(long), [auth()])), 400, "invalidFilter");
      const nested = `${"not (".repeat(100)}userName eq "a"${")".repeat(100)}`;
      expectScimError(await rawRequest(base(), buildRequest("GET", query(nested), [auth()])), 400, "invalidFilter");
    });

    it("parses 2,000 redundant parentheses (grouping adds no depth) without a 5xx", async () => {
      const response = await rawRequest(base(), buildRequest("GET", query(`${"(".repeat(2_000)}userName eq "a"${")".repeat(2_000)}`), [auth()]));
      expect(response.status).to.equal(200);
      expect(JSON.parse(response.body).totalResults).to.equal(0);
    });

    it("rejects a raw U+0000 in a filter string (400) and matches nothing for an escaped one", async () => {
      expectScimError(await rawRequest(base(), buildRequest("GET", query('userName eq "a\u0000b"'), [auth()])), 400, "invalidFilter");
      // PostgreSQL text cannot hold U+0000, so no stored value can match it: an empty page, not a 500.
      const escaped = await rawRequest(base(), buildRequest("GET", query('userName ew "\\u0000"'), [auth()]));
      expect(escaped.status, escaped.body).to.equal(200);
      expect(JSON.parse(escaped.body).totalResults).to.equal(0);
    });

    it("refuses a URL longer than Node's header limit at the HTTP layer (431) and keeps serving", async () => {
      const response = await rawRequest(base(), buildRequest("GET", `/scim/v2/Users?filter=${"a".repeat(20_000)}`, [auth()]));
      expect(response.status).to.be.oneOf([414, 431]);
      await stillHealthy(org);
    });

    it("treats a startIndex beyond any row count as an empty page", async () => {
      const response = await scim(base(), org.token, "GET", "/Users?startIndex=99999999999999999999&count=5");
      expect(response.status).to.equal(200);
      expect(response.body.Resources).to.deep.equal([]);
    });
  });

  describe("encodings", () => {
    it("answers 400 invalidSyntax for a body that is not valid UTF-8", async () => {
      const body = Buffer.concat([Buffer.from('{"userName":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
      expectScimError(await rawRequest(base(), buildRequest("POST", "/scim/v2/Users", [auth(), json], body)), 400, "invalidSyntax");
    });

    it("decodes invalid UTF-8 percent-escapes in the filter leniently (U+FFFD) and matches nothing, without a 5xx", async () => {
      const response = await rawRequest(base(), buildRequest("GET", "/scim/v2/Users?filter=userName%20eq%20%22%C3%28%FF%22", [auth()]));
      expect(response.status, response.body).to.equal(200);
      expect(JSON.parse(response.body).totalResults).to.equal(0);
    });

    it("answers 400, never 500, for strings PostgreSQL cannot store: U+0000 and unpaired surrogates", async () => {
      const withNul = JSON.stringify({ ...scimUserBody(), displayName: "a\u0000b" });
      expectScimError(await rawRequest(base(), buildRequest("POST", "/scim/v2/Users", [auth(), json], withNul)), 400);
      const loneSurrogate = JSON.stringify(scimUserBody()).replace('"active":true', '"active":true,"nickName":"\\ud800"');
      expectScimError(await rawRequest(base(), buildRequest("POST", "/scim/v2/Users", [auth(), json], loneSurrogate)), 400);
      await stillHealthy(org);
    });
  });

  describe("headers", () => {
    it("answers 401 with the SCIM error body for an 8 KB Authorization header", async () => {
      expectScimError(await rawRequest(base(), buildRequest("GET", "/scim/v2/Users", [["Authorization", `Bearer ${"A".repeat(8_192)}`]])), 401);
    });

    it("survives a 64 KB header and 3,000 headers with 431, and serves the next request", async () => {
      const big = await rawRequest(base(), buildRequest("GET", "/scim/v2/Users", [auth(), ["X-Padding", "p".repeat(65_536)]]));
      expect(big.status).to.equal(431);
      const many = await rawRequest(base(), buildRequest("GET", "/scim/v2/Users", [auth(), ...Array.from({ length: 3_000 }, (_, i): [string, string] => [`X-H${i}`, "v"])]));
      expect(many.status).to.equal(431);
      await stillHealthy(org);
    });

    it("ignores headers past the count limit when they fit the size limit (1,500 headers)", async () => {
      const response = await rawRequest(base(), buildRequest("GET", "/scim/v2/Users?count=1", [auth(), ...Array.from({ length: 1_500 }, (_, i): [string, string] => [`X${i}`, "1"])]));
      expect(response.status).to.equal(200);
    });
  });

  describe("content types", () => {
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"]) {
      it(`answers 415 with the SCIM error body for a JSON body sent as ${contentType}`, async () => {
        const response = await rawRequest(base(), buildRequest("POST", "/scim/v2/Users", [auth(), ["Content-Type", contentType]], JSON.stringify(scimUserBody())));
        expectScimError(response, 415);
      });
    }
  });

  describe("paths", () => {
    const adminKey: [string, string] = ["Authorization", `Bearer ${TEST_ADMIN_KEY}`];
    const traversals = [
      "/scim/v2/Users/../../v1/organizations",
      "/scim/v2/../../v1/organizations",
      "/scim/v2/Users/..%2F..%2F..%2Fv1%2Forganizations",
      "/scim/v2/%2e%2e/%2e%2e/v1/organizations",
      "/scim/v2/Users/%2e%2e%2f%2e%2e%2fv1%2forganizations",
    ];
    for (const path of traversals) {
      it(`never reaches the admin API through ${path}`, async () => {
        for (const header of [auth(), adminKey]) {
          const response = await rawRequest(base(), buildRequest("GET", path, [header]));
          expect(response.status, response.body.slice(0, 200)).to.be.oneOf([401, 404]);
          expectScimError(response, response.status);
          expect(response.body).to.not.include('"object":"organization"');
        }
      });
    }

    it("does not serve the admin API or SCIM under another casing of their prefix (no auth bypass)", async () => {
      for (const path of ["/V1/organizations", `/V1/organizations/${org.orgId}/scim/tokens`, "/%76%31/organizations", "/v1%2Forganizations"]) {
        const response = await rawRequest(base(), buildRequest("GET", path, []));
        expect(response.status, `${path}: ${response.body.slice(0, 200)}`).to.be.oneOf([401, 404]);
        expect(response.body).to.not.include('"object":"organization"').and.not.include('"object":"scim_token"');
      }
      const minted = await rawRequest(base(), buildRequest("POST", `/V1/organizations/${org.orgId}/scim/tokens`, [["Content-Type", "application/json"]], '{"name":"x"}'));
      expect(minted.status).to.equal(404);
      for (const path of ["/scim/V2/Users", "/SCIM/v2/Users", "/Scim/v2/Groups"]) {
        const response = await rawRequest(base(), buildRequest("GET", path, [auth()]));
        expect(response.status, `${path}: ${response.body.slice(0, 200)}`).to.equal(404);
      }
    });

    it("answers 405, not 5xx, for methods the server does not know (TRACE, PROPFIND)", async () => {
      for (const method of ["TRACE", "PROPFIND"]) {
        const response = await rawRequest(base(), buildRequest(method, "/scim/v2/Users", [auth()]));
        expectScimError(response, 405);
      }
    });
  });
});
