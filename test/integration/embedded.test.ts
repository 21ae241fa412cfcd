import { expect } from "chai";
import { startTestService } from "../helpers/testService.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
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

  it("keeps serving after the pool reconnects, though PGlite's one session still holds the statements the old connection prepared", async function () {
    this.timeout(30_000);
    const { token } = await createOrgWithToken(service.url!);
    const first = await scim(service.url!, token, "POST", "/Users", scimUserBody());
    expect(first.status).to.equal(201);
    // What the pool does after an idle period or a broken connection: drop it, connect anew.
    const manager = service.deps.db.sequelize.connectionManager;
    const before = (await manager.getConnection({ type: "write" })) as object & { _invalid?: boolean };
    before._invalid = true;
    manager.releaseConnection(before);
    const after = await manager.getConnection({ type: "write" });
    manager.releaseConnection(after);
    expect(after).to.not.equal(before);
    // The same statements again, now on the new connection: prepared afresh, never "already exists" (42P05).
    const second = await scim(service.url!, token, "POST", "/Users", scimUserBody());
    expect(second.status, second.text).to.equal(201);
    const found = await scim(service.url!, token, "GET", `/Users?filter=${encodeURIComponent(`userName eq "${second.body.userName}"`)}`);
    expect(found.status, found.text).to.equal(200);
    expect(found.body.totalResults).to.equal(1);
  });
});
