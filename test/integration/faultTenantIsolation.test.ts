import { expect } from "chai";
import fc from "fast-check";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique, type OrgWithToken } from "../helpers/factories.ts";
import { TEST_ADMIN_KEY } from "../helpers/testService.ts";
import { select } from "../../server/models/sql.ts";

const base = () => shared.service.url!;
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** Every table that holds an organization's data, read in a stable order: the "before" and "after" of org A. */
const SNAPSHOT_QUERIES: Array<[string, string]> = [
  ["organizations", "SELECT * FROM organizations WHERE id = $1"],
  ["enterprise_connections", "SELECT * FROM enterprise_connections WHERE organization_id = $1 ORDER BY id"],
  ["scim_tokens", "SELECT * FROM scim_tokens WHERE organization_id = $1 ORDER BY id"],
  ["users", "SELECT * FROM users WHERE organization_id = $1 ORDER BY id"],
  ["teams", "SELECT * FROM teams WHERE organization_id = $1 ORDER BY id"],
  ["team_memberships", "SELECT * FROM team_memberships WHERE organization_id = $1 ORDER BY team_id, user_id"],
  ["pending_memberships", "SELECT * FROM pending_memberships WHERE organization_id = $1 ORDER BY id"],
  ["attribute_mappings", "SELECT * FROM attribute_mappings WHERE organization_id = $1 ORDER BY id"],
  ["webhook_endpoints", "SELECT * FROM webhook_endpoints WHERE organization_id = $1 ORDER BY id"],
  ["events", "SELECT * FROM events WHERE organization_id = $1 ORDER BY seq"],
  ["webhook_deliveries", "SELECT * FROM webhook_deliveries WHERE organization_id = $1 ORDER BY id"],
  ["webhook_attempts", "SELECT a.* FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.organization_id = $1 ORDER BY a.id"],
  ["reconcile_runs", "SELECT * FROM reconcile_runs WHERE organization_id = $1 ORDER BY id"],
  ["audit_log", "SELECT * FROM audit_log WHERE organization_id = $1 ORDER BY id"],
];

/**
 * Read through the shared service's own pool: the embedded database takes one connection, which
 * that pool holds, so a second client could not connect there.
 */
async function snapshot(organizationId: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, sql] of SNAPSHOT_QUERIES) out[table] = await select(shared.service.deps.db.sequelize, sql, [organizationId]);
  return out;
}

type OrgData = OrgWithToken & { ids: Record<string, string> };

/** An organization with one of everything that has an id: users, a group, tokens, a webhook endpoint, a delivery, a reconcile run. */
async function populatedOrg(): Promise<OrgData> {
  const org = await createOrgWithToken(base());
  const endpoint = await admin(base(), "POST", `/v1/organizations/${org.orgId}/webhook_endpoints`, { url: "http://127.0.0.1:9/webhooks" });
  const user = await scim(base(), org.token, "POST", "/Users", scimUserBody());
  const other = await scim(base(), org.token, "POST", "/Users", scimUserBody());
  const group = await scim(base(), org.token, "POST", "/Groups", { displayName: `Team ${unique()}`, members: [{ value: user.body.id }, { value: "not-yet-known" }] });
  const spare = await admin(base(), "POST", `/v1/organizations/${org.orgId}/scim/tokens`, { name: "spare" });
  const mapping = await admin(base(), "PUT", `/v1/organizations/${org.orgId}/scim/attribute-mappings`, { mapping: { title: "public_metadata.title" } });
  const run = await admin(base(), "POST", `/v1/organizations/${org.orgId}/reconcile`, {});
  const deliveries = await admin(base(), "GET", `/v1/organizations/${org.orgId}/webhook_deliveries`);
  for (const [what, response, status] of [["endpoint", endpoint, 201], ["user", user, 201], ["group", group, 201], ["token", spare, 201], ["mapping", mapping, 200], ["run", run, 201]] as const) {
    if (response.status !== status) throw new Error(`${what}: ${response.status} ${response.text}`);
  }
  const delivery = (deliveries.body.data as Array<{ id: string }>)[0];
  if (!delivery) throw new Error(`no webhook delivery for org ${org.orgId}: ${deliveries.text}`);
  return {
    ...org,
    ids: {
      user: user.body.id,
      otherUser: other.body.id,
      group: group.body.id,
      token: org.tokenId,
      spareToken: spare.body.id,
      connection: org.connectionId,
      endpoint: endpoint.body.id,
      delivery: delivery.id,
      run: run.body.id,
    },
  };
}

