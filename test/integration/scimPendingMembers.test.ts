import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { buildApp } from "../../server/app.ts";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const unknownMembers = (count: number, prefix = unique()) => Array.from({ length: count }, (_, i) => ({ value: `nobody-${prefix}-${i}` }));

async function pendingRows(orgId: string): Promise<number> {
  const rows = await shared.service.deps.db.sequelize.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pending_memberships WHERE organization_id = $1",
    { bind: [orgId], type: QueryTypes.SELECT },
  );
  return rows[0]!.n;
}

describe("SCIM pending members are capped per group and per organization", () => {
  it("refuses a group naming 20,000 unknown members with a 4xx and writes no pending row and no team", async function () {
    this.timeout(60_000);
    const { token, orgId } = await createOrgWithToken(shared.service.url!);
    const name = `Huge ${unique()}`;
    const res = await scim(shared.service.url!, token, "POST", "/Groups", { displayName: name, members: unknownMembers(20_000) });
    expect([400, 413]).to.include(res.status);
    expect(res.body.schemas).to.deep.equal(["urn:ietf:params:scim:api:messages:2.0:Error"]);
    expect(await pendingRows(orgId)).to.equal(0);
    const listed = await scim(shared.service.url!, token, "GET", `/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`);
    expect(listed.body.totalResults).to.equal(0);
  });

  describe("with small limits (5 per group, 8 per organization)", () => {
    // The real app on the run's database, configured with small limits (a second service would
    // mean a second embedded database when there is no DATABASE_URL).
    let server: Server;
    let baseUrl: string;
    const url = () => baseUrl;
    before(async () => {
      const { config } = shared.service.deps;
      const scimConfig = { ...config.scim, maxPendingMembersPerGroup: 5, maxPendingMembersPerOrganization: 8 };
      server = buildApp({ ...shared.service.deps, config: { ...config, scim: scimConfig } }).listen(0, "127.0.0.1");
      await once(server, "listening");
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => {
      server?.close();
    });

    it("answers 400 invalidValue naming the per-group limit when a POST names more unknown members than it", async () => {
      const { token, orgId } = await createOrgWithToken(url());
      const res = await scim(url(), token, "POST", "/Groups", { displayName: `G ${unique()}`, members: unknownMembers(6) });
      expect(res.status).to.equal(400);
      expect(res.body.scimType).to.equal("invalidValue");
      expect(res.body.detail).to.include("ROLLCALL_PENDING_MEMBERS_PER_GROUP").and.to.include("at most 5");
      expect(await pendingRows(orgId)).to.equal(0);
    });

    it("counts known users as members, not as pending, and keeps up to the limit pending", async () => {
      const { token, orgId } = await createOrgWithToken(url());
      const users = await Promise.all([1, 2, 3].map(() => scim(url(), token, "POST", "/Users", scimUserBody())));
      const members = [...users.map((u) => ({ value: u.body.id as string })), ...unknownMembers(5)];
      const res = await scim(url(), token, "POST", "/Groups", { displayName: `G ${unique()}`, members });
      expect(res.status).to.equal(201);
      expect(res.body.members).to.have.lengthOf(3);
      expect(await pendingRows(orgId)).to.equal(5);
    });

    it("refuses a PATCH that adds a pending member beyond the group's limit, but lets it re-send one already pending", async () => {
      const { token, orgId } = await createOrgWithToken(url());
      const initial = unknownMembers(5);
      const group = await scim(url(), token, "POST", "/Groups", { displayName: `G ${unique()}`, members: initial });
      expect(group.status).to.equal(201);
      const patch = (value: unknown) =>
        scim(url(), token, "PATCH", `/Groups/${group.body.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "members", value }] });
      const over = await patch(unknownMembers(1));
      expect(over.status).to.equal(400);
      expect(over.body.detail).to.include("would hold 6 pending members");
      expect((await patch([initial[0]])).status).to.equal(204);
      expect(await pendingRows(orgId)).to.equal(5);
    });

    it("answers 400 naming the per-organization limit when another group would take the organization over it", async () => {
      const { token, orgId } = await createOrgWithToken(url());
      expect((await scim(url(), token, "POST", "/Groups", { displayName: `A ${unique()}`, members: unknownMembers(5) })).status).to.equal(201);
      const over = await scim(url(), token, "POST", "/Groups", { displayName: `B ${unique()}`, members: unknownMembers(4) });
      expect(over.status).to.equal(400);
      expect(over.body.detail).to.include("ROLLCALL_PENDING_MEMBERS_PER_ORGANIZATION").and.to.include("at most 8");
      expect((await scim(url(), token, "POST", "/Groups", { displayName: `C ${unique()}`, members: unknownMembers(3) })).status).to.equal(201);
      expect(await pendingRows(orgId)).to.equal(8);
    });

    it("lets a PUT replace a group's pending members with as many as the limit, the old ones no longer counting", async () => {
      const { token, orgId } = await createOrgWithToken(url());
      const name = `G ${unique()}`;
      const group = await scim(url(), token, "POST", "/Groups", { displayName: name, members: unknownMembers(5) });
      const replaced = await scim(url(), token, "PUT", `/Groups/${group.body.id}`, { displayName: name, members: unknownMembers(5) });
      expect(replaced.status).to.equal(200);
      expect(await pendingRows(orgId)).to.equal(5);
    });
  });
});
