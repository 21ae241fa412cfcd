import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { reconcileOrganization } from "../../reconciler/job.ts";

/*
 * Each finding kind, produced by a real SCIM sequence over HTTP where SCIM can produce it. Where
 * Rollcall's own writers never leave the state behind (they suspend, remove and re-confirm in the
 * same transaction), the test says so and writes the missed step's aftermath with SQL.
 */

const base = () => shared.service.url!;
const sequelize = () => shared.service.deps.db.sequelize;
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const DAY = 86_400_000;

type FindingJson = { kind: string; reason: string; subject: Record<string, string>; stored: Record<string, unknown>; expected: Record<string, unknown>; action: string | null };

const reconcile = (orgId: string, body: Record<string, unknown> = {}) => admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, body);
const findingsOf = (run: { findings: FindingJson[] }, kind: string) => run.findings.filter((f) => f.kind === kind);
const sql = (query: string, bind: unknown[]) => sequelize().query(query, { bind });
const rows = <T extends object>(query: string, bind: unknown[]) => sequelize().query<T>(query, { bind, type: QueryTypes.SELECT });

/** Runs the job directly with a clock set in the future (the shared service uses the system clock). */
function reconcileAt(orgId: string, now: Date, staleTeamDays?: number) {
  const { logger, metrics } = shared.service.deps;
  return reconcileOrganization({ sequelize: sequelize(), logger, metrics, clock: { now: () => now } }, { organizationId: orgId, repair: false, trigger: "api", staleTeamDays });
}

