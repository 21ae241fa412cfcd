import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { reconcileOrganization } from "../../reconciler/job.ts";

const base = () => shared.service.url!;
const sequelize = () => shared.service.deps.db.sequelize;
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ROLE_FROM_TEAMS = { "groups[0].value": '{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}.organization_role' };

type EventRow = { type: string; subject_id: string; payload: { data: Record<string, unknown> } };
type AuditRow = { actor_type: string; actor_id: string; action: string; subject_id: string; changes: Record<string, unknown> };

const reconcile = (orgId: string, body: Record<string, unknown> = {}) => admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, body);
const sql = (query: string, bind: unknown[]) => sequelize().query(query, { bind });
const rows = <T extends object>(query: string, bind: unknown[]) => sequelize().query<T>(query, { bind, type: QueryTypes.SELECT });
const eventsOf = (orgId: string) => rows<EventRow>(`SELECT type, subject_id, payload FROM events WHERE organization_id = $1 ORDER BY seq`, [orgId]);
const auditOf = (orgId: string) => rows<AuditRow>(`SELECT actor_type, actor_id, action, subject_id, changes FROM audit_log WHERE organization_id = $1 AND actor_type = 'reconciler' ORDER BY created_at, id`, [orgId]);
const appUser = async (orgId: string, id: string) => (await admin(base(), "GET", `/v1/organizations/${orgId}/users/${id}`)).body;

