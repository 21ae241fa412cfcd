import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim, type JsonResponse } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique, type OrgWithToken } from "../helpers/factories.ts";
import { startTestService } from "../helpers/testService.ts";

const base = () => shared.service.url!;
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/** Random hex: incompressible, so PostgreSQL cannot squeeze it into a btree index row. */
const randomText = (length: number) => randomBytes(Math.ceil(length / 2)).toString("hex").slice(0, length);

function expectLimit(response: JsonResponse, setting: string): void {
  expect(response.status, response.text.slice(0, 300)).to.equal(400);
  expect(response.contentType).to.equal("application/scim+json");
  expect(response.body.scimType).to.equal("invalidValue");
  expect(response.body.detail).to.contain(setting);
}

describe("request bounds: bad input is a 4xx, never a 5xx", () => {
  let org: OrgWithToken;
  before(async () => {
    org = await createOrgWithToken(base());
  });

  describe("lengths of indexed values", () => {
    it("refuses a 3,000-character user externalId with 400 naming the limit", async () => {
      expectLimit(await scim(base(), org.token, "POST", "/Users", scimUserBody({ externalId: randomText(3000) })), "ROLLCALL_SCIM_MAX_IDENTIFIER_LENGTH");
    });

    it("refuses a 10 KB group externalId with 400 naming the limit", async () => {
      const response = await scim(base(), org.token, "POST", "/Groups", { displayName: `g ${unique()}`, externalId: randomText(8000) });
      expectLimit(response, "ROLLCALL_SCIM_MAX_IDENTIFIER_LENGTH");
    });

    it("refuses a 10 KB string anywhere in a SCIM body with 400 naming the limit", async () => {
      const response = await scim(base(), org.token, "POST", "/Groups", { displayName: `g ${unique()}`, externalId: randomText(10_000) });
      expectLimit(response, "ROLLCALL_SCIM_MAX_STRING_LENGTH");
    });

    it("refuses a 3,000-character member value and email address with 400", async () => {
      const group = await scim(base(), org.token, "POST", "/Groups", { displayName: `g ${unique()}`, members: [{ value: randomText(3000) }] });
      expectLimit(group, "ROLLCALL_SCIM_MAX_IDENTIFIER_LENGTH");
      const user = await scim(base(), org.token, "POST", "/Users", scimUserBody({ emails: [{ value: `${randomText(3000)}@example.com`, primary: true }] }));
      expectLimit(user, "ROLLCALL_SCIM_MAX_IDENTIFIER_LENGTH");
    });

    it("refuses a 3,000-character externalId sent through PATCH with 400", async () => {
      const user = await scim(base(), org.token, "POST", "/Users", scimUserBody());
      const patch = await scim(base(), org.token, "PATCH", `/Users/${user.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "externalId", value: randomText(3000) }] });
      expectLimit(patch, "ROLLCALL_SCIM_MAX_IDENTIFIER_LENGTH");
    });
  });

  describe("counts", () => {
    it("refuses a user with 30,000 emails with 400 naming the per-attribute limit", async () => {
      const emails = Array.from({ length: 30_000 }, (_, i) => ({ value: `${i}@x` }));
      expectLimit(await scim(base(), org.token, "POST", "/Users", scimUserBody({ emails })), "ROLLCALL_SCIM_MAX_ATTRIBUTE_VALUES");
    });

    it("refuses a PATCH that would take a user past 100 emails", async () => {
      const user = await scim(base(), org.token, "POST", "/Users", scimUserBody());
      const emails = Array.from({ length: 100 }, (_, i) => ({ value: `more${i}@example.com` }));
      const patch = await scim(base(), org.token, "PATCH", `/Users/${user.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: "add", path: "emails", value: emails }] });
      expectLimit(patch, "ROLLCALL_SCIM_MAX_ATTRIBUTE_VALUES");
    });

    it("refuses a no-path PATCH value of 20,000 keys with 400 naming the per-object limit", async () => {
      const user = await scim(base(), org.token, "POST", "/Users", scimUserBody());
      const value = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, "v"]));
      const patch = await scim(base(), org.token, "PATCH", `/Users/${user.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: "add", value }] });
      expectLimit(patch, "ROLLCALL_SCIM_MAX_OBJECT_KEYS");
    });

    it("refuses keys that add up past the per-object limit across PATCH operations", async () => {
      const user = await scim(base(), org.token, "POST", "/Users", scimUserBody());
      const Operations = Array.from({ length: 3 }, (_, op) => ({ op: "add", value: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${op}_${i}`, "v"])) }));
      expectLimit(await scim(base(), org.token, "PATCH", `/Users/${user.body.id}`, { schemas: [PATCH_OP], Operations }), "ROLLCALL_SCIM_MAX_OBJECT_KEYS");
    });

    it("refuses a group PATCH naming more members than the per-request limit", async () => {
      const group = await scim(base(), org.token, "POST", "/Groups", { displayName: `g ${unique()}` });
      const members = Array.from({ length: 10_001 }, (_, i) => ({ value: `u${i}` }));
      const patch = await scim(base(), org.token, "PATCH", `/Groups/${group.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: "add", path: "members", value: members }] });
      expectLimit(patch, "ROLLCALL_SCIM_MAX_MEMBERS_PER_REQUEST");
    });

    it("refuses JSON nested 5,000 levels deep on POST /Users with 400 invalidSyntax", async () => {
      let nested = "1";
      for (let i = 0; i < 5000; i++) nested = `{"a":${nested}}`;
      const response = await request(base(), "POST", "/scim/v2/Users", { token: org.token, rawBody: nested });
      expect(response.status).to.equal(400);
      expect(response.body.scimType).to.equal("invalidSyntax");
    });
  });

  describe("__proto__ and friends", () => {
    it("refuses a __proto__ key in a SCIM body, so no membership can come from it", async () => {
      const group = await scim(base(), org.token, "POST", "/Groups", { displayName: `Admins ${unique()}` });
      const userName = `proto.${unique()}@example.com`;
      const raw = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"${userName}","__proto__":{"groups":[{"value":"${group.body.id}"}]}}`;
      const response = await request(base(), "POST", "/scim/v2/Users", { token: org.token, rawBody: raw });
      expect(response.status).to.equal(400);
      expect(response.body.detail).to.contain("__proto__");
      const found = await scim(base(), org.token, "GET", `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
      expect(found.body.totalResults).to.equal(0);
      const members = await scim(base(), org.token, "GET", `/Groups/${group.body.id}`);
      expect(members.body.members ?? []).to.deep.equal([]);
    });

    it("refuses nested __proto__, constructor and prototype keys in SCIM and admin bodies alike", async () => {
      const nested = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"n.${unique()}@example.com","name":{"__proto__":{"givenName":"Ghost"}}}`;
      expect((await request(base(), "POST", "/scim/v2/Users", { token: org.token, rawBody: nested })).status).to.equal(400);
      const ctor = await scim(base(), org.token, "POST", "/Users", scimUserBody({ constructor: { prototype: "x" } }));
      expect(ctor.status).to.equal(400);
      const mapping = await request(base(), "PUT", `/v1/organizations/${org.orgId}/scim/attribute-mappings`, {
        token: (await import("../helpers/testService.ts")).TEST_ADMIN_KEY,
        rawBody: '{"mapping":{"__proto__":{"title":"public_metadata.title"}}}',
        headers: { "Content-Type": "application/json" },
      });
      expect(mapping.status).to.equal(400);
    });
  });

  describe("userName in one Unicode normal form", () => {
    it("treats josé in NFC and in NFD as one user: the second create is a 409 and the filter finds it", async () => {
      const name = `jos\u00e9.${unique()}@example.com`;
      const nfc = await scim(base(), org.token, "POST", "/Users", scimUserBody({ userName: name.normalize("NFC"), emails: undefined }));
      expect(nfc.status).to.equal(201);
      const nfd = await scim(base(), org.token, "POST", "/Users", scimUserBody({ userName: name.normalize("NFD"), emails: undefined }));
      expect(nfd.status).to.equal(409);
      const found = await scim(base(), org.token, "GET", `/Users?filter=${encodeURIComponent(`userName eq "${name.normalize("NFD")}"`)}`);
      expect(found.body.totalResults).to.equal(1);
      expect(found.body.Resources[0].id).to.equal(nfc.body.id);
      const viaOr = await scim(base(), org.token, "GET", `/Users?filter=${encodeURIComponent(`userName eq "nobody" or userName eq "${name.normalize("NFD")}"`)}`);
      expect(viaOr.body.totalResults).to.equal(1);
    });
  });

  describe("authentication before the body", () => {
    it("answers 401 to a bad token even when the body is malformed", async () => {
      const response = await request(base(), "POST", "/scim/v2/Users", { token: "not-a-token", rawBody: "{not json" });
      expect(response.status).to.equal(401);
      const adminResponse = await request(base(), "POST", "/v1/organizations", { token: "not-the-admin-key", rawBody: "{not json", headers: { "Content-Type": "application/json" } });
      expect(adminResponse.status).to.equal(401);
    });

    it("cuts off a client that trickles its body after the request timeout", async function () {
      this.timeout(20_000);
      const service = await startTestService(shared.databaseUrl, { env: { ROLLCALL_HTTP_HEADERS_TIMEOUT_MS: "1000", ROLLCALL_HTTP_REQUEST_TIMEOUT_MS: "1500" } });
      try {
        const url = new URL(service.url!);
        // A token of this service's own database (on the embedded database it is not the shared one).
        const { token } = await createOrgWithToken(service.url!);
        const started = performance.now();
        const outcome = await new Promise<{ text: string; ms: number }>((resolve) => {
          const socket = connect(Number(url.port), url.hostname);
          let text = "";
          socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
          socket.on("close", () => resolve({ text, ms: performance.now() - started }));
          socket.on("error", () => {});
          socket.write(`POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/scim+json\r\nContent-Length: 1000\r\n\r\n{"userName":`);
          // One byte a second, forever: Node's default would hold this for 300 s.
          const drip = setInterval(() => socket.write(" "), 1000);
          socket.on("close", () => clearInterval(drip));
          setTimeout(() => socket.destroy(), 15_000).unref();
        });
        expect(outcome.ms).to.be.below(6000);
        expect(outcome.text).to.match(/^HTTP\/1\.1 408/);
      } finally {
        await service.stop();
      }
    });
  });
});
