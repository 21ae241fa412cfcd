import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { FINDINGS_PER_KIND_CAP } from "../../reconciler/findingLog.ts";

const base = () => shared.service.url!;
const sequelize = () => shared.service.deps.db.sequelize;
const runs = (orgId: string, query = "") => admin(base(), "GET", `/v1/organizations/${orgId}/reconcile_runs${query}`);

describe("reconciler admin API", () => {
  it("lists an organization's runs newest first, without findings, with keyset pagination", async () => {
    const { orgId } = await createOrgWithToken(base());
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, {})).body.id);
    const page1 = await runs(orgId, "?limit=2");
    expect(page1.status).to.equal(200);
    expect(page1.body).to.include({ object: "list", has_more: true, next_cursor: ids[1] });
    expect(page1.body.data.map((r: { id: string }) => r.id)).to.deep.equal([ids[2], ids[1]]);
    expect(page1.body.data[0]).to.not.have.property("findings");
    expect(page1.body.data[0]).to.include({ object: "reconcile_run", status: "succeeded", trigger: "api" });
    expect(page1.body.data[0].started_at).to.be.a("number");
    const page2 = await runs(orgId, `?limit=2&after=${page1.body.next_cursor}`);
    expect(page2.body).to.include({ has_more: false, next_cursor: null });
    expect(page2.body.data.map((r: { id: string }) => r.id)).to.deep.equal([ids[0]]);
  });

  it("reads one run with its findings, and answers 404 for a run of another organization", async () => {
    const { orgId, token } = await createOrgWithToken(base());
    const other = await createOrgWithToken(base());
    await scim(base(), token, "POST", "/Users", scimUserBody({ emails: [{ value: "twin@example.com", primary: true }] }));
    await scim(base(), token, "POST", "/Users", scimUserBody({ emails: [{ value: "twin@example.com", primary: true }] }));
    const created = await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, {});
    const read = await admin(base(), "GET", `/v1/organizations/${orgId}/reconcile_runs/${created.body.id}`);
    expect(read.status).to.equal(200);
    expect(read.body).to.deep.equal(created.body);
    expect(read.body.findings).to.have.length(1);
    const foreign = await admin(base(), "GET", `/v1/organizations/${other.orgId}/reconcile_runs/${created.body.id}`);
    expect(foreign.status).to.equal(404);
    expect(foreign.body.errors[0].code).to.equal("not_found");
  });

  it("validates the body, naming the offending field", async () => {
    const { orgId } = await createOrgWithToken(base());
    for (const body of [{ repair: "yes" }, { stale_team_days: 0 }, { kinds: ["nonsense"] }, { extra: 1 }]) {
      const res = await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(res.body.errors[0].code).to.equal("validation_failed");
    }
    const res = await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, { stale_team_days: 0 });
    expect(res.body.errors[0].message).to.match(/^stale_team_days/);
  });

  it("checks only the kinds asked for", async () => {
    const { orgId, token } = await createOrgWithToken(base());
    await scim(base(), token, "POST", "/Users", scimUserBody({ emails: [{ value: "pair@example.com", primary: true }] }));
    await scim(base(), token, "POST", "/Users", scimUserBody({ emails: [{ value: "pair@example.com", primary: true }] }));
    const res = await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, { kinds: ["stale_team"] });
    expect(res.status).to.equal(201);
    expect(res.body.summary).to.deep.include({ kinds: ["stale_team"], total: 0 });
  });

  it("stores at most a capped number of findings per kind while the summary keeps the true counts", async function () {
    this.timeout(30_000);
    const { orgId, token } = await createOrgWithToken(base());
    const seedUser = await scim(base(), token, "POST", "/Users", scimUserBody());
    const n = FINDINGS_PER_KIND_CAP + 25;
    // Bulk copies of a real user with a stale first_name: far quicker than this many SCIM requests.
    await sequelize().query(
      `INSERT INTO users (id, organization_id, enterprise_connection_id, external_id, user_name, app_external_id, email_address,
         first_name, last_name, active, organization_role, scim_resource, mapping_version)
       SELECT u.id || '_' || i, u.organization_id, u.enterprise_connection_id, u.external_id || '-' || i, i || u.user_name,
              u.app_external_id || '-' || i, i || u.email_address, 'Stale', u.last_name, true, u.organization_role,
              u.scim_resource || jsonb_build_object('userName', i || u.user_name, 'externalId', u.external_id || '-' || i,
                'emails', jsonb_build_array(jsonb_build_object('value', i || u.email_address, 'primary', true))),
              u.mapping_version
         FROM users u, generate_series(1, $2) i WHERE u.id = $1`,
      { bind: [seedUser.body.id, n] },
    );
    const res = await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, {});
    expect(res.body.summary.counts.mapping_drift).to.equal(n);
    expect(res.body.summary).to.include({ findings_stored: FINDINGS_PER_KIND_CAP, findings_truncated: true, users_scanned: n + 1 });
    expect(res.body.findings).to.have.length(FINDINGS_PER_KIND_CAP);
  });

  it("exports run outcomes, the drift per kind and the last success time as metrics", async () => {
    const { orgId, token } = await createOrgWithToken(base());
    await scim(base(), token, "POST", "/Users", scimUserBody({ emails: [{ value: "metric@example.com", primary: true }] }));
    await scim(base(), token, "POST", "/Users", scimUserBody({ emails: [{ value: "metric@example.com", primary: true }] }));
    expect((await admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, {})).status).to.equal(201);
    const metrics = await request(base(), "GET", "/metrics");
    expect(metrics.text).to.match(/rollcall_reconciler_runs_total\{outcome="succeeded"\} [1-9]/);
    expect(metrics.text).to.match(/rollcall_reconciler_drift_items\{kind="broken_invariant"\} [1-9]/);
    const last = /^rollcall_reconciler_last_success_timestamp_seconds (\S+)$/m.exec(metrics.text);
    expect(Number(last?.[1])).to.be.closeTo(Date.now() / 1000, 60);
  });
});
