import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { createOrgWithToken, scimUserBody, type OrgWithToken } from "../helpers/factories.ts";
import { admin, scim } from "../helpers/http.ts";
import { portalGet, portalPost, startPortal, type PortalClient } from "../helpers/portal.ts";

describe("admin portal isolation (HTTP)", () => {
  const base = () => shared.service.url!;
  let orgA: OrgWithToken;
  let orgB: OrgWithToken;
  let portalA: PortalClient;
  let userB: { id: string; userName: string };
  let runB: string;
  let deliveryB: string;
  let endpointB: string;

  before(async function () {
    this.timeout(60_000);
    orgA = await createOrgWithToken(base());
    orgB = await createOrgWithToken(base());
    portalA = await startPortal(base(), orgA.orgId);
    endpointB = (await admin(base(), "POST", `/v1/organizations/${orgB.orgId}/webhook_endpoints`, { url: "http://127.0.0.1:9/never" })).body.id;
    const body = scimUserBody();
    const created = await scim(base(), orgB.token, "POST", "/Users", body);
    const users = await admin(base(), "GET", `/v1/organizations/${orgB.orgId}/users`);
    userB = { id: users.body.data[0].id, userName: body.userName as string };
    expect(created.status).to.equal(201);
    runB = (await admin(base(), "POST", `/v1/organizations/${orgB.orgId}/reconcile`, {})).body.id;
    const deliveries = await shared.service.deps.db.sequelize.query<{ id: string }>(
      `SELECT id FROM webhook_deliveries WHERE organization_id = $1 LIMIT 1`, { bind: [orgB.orgId], type: QueryTypes.SELECT },
    );
    deliveryB = deliveries[0]!.id;
    await shared.service.deps.requestLog.flush();
  });

  it("cannot revoke another organization's token by its id", async () => {
    const refused = await portalPost(portalA, `/portal/tokens/${orgB.tokenId}/revoke`);
    expect(refused.status).to.equal(404);
    expect((await scim(base(), orgB.token, "GET", "/Users")).status).to.equal(200);
  });

  it("cannot retry another organization's webhook delivery or delete its endpoint", async () => {
    expect((await portalPost(portalA, `/portal/webhooks/deliveries/${deliveryB}/retry`)).status).to.equal(404);
    expect((await portalPost(portalA, `/portal/webhooks/${endpointB}/delete`)).status).to.equal(404);
    const endpoint = await admin(base(), "GET", `/v1/organizations/${orgB.orgId}/webhook_endpoints/${endpointB}`);
    expect(endpoint.body.deleted_at).to.equal(null);
  });

  it("cannot read or repair another organization's reconcile run", async () => {
    expect((await portalGet(portalA, `/portal/reconcile/runs/${runB}`)).status).to.equal(404);
    expect((await portalGet(portalA, `/portal/reconcile/runs/${runB}/repair?kind=mapping_drift`)).status).to.equal(404);
    expect((await portalPost(portalA, `/portal/reconcile/runs/${runB}/repair`, { kind: "mapping_drift" })).status).to.equal(404);
  });

  it("does not find another organization's user by id, name or in the mapping preview", async () => {
    const byId = await portalGet(portalA, `/portal/users?q=${userB.id}`);
    const byName = await portalGet(portalA, `/portal/users?q=${encodeURIComponent(userB.userName)}`);
    // The search box echoes the query; the result is what must be empty.
    expect(byId.text).to.include("No user matches this search.").and.not.include(userB.userName);
    expect(byName.text).to.include("No user matches this search.").and.not.include(`<td class="mono">${userB.userName}</td>`);
    const preview = await portalGet(portalA, `/portal/mapping?user=${userB.id}`);
    expect(preview.status).to.equal(200);
    expect(preview.text).not.to.include(userB.userName);
  });

  it("shows only its own organization's requests in the request log", async () => {
    const log = await portalGet(portalA, "/portal/log");
    expect(log.text).not.to.include("/scim/v2/Users");
    const rows = await portalGet(portalA, "/portal/log/rows?status=all&resource=all&after=", { Accept: "application/json" });
    expect(JSON.parse(rows.text).count).to.equal(0);
  });

  it("cannot reach the admin API with the portal cookie", async () => {
    const response = await fetch(`${base()}/v1/organizations/${orgA.orgId}/users`, { headers: { Cookie: portalA.cookie } });
    expect(response.status).to.equal(401);
  });
});