describe("reconciler findings, from SCIM sequences", () => {
  it("reports mapping drift for users provisioned before a mapping change, with what is stored and what should be", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody({ name: { givenName: "Ada", familyName: "Lovelace" } }));
    expect(user.status).to.equal(201);
    const mapping = await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: { "name.givenName": "{{ value | upcase }}.first_name" } });
    expect(mapping.body.version).to.equal(1);

    const res = await reconcile(orgId);
    expect(res.status).to.equal(201);
    expect(res.contentType).to.equal("application/json");
    expect(res.body).to.include({ object: "reconcile_run", organization_id: orgId, status: "succeeded", repair: false, trigger: "api" });
    expect(res.body.summary.counts).to.include({ mapping_drift: 1, stale_membership: 0 });
    const [drift] = findingsOf(res.body, "mapping_drift");
    expect(drift).to.deep.include({ reason: "fields_differ", action: "rewrite_mapped_fields", subject: { type: "user", id: user.body.id } });
    expect(drift!.stored).to.deep.equal({ first_name: "Ada", mapping_version: null });
    expect(drift!.expected).to.deep.equal({ first_name: "ADA", mapping_version: 1 });
    // Report mode changes nothing.
    const read = await admin(base(), "GET", `/v1/organizations/${orgId}/users/${user.body.id}`);
    expect(read.body.first_name).to.equal("Ada");
  });

  it("agrees with the writer when a OneLogin user's groups attribute drops a team: the update removed it, nothing is stale", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "onelogin" });
    await scim(base(), token, "POST", "/Groups", { displayName: "Engineering" });
    await scim(base(), token, "POST", "/Groups", { displayName: "Sales" });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody({ groups: [{ value: "Engineering" }, { value: "Sales" }] }));
    expect(user.body.groups).to.have.length(2);
    const dropped = await scim(base(), token, "PATCH", `/Users/${user.body.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "groups", value: [{ value: "Engineering" }] }] });
    expect(dropped.status).to.equal(200);
    const res = await reconcile(orgId);
    expect(res.body.summary.total).to.equal(0);
  });

  it("reports a OneLogin groups-attribute membership whose team its stored attribute no longer names (role renamed)", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "onelogin" });
    const sales = await scim(base(), token, "POST", "/Groups", { displayName: "Sales" });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody({ groups: [{ value: "Sales" }] }));
    expect(user.body.groups.map((g: { value: string }) => g.value)).to.deep.equal([sales.body.id]);
    // The role is renamed; the user's stored attribute still says "Sales", which names no team now.
    const renamed = await scim(base(), token, "PATCH", `/Groups/${sales.body.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: "Revenue" }] });
    expect(renamed.status).to.be.oneOf([200, 204]);

    const res = await reconcile(orgId);
    const [stale] = findingsOf(res.body, "stale_membership");
    expect(stale).to.deep.include({ reason: "dropped_from_groups_attribute", action: "delete_membership", subject: { type: "membership", team_id: sales.body.id, user_id: user.body.id } });
    expect(stale!.stored).to.include({ status: "active", source: "user_groups", team_name: "Revenue" });
  });

  it("agrees with the writer when an Okta group is re-pushed (PUT) without a member: the PUT removed it", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const a = await scim(base(), token, "POST", "/Users", scimUserBody());
    const b = await scim(base(), token, "POST", "/Users", scimUserBody());
    const group = await scim(base(), token, "POST", "/Groups", { displayName: "Engineering", members: [{ value: a.body.id }, { value: b.body.id }] });
    await scim(base(), token, "PUT", `/Groups/${group.body.id}`, { displayName: "Engineering", members: [{ value: a.body.id }] });
    const res = await reconcile(orgId);
    expect(res.body.summary.counts.stale_membership).to.equal(0);
  });

  it("reports a member confirmed before the Okta group's last full member list (written with SQL: a PUT removes omitted members itself)", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const a = await scim(base(), token, "POST", "/Users", scimUserBody());
    const b = await scim(base(), token, "POST", "/Users", scimUserBody());
    const group = await scim(base(), token, "POST", "/Groups", { displayName: "Engineering", members: [{ value: a.body.id }] });
    await scim(base(), token, "PUT", `/Groups/${group.body.id}`, { displayName: "Engineering", members: [{ value: a.body.id }, { value: b.body.id }] });
    // What a member the IdP's last full list did not include looks like: confirmed before members_synced_at.
    await sql(`UPDATE team_memberships SET confirmed_at = confirmed_at - interval '1 hour' WHERE team_id = $1 AND user_id = $2`, [group.body.id, b.body.id]);

    const res = await reconcile(orgId);
    const stale = findingsOf(res.body, "stale_membership");
    expect(stale.map((f) => [f.subject.user_id, f.reason, f.action])).to.deep.equal([[b.body.id, "not_in_last_member_list", "delete_membership"]]);
  });

  it("reports the still-active memberships of a deactivated user (written with SQL: deactivation suspends them itself)", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody());
    const group = await scim(base(), token, "POST", "/Groups", { displayName: "Engineering", members: [{ value: user.body.id }] });
    await scim(base(), token, "PATCH", `/Users/${user.body.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "active", value: false }] });
    const [suspended] = await rows<{ status: string }>(`SELECT status FROM team_memberships WHERE user_id = $1`, [user.body.id]);
    expect(suspended!.status).to.equal("suspended");
    await sql(`UPDATE team_memberships SET status = 'active' WHERE user_id = $1`, [user.body.id]);

    const res = await reconcile(orgId);
    const [stale] = findingsOf(res.body, "stale_membership");
    expect(stale).to.deep.include({ reason: "user_deactivated", action: "suspend_membership", subject: { type: "membership", team_id: group.body.id, user_id: user.body.id } });
    expect(stale!.expected).to.deep.equal({ status: "suspended" });
  });

  it("reports a pending membership once its TTL has passed, and not before", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const group = await scim(base(), token, "POST", "/Groups", { displayName: "Engineering", members: [{ value: "not-yet-provisioned" }] });
    expect(group.status).to.equal(201);
    const [pending] = await rows<{ expires_at: Date }>(`SELECT expires_at FROM pending_memberships WHERE team_id = $1`, [group.body.id]);

    const early = await reconcileAt(orgId, new Date(pending!.expires_at.getTime() - 60_000));
    expect(early.run.summary).to.have.nested.property("counts.expired_pending_membership", 0);
    const late = await reconcileAt(orgId, new Date(pending!.expires_at.getTime() + 60_000));
    const [expired] = late.run.findings.filter((f) => f.kind === "expired_pending_membership");
    expect(expired).to.deep.include({ reason: "expired", action: "delete_pending_membership" });
    expect(expired!.subject).to.include({ type: "pending_membership", team_id: group.body.id, member_value: "not-yet-provisioned" });
  });

  it("reports a team the IdP has not touched for the configured days and that has no active member", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "onelogin" });
    const empty = await scim(base(), token, "POST", "/Groups", { displayName: "Deleted Role" });
    const user = await scim(base(), token, "POST", "/Users", scimUserBody());
    await scim(base(), token, "POST", "/Groups", { displayName: "Busy Role", members: [{ value: user.body.id }] });

    const soon = await reconcileAt(orgId, new Date(Date.now() + 29 * DAY));
    expect(soon.run.summary).to.have.nested.property("counts.stale_team", 0);
    const later = await reconcileAt(orgId, new Date(Date.now() + 31 * DAY));
    expect(later.run.findings.filter((f) => f.kind === "stale_team").map((f) => [f.subject, f.action])).to.deep.equal([[{ type: "team", id: empty.body.id }, null]]);
    const configured = await reconcileAt(orgId, new Date(Date.now() + 8 * DAY), 7);
    expect(configured.run.summary).to.have.nested.property("counts.stale_team", 1);
  });

  it("reports two active users sharing an email as a broken invariant", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const a = await scim(base(), token, "POST", "/Users", scimUserBody({ emails: [{ value: "Shared@Example.com", primary: true }] }));
    const b = await scim(base(), token, "POST", "/Users", scimUserBody({ emails: [{ value: "shared@example.com", primary: true }] }));
    const res = await reconcile(orgId);
    const [dup] = findingsOf(res.body, "broken_invariant");
    expect(dup).to.deep.include({ reason: "duplicate_active_email", action: null, subject: { type: "email", email: "shared@example.com" } });
    expect(dup!.stored.user_ids).to.have.members([a.body.id, b.body.id]);
  });

  it("reports a deleted user still active and an active user without email (written with SQL: the writers refuse both)", async () => {
    const { orgId, token } = await createOrgWithToken(base(), { provider: "okta" });
    const gone = await scim(base(), token, "POST", "/Users", scimUserBody());
    const blank = await scim(base(), token, "POST", "/Users", scimUserBody());
    expect((await scim(base(), token, "DELETE", `/Users/${gone.body.id}`)).status).to.equal(204);
    await sql(`UPDATE users SET active = true WHERE id = $1`, [gone.body.id]);
    await sql(`UPDATE users SET email_address = NULL WHERE id = $1`, [blank.body.id]);
    const res = await reconcile(orgId);
    const reasons = findingsOf(res.body, "broken_invariant").map((f) => [f.reason, f.subject.id]);
    expect(reasons).to.deep.include.members([["deleted_user_active", gone.body.id], ["active_user_without_email", blank.body.id]]);
  });
});