/** Every route that takes an id in its path, as org B would call it. `:id` is replaced by the id under test. */
const SCIM_ROUTES: Array<{ method: string; path: string; body?: () => unknown }> = [
  { method: "GET", path: "/Users/:id" },
  { method: "PUT", path: "/Users/:id", body: () => scimUserBody() },
  { method: "PATCH", path: "/Users/:id", body: () => ({ schemas: [PATCH_OP], Operations: [{ op: "replace", value: { active: false } }] }) },
  { method: "DELETE", path: "/Users/:id" },
  { method: "GET", path: "/Groups/:id" },
  { method: "PUT", path: "/Groups/:id", body: () => ({ displayName: `Stolen ${unique()}`, members: [] }) },
  { method: "PATCH", path: "/Groups/:id", body: () => ({ schemas: [PATCH_OP], Operations: [{ op: "remove", path: "members" }] }) },
  { method: "DELETE", path: "/Groups/:id" },
];
const ADMIN_ROUTES: Array<{ method: string; path: string; body?: () => unknown }> = [
  { method: "GET", path: "/users/:id" },
  { method: "GET", path: "/teams/:id" },
  { method: "GET", path: "/teams/:id/members" },
  { method: "DELETE", path: "/scim/tokens/:id" },
  { method: "GET", path: "/webhook_endpoints/:id" },
  { method: "DELETE", path: "/webhook_endpoints/:id" },
  { method: "GET", path: "/webhook_deliveries/:id" },
  { method: "POST", path: "/webhook_deliveries/:id/retry", body: () => ({}) },
  { method: "GET", path: "/reconcile_runs/:id" },
];

describe("fault (quick): tenant isolation under fuzzing", () => {
  let a: OrgData;
  let b: OrgData;

  before(async function () {
    this.timeout(30_000);
    [a, b] = await Promise.all([populatedOrg(), populatedOrg()]);
  });

  it("answers 404 for every id of org A, in any id slot of every SCIM and org-scoped admin route of org B, and changes nothing of A", async function () {
    this.timeout(60_000);
    const before = await snapshot(a.orgId);
    const idOfA = fc.constantFrom(...Object.values(a.ids));
    // Spellings an attacker might try for the same id; none may resolve to A's resource from B.
    const spelling = fc.constantFrom<(id: string) => string>(
      (id) => id,
      (id) => `${id}/`,
      (id) => encodeURIComponent(id),
      (id) => id.replace("_", "%5F"),
      (id) => `${id}%20`,
    );
    const route = fc.oneof(
      fc.constantFrom(...SCIM_ROUTES).map((r) => ({ ...r, surface: "scim" as const })),
      fc.constantFrom(...ADMIN_ROUTES).map((r) => ({ ...r, surface: "admin" as const })),
    );
    const call = async (r: { method: string; path: string; body?: () => unknown; surface: "scim" | "admin" }, idInPath: string) => {
      const path = r.path.replace(":id", idInPath);
      const body = r.body?.();
      const response = r.surface === "scim"
        ? await scim(base(), b.token, r.method, path, body)
        : await request(base(), r.method, `/v1/organizations/${b.orgId}${path}`, { token: TEST_ADMIN_KEY, body, headers: body === undefined ? {} : { "Content-Type": "application/json" } });
      expect(response.status, `${r.surface} ${r.method} ${path}: ${response.text.slice(0, 200)}`).to.equal(404);
      if (r.surface === "scim") expect(response.body.schemas).to.deep.equal(["urn:ietf:params:scim:api:messages:2.0:Error"]);
    };
    // Exhaustively first: every route with every id of A as it is...
    for (const r of [...SCIM_ROUTES.map((x) => ({ ...x, surface: "scim" as const })), ...ADMIN_ROUTES.map((x) => ({ ...x, surface: "admin" as const }))]) {
      for (const id of Object.values(a.ids)) await call(r, id);
    }
    // ...then fuzzed spellings of the same ids.
    await fc.assert(
      fc.asyncProperty(route, idOfA, spelling, async (r, id, spell) => call(r, spell(id))),
      { numRuns: 300 },
    );
    expect(await snapshot(a.orgId)).to.deep.equal(before);
  });

  it("never lists or filters org A's resources for org B, and refuses A's connection in B's token request", async () => {
    const before = await snapshot(a.orgId);
    for (const [resource, id] of [["Users", a.ids.user], ["Groups", a.ids.group]] as const) {
      const filtered = await scim(base(), b.token, "GET", `/${resource}?filter=${encodeURIComponent(`id eq "${id}"`)}`);
      expect(filtered.status).to.equal(200);
      expect(filtered.body.totalResults).to.equal(0);
      const all = await scim(base(), b.token, "GET", `/${resource}?count=200`);
      expect((all.body.Resources as Array<{ id: string }>).map((r) => r.id)).to.not.include(id);
    }
    for (const [list, id] of [["users", a.ids.user], ["teams", a.ids.group], ["scim/tokens", a.ids.token], ["webhook_endpoints", a.ids.endpoint], ["webhook_deliveries", a.ids.delivery], ["reconcile_runs", a.ids.run], ["enterprise_connections", a.ids.connection]] as const) {
      const response = await admin(base(), "GET", `/v1/organizations/${b.orgId}/${list}`);
      expect(response.status, list).to.equal(200);
      expect(response.text, list).to.not.include(id);
    }
    const stolenConnection = await admin(base(), "POST", `/v1/organizations/${b.orgId}/scim/tokens`, { name: "x", enterprise_connection_id: a.ids.connection });
    expect(stolenConnection.status, stolenConnection.text).to.be.oneOf([400, 404]);
    expect(await snapshot(a.orgId)).to.deep.equal(before);
  });
});