/** Polls until `ok` holds (background work), failing after a few seconds. */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 8_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("reconciler repair", () => {
  it("leaves everything as it is in report mode and records only the drift summary event", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody({ name: { givenName: "Ada", familyName: "L" } }));
    await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: { "name.givenName": "{{ value | upcase }}.first_name" } });
    const before = await eventsOf(orgId);
    const res = await reconcile(orgId);
    expect(res.status).to.equal(201);
    expect(res.body.summary).to.include({ repairable: 1, repaired: 0 });
    expect((await appUser(orgId, user.body.id)).first_name).to.equal("Ada");
    const added = (await eventsOf(orgId)).slice(before.length);
    expect(added.map((e) => e.type)).to.deep.equal(["reconciler.drift_detected"]);
    expect(added[0]!.subject_id).to.equal(res.body.id);
    expect(added[0]!.payload.data.reconcile_run).to.deep.include({ id: res.body.id, status: "succeeded", repair: false });
    expect(added[0]!.payload.data).to.have.nested.property("reconcile_run.summary.counts.mapping_drift", 1);
  });

  it("rewrites drifted users with scimUser.updated and an audit row each, and a second run right after finds nothing", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const a = await scim(base(), token, "POST", "/Users", scimUserBody({ name: { givenName: "Ada", familyName: "L" } }));
    const b = await scim(base(), token, "POST", "/Users", scimUserBody({ name: { givenName: "Grace", familyName: "H" } }));
    await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: { "name.givenName": "{{ value | upcase }}.first_name" } });
    const before = await eventsOf(orgId);

    const res = await reconcile(orgId, { repair: true });
    expect(res.status).to.equal(201);
    expect(res.body).to.include({ status: "succeeded", repair: true });
    expect(res.body.summary).to.include({ repairable: 2, repaired: 2, repair_failed: 0 });
    expect(res.body.findings.map((f: { repair: unknown }) => f.repair)).to.deep.equal([{ outcome: "repaired" }, { outcome: "repaired" }]);
    expect(await appUser(orgId, a.body.id)).to.include({ first_name: "ADA" });
    expect(await appUser(orgId, b.body.id)).to.deep.include({ first_name: "GRACE", mapping: { version: 1, errors: [] } });

    const updates = (await eventsOf(orgId)).slice(before.length).filter((e) => e.type === "scimUser.updated");
    expect(updates.map((e) => e.subject_id)).to.have.members([a.body.id, b.body.id]);
    expect(updates[0]!.payload.data).to.include({ reconcile_run_id: res.body.id });
    expect(updates[0]!.payload.data.user).to.include({ object: "user" });
    const audit = await auditOf(orgId);
    expect(audit.map((r) => [r.action, r.actor_id])).to.deep.equal([["user.remapped", res.body.id], ["user.remapped", res.body.id]]);

    const eventsAfterRepair = (await eventsOf(orgId)).length;
    const again = await reconcile(orgId, { repair: true });
    expect(again.body.summary).to.include({ total: 0, repairable: 0, repaired: 0 });
    expect((await eventsOf(orgId)).length).to.equal(eventsAfterRepair);
  });

  it("removes a member the last full list left out as scimGroup.updated members_removed, re-mapping the user's role", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: ROLE_FROM_TEAMS });
    const a = await scim(base(), token, "POST", "/Users", scimUserBody());
    const b = await scim(base(), token, "POST", "/Users", scimUserBody());
    const group = await scim(base(), token, "POST", "/Groups", { displayName: "Admins", members: [{ value: a.body.id }, { value: b.body.id }] });
    expect((await appUser(orgId, b.body.id)).organization_role).to.equal("org:admin");
    // SQL, as SCIM cannot leave it behind: b was not in the IdP's last full member list.
    await sql(`UPDATE team_memberships SET confirmed_at = confirmed_at - interval '1 hour' WHERE team_id = $1 AND user_id = $2`, [group.body.id, b.body.id]);
    const versionBefore = (await scim(base(), token, "GET", `/Groups/${group.body.id}`)).body.meta.version;
    const before = await eventsOf(orgId);

    const res = await reconcile(orgId, { repair: true });
    expect(res.body.summary).to.include({ repaired: 1, repair_failed: 0 });
    const read = await scim(base(), token, "GET", `/Groups/${group.body.id}`);
    expect(read.body.members.map((m: { value: string }) => m.value)).to.deep.equal([a.body.id]);
    expect(read.body.meta.version).to.not.equal(versionBefore);
    expect(await appUser(orgId, b.body.id)).to.deep.include({ organization_role: "org:member", teams: [] });

    const added = (await eventsOf(orgId)).slice(before.length);
    const groupEvent = added.find((e) => e.type === "scimGroup.updated")!;
    expect(groupEvent.subject_id).to.equal(group.body.id);
    expect(groupEvent.payload.data).to.deep.include({ members_added: [], members_removed: [b.body.id], members_suspended: [], reconcile_run_id: res.body.id });
    expect(added.filter((e) => e.type === "scimUser.updated").map((e) => e.subject_id)).to.deep.equal([b.body.id]);
    const audit = await auditOf(orgId);
    expect(audit.find((r) => r.action === "team.members_reconciled")!.changes).to.deep.equal({ removed: [b.body.id], suspended: [], reasons: { [b.body.id]: "not_in_last_member_list" } });

    expect((await reconcile(orgId, { repair: true })).body.summary).to.include({ total: 0 });
  });

  it("suspends the active memberships of a deactivated user, announced with members_suspended", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody());
    const group = await scim(base(), token, "POST", "/Groups", { displayName: "Engineering", members: [{ value: user.body.id }] });
    await scim(base(), token, "PATCH", `/Users/${user.body.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "active", value: false }] });
    await sql(`UPDATE team_memberships SET status = 'active' WHERE user_id = $1`, [user.body.id]); // a missed suspension
    const before = await eventsOf(orgId);
    const res = await reconcile(orgId, { repair: true });
    expect(res.body.summary).to.include({ repaired: 1 });
    const [membership] = await rows<{ status: string }>(`SELECT status FROM team_memberships WHERE team_id = $1 AND user_id = $2`, [group.body.id, user.body.id]);
    expect(membership!.status).to.equal("suspended");
    const event = (await eventsOf(orgId)).slice(before.length).find((e) => e.type === "scimGroup.updated")!;
    expect(event.payload.data).to.deep.include({ members_removed: [], members_suspended: [user.body.id] });
    expect((await reconcile(orgId, { repair: true })).body.summary).to.include({ total: 0 });
  });

  it("deletes the OneLogin membership of a renamed role that the user's stored groups attribute no longer names", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "onelogin" });
    const sales = await scim(base(), token, "POST", "/Groups", { displayName: "Sales" });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody({ groups: [{ value: "Sales" }] }));
    await scim(base(), token, "PATCH", `/Groups/${sales.body.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: "Revenue" }] });
    const res = await reconcile(orgId, { repair: true });
    expect(res.body.summary).to.include({ repaired: 1 });
    expect((await appUser(orgId, user.body.id)).teams).to.deep.equal([]);
    expect((await reconcile(orgId, { repair: true })).body.summary).to.include({ total: 0 });
  });

  it("deletes expired pending memberships with a scimGroup.updated listing them", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const group = await scim(base(), token, "POST", "/Groups", { displayName: "Engineering", members: [{ value: "never-arrives" }] });
    const [pending] = await rows<{ expires_at: Date }>(`SELECT expires_at FROM pending_memberships WHERE team_id = $1`, [group.body.id]);
    const { logger, metrics } = shared.service.deps;
    const clock = { now: () => new Date(pending!.expires_at.getTime() + 1_000) };
    const deps = { sequelize: sequelize(), logger, metrics, clock };
    const result = await reconcileOrganization(deps, { organizationId: orgId, repair: true, trigger: "api" });
    expect(result.run.summary).to.include({ repaired: 1 });
    expect(await rows(`SELECT id FROM pending_memberships WHERE team_id = $1`, [group.body.id])).to.deep.equal([]);
    const event = (await eventsOf(orgId)).filter((e) => e.type === "scimGroup.updated").at(-1)!;
    expect(event.payload.data).to.deep.include({ members_pending_expired: ["never-arrives"], members_removed: [] });
    const again = await reconcileOrganization(deps, { organizationId: orgId, repair: true, trigger: "api" });
    expect(again.run.summary).to.include({ total: 0 });
  });

  it("reports broken invariants and a still-failing template without repairing them", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: { displayName: "organization_role" } });
    const a = await scim(base(), token, "POST", "/Users", scimUserBody({ displayName: "Not A Role", emails: [{ value: "same@example.com", primary: true }] }));
    await scim(base(), token, "POST", "/Users", scimUserBody({ emails: [{ value: "same@example.com", primary: true }] }));
    const res = await reconcile(orgId, { repair: true });
    expect(res.body.summary).to.include({ repairable: 0, repaired: 0 });
    expect(res.body.findings.map((f: { reason: string }) => f.reason)).to.have.members(["mapping_errors", "duplicate_active_email"]);
    expect(res.body.findings.find((f: { reason: string }) => f.reason === "mapping_errors").subject.id).to.equal(a.body.id);
    expect(await auditOf(orgId)).to.deep.equal([]);
  });

  it("re-maps existing users in the background after a mapping update with ?apply=true", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody({ title: "CTO" }));
    const put = await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings?apply=true`, { mapping: { title: "public_metadata.title" } });
    expect(put.status).to.equal(200);
    expect(put.body).to.deep.include({ version: 1, apply: { status: "scheduled", repair: true, kinds: ["mapping_drift"], trigger: "mapping_apply" } });
    const runs = await until(
      async () => (await admin(base(), "GET", `/v1/organizations/${orgId}/reconcile_runs`)).body.data as { trigger: string; status: string; summary: Record<string, unknown> }[],
      (data) => data.some((r) => r.trigger === "mapping_apply" && r.status !== "running"),
    );
    const run = runs.find((r) => r.trigger === "mapping_apply")!;
    expect(run).to.deep.include({ status: "succeeded" });
    expect(run.summary).to.deep.include({ kinds: ["mapping_drift"], repaired: 1 });
    expect(await appUser(orgId, user.body.id)).to.deep.include({ public_metadata: { title: "CTO" }, mapping: { version: 1, errors: [] } });
  });

  it("refuses an apply flag that is not true or false", async () => {
    const { orgId } = await createOrgWithToken(base());
    const res = await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings?apply=yes`, { mapping: {} });
    expect(res.status).to.equal(400);
    expect(res.body.errors[0].message).to.match(/apply/);
  });
});
