import { expect } from "chai";
import { startTestService } from "../helpers/testService.ts";
import { admin } from "../helpers/http.ts";
import type { Service } from "../../server/main.ts";

/**
 * An admin clicking through the portal on `npm start` pauses longer than a pool's idle timeout.
 * The embedded database must keep its one connection: a reconnect to PGlite meets the statements
 * the old connection prepared, and the next prepared query failed with 500.
 */
describe("embedded database (PGlite) after an idle pause", () => {
  let service: Service;

  before(async function () {
    this.timeout(120_000);
    service = await startTestService(undefined);
  });

  after(async function () {
    this.timeout(30_000);
    await service?.stop();
  });

  it("answers a prepared query again after the connection sat idle longer than the pool's idle timeout", async function () {
    this.timeout(40_000);
    const org = await admin(service.url!, "POST", "/v1/organizations", { name: "Idle Co" });
    expect((await admin(service.url!, "GET", `/v1/organizations/${org.body.id}/users`)).status).to.equal(200);
    await new Promise((resolve) => setTimeout(resolve, 11_000)); // sequelize's idle timeout is 10 s; it has no clock to inject
    expect((await admin(service.url!, "GET", `/v1/organizations/${org.body.id}/users`)).status).to.equal(200);
  });
});
