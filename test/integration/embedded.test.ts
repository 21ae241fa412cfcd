import { expect } from "chai";
import { startTestService } from "../helpers/testService.ts";
import { admin, scim } from "../helpers/http.ts";
import type { Service } from "../../server/main.ts";

describe("embedded database (PGlite)", () => {
  let service: Service;

  before(async function () {
    this.timeout(120_000);
    service = await startTestService(undefined);
  });

  after(async function () {
    this.timeout(30_000);
    await service?.stop();
  });

  it("runs migrations and serves the admin and SCIM APIs end to end without a database server", async function () {
    this.timeout(30_000);
    expect(service.deps.db.embedded).to.equal(true);
    const org = await admin(service.url!, "POST", "/v1/organizations", { name: "Embedded Co" });
    expect(org.status).to.equal(201);
    const token = await admin(service.url!, "POST", `/v1/organizations/${org.body.id}/scim/tokens`, { name: "t" });
    expect(token.status).to.equal(201);
    const config = await scim(service.url!, token.body.token, "GET", "/ServiceProviderConfig");
    expect(config.status).to.equal(200);
    const created = await scim(service.url!, token.body.token, "POST", "/Users", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: "embedded@example.com",
      emails: [{ value: "embedded@example.com", primary: true }],
    });
    expect(created.status).to.equal(201);
    const found = await scim(service.url!, token.body.token, "GET", `/Users?filter=${encodeURIComponent('userName eq "EMBEDDED@example.com"')}`);
    expect(found.body.totalResults).to.equal(1);
  });
});
