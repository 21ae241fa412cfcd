import { expect } from "chai";
import { Writable } from "node:stream";
import { shared } from "../helpers/rootHooks.ts";
import { startTestService, TEST_ADMIN_KEY } from "../helpers/testService.ts";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { createLogger } from "../../server/logger.ts";

describe("logs", () => {
  it("never contain a SCIM token, the admin key or a password, even at trace level", async function () {
    this.timeout(60_000); // embedded mode: a database of its own, initialised and migrated
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const service = await startTestService(shared.databaseUrl, { logger: createLogger("trace", "rollcall", sink) });
    try {
      const url = service.url!;
      const { token } = await createOrgWithToken(url);
      await scim(url, token, "POST", "/Users", scimUserBody({ password: "pw-should-never-appear" }));
      await scim(url, `${token}x`, "GET", "/Users");
      await request(url, "GET", "/v1/organizations", { token: "wrong-admin-key-0123456789" });
      await admin(url, "GET", "/v1/nope");
      await scim(url, token, "POST", "/Users", { broken: true });
    } finally {
      await service.stop();
    }
    const log = lines.join("");
    expect(lines.length).to.be.greaterThan(10);
    expect(log).to.not.include(TEST_ADMIN_KEY);
    expect(log).to.not.match(/scim_[A-Za-z0-9_-]{43}/);
    expect(log).to.not.include("pw-should-never-appear");
    expect(log).to.not.include("wrong-admin-key-0123456789");
  });
});

describe("logs and responses of directory connections", () => {
  it("never contain the directory credentials, even at trace level and when the IdP refuses them", async function () {
    this.timeout(30_000);
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const service = await startTestService(shared.databaseUrl, { logger: createLogger("trace", "rollcall", sink) });
    const bodies: string[] = [];
    try {
      const url = service.url!;
      const { orgId, connectionId } = await createOrgWithToken(url, { provider: "entra" });
      const path = `/v1/organizations/${orgId}/enterprise_connections/${connectionId}/directory`;
      const put = await admin(url, "PUT", path, {
        provider: "entra", tenant_id: "t", service_principal_id: "sp", base_url: "http://127.0.0.1:9", login_base_url: "http://127.0.0.1:9",
        credentials: { client_id: "client-visible", client_secret: "entra-secret-never-logged" },
      });
      bodies.push(put.text, (await admin(url, "GET", path)).text, (await admin(url, "POST", `${path}/test`)).text);
      bodies.push((await admin(url, "POST", `/v1/organizations/${orgId}/reconcile`, { source: "idp" })).text);
      bodies.push((await admin(url, "PUT", path, { provider: "okta", base_url: "nope", app_id: "a", credentials: { api_token: "okta-token-never-echoed" } })).text);
    } finally {
      await service.stop();
    }
    expect(bodies.join("")).to.include("client-visible");
    for (const secret of ["entra-secret-never-logged", "okta-token-never-echoed"]) {
      expect(lines.join("")).to.not.include(secret);
      expect(bodies.join("")).to.not.include(secret);
    }
  });
});
