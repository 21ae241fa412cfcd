import { expect } from "chai";
import pg from "pg";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique, type OrgWithToken } from "../helpers/factories.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhookReceiver.ts";

const base = () => shared.service.url!;
const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** Enterprise attributes into jsonb, and a displayName that is no valid role (so the event carries a mapping error). */
const MAPPING = {
  [`${ENTERPRISE}.department`]: "public_metadata.department",
  [`${ENTERPRISE}:employeeNumber`]: "public_metadata.employee_number",
  title: "public_metadata.title",
  displayName: "organization_role",
};

type EventRow = { id: string; type: string; subject_id: string; payload: { type: string; data: { user: Record<string, unknown> } & Record<string, unknown> } };
type AuditRow = { action: string; actor_type: string; actor_id: string; subject_type: string; subject_id: string; changes: Record<string, unknown> };

function rows<T extends object>(sql: string, bind: unknown[]): Promise<T[]> {
  return shared.service.deps.db.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
}

const eventsOf = (orgId: string) => rows<EventRow>(`SELECT id, type, subject_id, payload FROM events WHERE organization_id = $1 ORDER BY seq`, [orgId]);
const auditOf = (orgId: string) =>
  rows<AuditRow>(`SELECT action, actor_type, actor_id, subject_type, subject_id, changes FROM audit_log WHERE organization_id = $1 AND subject_type = 'user' ORDER BY created_at, id`, [orgId]);

/** Row counts of everything a user create writes, for one organization. */
async function footprint(orgId: string): Promise<Record<string, number>> {
  const [counts] = await rows<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM users WHERE organization_id = $1) AS users,
            (SELECT count(*)::int FROM events WHERE organization_id = $1) AS events,
            (SELECT count(*)::int FROM webhook_deliveries WHERE organization_id = $1) AS deliveries,
            (SELECT count(*)::int FROM audit_log WHERE organization_id = $1 AND subject_type = 'user') AS audit`,
    [orgId],
  );
  return counts!;
}

type Statement = { text: string; inTransaction: boolean };

/**
 * Records every statement this process sends to PostgreSQL while `work` runs, with whether its
 * connection had a transaction open: how a create was executed, seen from the wire.
 */
async function recordStatements<T>(work: () => Promise<T>): Promise<{ result: T; statements: Statement[] }> {
  const prototype = pg.Client.prototype as unknown as { query(this: object, ...args: unknown[]): unknown };
  const original = prototype.query;
  const open = new WeakMap<object, boolean>();
  const statements: Statement[] = [];
  prototype.query = function (this: object, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === "string" ? first : ((first as { text?: unknown } | null)?.text as string | undefined) ?? "";
    if (/^\s*(START TRANSACTION|BEGIN)\b/i.test(text)) open.set(this, true);
    statements.push({ text, inTransaction: open.get(this) ?? false });
    if (/^\s*(COMMIT|ROLLBACK)\b/i.test(text)) open.set(this, false);
    return original.apply(this, args);
  };
  try {
    return { result: await work(), statements };
  } finally {
    prototype.query = original;
  }
}

const userInserts = (statements: Statement[]) => statements.filter((s) => /INSERT INTO users\b/.test(s.text));

async function putMapping(orgId: string): Promise<void> {
  const res = await admin(base(), "PUT", `/v1/organizations/${orgId}/scim/attribute-mappings`, { mapping: MAPPING });
  expect(res.status, res.text).to.equal(200);
}

/** The user as every path presents it, minus what differs between two creates of the same input (ids, tenant, times). */
function comparable(user: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, organization_id: _org, enterprise_connection_id: _conn, created_at: _created, updated_at: _updated, ...rest } = user;
  return rest;
}

function bodyFor(suffix: string): Record<string, unknown> {
  return scimUserBody({
    userName: `Ada.${suffix}@Example.com`,
    externalId: `ext-${suffix}`,
    displayName: "Not A Role",
    title: "CTO",
    name: { givenName: "Ada", familyName: "Lovelace", middleName: "King" },
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    [ENTERPRISE]: { department: "Engines", employeeNumber: "E-1815" },
  });
}

describe("POST /Users as one autocommitted statement (createInOneStatement)", () => {
  let receiver: WebhookReceiver;

  before(async () => {
    receiver = await startWebhookReceiver();
  });

  after(async () => {
    await receiver?.close();
  });

  const endpoint = async (orgId: string, events: string[]): Promise<string> => {
    const res = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: receiver.url, events });
    expect(res.status, res.text).to.equal(201);
    return res.body.id;
  };

  it("writes the user, its scimUser.provisioned event, a delivery per subscribed live endpoint and the audit row in one statement outside any transaction", async () => {
    const org = await createOrgWithToken(base());
    const all = await endpoint(org.orgId, []);
    const provisioned = await endpoint(org.orgId, ["scimUser.provisioned", "scimUser.updated"]);
    await endpoint(org.orgId, ["scimGroup.created", "scimUser.deprovisioned"]);
    const disabled = await endpoint(org.orgId, []);
    await shared.service.deps.db.sequelize.query(`UPDATE webhook_endpoints SET enabled = false WHERE id = $1`, { bind: [disabled] });
    const deleted = await endpoint(org.orgId, []);
    expect((await admin(base(), "DELETE", `/v1/organizations/${org.orgId}/webhook_endpoints/${deleted}`)).status).to.be.within(200, 204);

    const { result: res, statements } = await recordStatements(() => scim(base(), org.token, "POST", "/Users", scimUserBody()));
    expect(res.status, res.text).to.equal(201);

    const inserts = userInserts(statements);
    expect(inserts, "one statement inserted the user").to.have.length(1);
    expect(inserts[0]!.inTransaction, "autocommitted").to.equal(false);
    for (const table of ["events", "webhook_deliveries", "audit_log"]) expect(inserts[0]!.text).to.match(new RegExp(`INSERT INTO ${table}\\b`));
    expect(statements.filter((s) => /INSERT INTO (events|audit_log)\b/.test(s.text)), "no separate event or audit statement").to.deep.equal(
      inserts,
    );

    expect(await footprint(org.orgId)).to.deep.equal({ users: 1, events: 1, deliveries: 2, audit: 1 });
    const [event] = await eventsOf(org.orgId);
    expect(event).to.deep.include({ type: "scimUser.provisioned", subject_id: res.body.id });
    const deliveries = await rows<{ endpoint_id: string; event_id: string; status: string; subject_id: string }>(
      `SELECT endpoint_id, event_id, status, subject_id FROM webhook_deliveries WHERE organization_id = $1`,
      [org.orgId],
    );
    expect(deliveries.map((d) => d.endpoint_id)).to.have.members([all, provisioned]);
    for (const d of deliveries) expect(d).to.deep.include({ event_id: event!.id, status: "pending", subject_id: res.body.id });
    expect(await auditOf(org.orgId)).to.deep.equal([{
      action: "user.created",
      actor_type: "scim_token",
      actor_id: org.tokenId,
      subject_type: "user",
      subject_id: res.body.id,
      changes: { user_name: res.body.userName, active: true, version: 1 },
    }]);
  });

  it("puts in the event the same user the transactional path produces for the same input", async () => {
    const [fast, slow] = await Promise.all([createOrgWithToken(base()), createOrgWithToken(base())]);
    await Promise.all([putMapping(fast.orgId), putMapping(slow.orgId)]);
    const body = bodyFor(unique());

    const one = await recordStatements(() => scim(base(), fast.token, "POST", "/Users", body));
    // A `groups` attribute naming no team sends the create down the transactional path and changes nothing else.
    const other = await recordStatements(() => scim(base(), slow.token, "POST", "/Users", { ...body, groups: [{ value: `no-such-team-${unique()}` }] }));
    expect([one.result.status, other.result.status]).to.deep.equal([201, 201]);
    expect(userInserts(one.statements).map((s) => s.inTransaction)).to.deep.equal([false]);
    expect(userInserts(other.statements).map((s) => s.inTransaction), "the comparison user took the transactional path").to.deep.equal([true]);

    const [[fastEvent], [slowEvent]] = await Promise.all([eventsOf(fast.orgId), eventsOf(slow.orgId)]);
    const fastUser = fastEvent!.payload.data.user;
    const slowUser = slowEvent!.payload.data.user;
    expect(fastUser.mapping, "the input exercises jsonb columns and mapping errors").to.deep.include({ version: 1 });
    expect((fastUser.mapping as { errors: unknown[] }).errors).to.have.length(1);
    expect(fastUser.public_metadata).to.deep.equal({ department: "Engines", employee_number: "E-1815", title: "CTO" });
    expect(comparable(fastUser)).to.deep.equal(comparable(slowUser));
    expect(fastEvent!.payload.type).to.equal(slowEvent!.payload.type);
    expect(Object.keys(fastEvent!.payload.data).sort()).to.deep.equal(Object.keys(slowEvent!.payload.data).sort());
    expect(fastEvent!.payload.data).to.deep.include({ organization_id: fast.orgId, enterprise_connection_id: fast.connectionId });
    expect(fastUser).to.deep.include({
      id: one.result.body.id,
      organization_id: fast.orgId,
      enterprise_connection_id: fast.connectionId,
      created_at: Date.parse(one.result.body.meta.created),
      updated_at: Date.parse(one.result.body.meta.lastModified),
    });

    // The event was built in JavaScript before the row existed: it must match the row as stored.
    const stored = await admin(base(), "GET", `/v1/organizations/${fast.orgId}/users/${one.result.body.id}`);
    const { private_metadata: _private, ...storedUser } = stored.body;
    expect(fastUser).to.deep.equal(storedUser);

    const [[fastAudit], [slowAudit]] = await Promise.all([auditOf(fast.orgId), auditOf(slow.orgId)]);
    expect(fastAudit!.changes).to.deep.equal(slowAudit!.changes);
    expect([fastAudit!.action, slowAudit!.action]).to.deep.equal(["user.created", "user.created"]);

    const columns = `external_id, user_name, app_external_id, email_address, first_name, last_name, active, organization_role,
      public_metadata, private_metadata, scim_resource - 'groups' AS scim_resource, mapping_version, mapping_errors, version, deleted_at`;
    const [[fastRow], [slowRow]] = await Promise.all([
      rows(`SELECT ${columns} FROM users WHERE organization_id = $1`, [fast.orgId]),
      rows(`SELECT ${columns} FROM users WHERE organization_id = $1`, [slow.orgId]),
    ]);
    expect(fastRow).to.deep.equal(slowRow);
  });

  it("answers 201 with version 1 and the body a later GET returns", async () => {
    const org = await createOrgWithToken(base());
    const created = await scim(base(), org.token, "POST", "/Users", bodyFor(unique()));
    expect(created.status).to.equal(201);
    expect(created.contentType).to.equal("application/scim+json");
    expect(created.headers.get("etag")).to.equal('W/"1"');
    expect(created.body.meta.version).to.equal('W/"1"');
    expect(created.headers.get("location")).to.equal(created.body.meta.location);
    const read = await scim(base(), org.token, "GET", `/Users/${created.body.id}`);
    expect(read.status).to.equal(200);
    expect(read.headers.get("etag")).to.equal('W/"1"');
    expect(read.body).to.deep.equal(created.body);
    expect(created.body).to.include({ userName: read.body.userName, active: true });
  });

  it("answers a retry with the same externalId with the same user and no second provisioned event", async () => {
    const org = await createOrgWithToken(base());
    const body = scimUserBody();
    const first = await scim(base(), org.token, "POST", "/Users", body);
    const retry = await scim(base(), org.token, "POST", "/Users", body);
    expect([first.status, retry.status]).to.deep.equal([201, 201]);
    expect(retry.body.id).to.equal(first.body.id);
    expect((await footprint(org.orgId)).users).to.equal(1);
    expect((await eventsOf(org.orgId)).filter((e) => e.type === "scimUser.provisioned")).to.have.length(1);
    expect((await auditOf(org.orgId)).filter((a) => a.action === "user.created")).to.have.length(1);
  });

  // Regression: the stored jsonb comes back in PostgreSQL's key order (shorter keys first); an identical
  // retry compared by JSON text never looked identical and bumped the version with an update event.
  it("writes nothing for an identical retry: no new version, event or audit row", async () => {
    const org = await createOrgWithToken(base());
    const body = scimUserBody();
    const first = await scim(base(), org.token, "POST", "/Users", body);
    const before = await footprint(org.orgId);
    const retry = await scim(base(), org.token, "POST", "/Users", body);
    expect(retry.body.id).to.equal(first.body.id);
    expect(retry.headers.get("etag")).to.equal('W/"1"');
    expect(await footprint(org.orgId)).to.deep.equal(before);
  });

  it("refuses the userName of an active user under another externalId with 409 and writes nothing", async () => {
    const org = await createOrgWithToken(base());
    await endpoint(org.orgId, []);
    const body = scimUserBody();
    expect((await scim(base(), org.token, "POST", "/Users", body)).status).to.equal(201);
    const before = await footprint(org.orgId);
    const dup = await scim(base(), org.token, "POST", "/Users", { ...body, userName: String(body.userName).toUpperCase(), externalId: `other-${unique()}` });
    expect(dup.status).to.equal(409);
    expect(dup.contentType).to.equal("application/scim+json");
    expect(dup.body).to.include({ status: "409", scimType: "uniqueness" });
    expect(dup.body.schemas).to.deep.equal([ERROR_SCHEMA]);
    expect(dup.body.detail).to.include(String(body.userName).toUpperCase());
    expect(await footprint(org.orgId)).to.deep.equal(before);
  });

  it("reactivates an inactive user holding the userName (same id) with scimUser.provisioned", async () => {
    const org = await createOrgWithToken(base());
    const body = scimUserBody();
    const created = await scim(base(), org.token, "POST", "/Users", body);
    const off = await scim(base(), org.token, "PATCH", `/Users/${created.body.id}`, { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] });
    expect(off.body.active).to.equal(false);
    const again = await scim(base(), org.token, "POST", "/Users", { ...body, externalId: `new-${unique()}` });
    expect(again.status).to.equal(201);
    expect(again.body).to.include({ id: created.body.id, active: true });
    expect((await footprint(org.orgId)).users).to.equal(1);
    const events = await eventsOf(org.orgId);
    expect(events.map((e) => [e.type, e.subject_id, e.payload.data.user.active])).to.deep.equal([
      ["scimUser.provisioned", created.body.id, true],
      ["scimUser.deprovisioned", created.body.id, false],
      ["scimUser.provisioned", created.body.id, true],
    ]);
    expect((await auditOf(org.orgId)).map((a) => a.action)).to.deep.equal(["user.created", "user.deactivated", "user.reactivated"]);
  });

  it("claims a pending membership naming the new user's externalId", async () => {
    const org = await createOrgWithToken(base());
    const externalId = `pending-${unique()}`;
    const group = await scim(base(), org.token, "POST", "/Groups", { displayName: `Waiting ${unique()}` });
    const patched = await scim(base(), org.token, "PATCH", `/Groups/${group.body.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: [{ value: externalId }] }] });
    expect(patched.status).to.equal(204);
    const pending = () => rows(`SELECT member_value FROM pending_memberships WHERE team_id = $1`, [group.body.id]);
    expect(await pending()).to.deep.equal([{ member_value: externalId }]);

    const user = await scim(base(), org.token, "POST", "/Users", scimUserBody({ externalId }));
    expect(user.status).to.equal(201);
    expect(user.body.groups.map((g: { value: string }) => g.value)).to.deep.equal([group.body.id]);
    expect((await scim(base(), org.token, "GET", `/Groups/${group.body.id}`)).body.members.map((m: { value: string }) => m.value)).to.deep.equal([user.body.id]);
    expect(await pending()).to.deep.equal([]);
    const provisioned = (await eventsOf(org.orgId)).filter((e) => e.type === "scimUser.provisioned");
    expect(provisioned).to.have.length(1);
    expect(provisioned[0]!.payload.data.user.teams).to.deep.equal([{ id: group.body.id, name: group.body.displayName, status: "active" }]);
    expect((await footprint(org.orgId)).users).to.equal(1);
  });

  it("still sets memberships from a OneLogin-style groups attribute on create", async () => {
    const org = await createOrgWithToken(base(), { provider: "onelogin" });
    const role = `Role ${unique()}`;
    const group = await scim(base(), org.token, "POST", "/Groups", { displayName: role });
    const user = await scim(base(), org.token, "POST", "/Users", scimUserBody({ groups: [{ value: role, display: role }] }));
    expect(user.status, user.text).to.equal(201);
    expect(user.body.groups.map((g: { value: string }) => g.value)).to.deep.equal([group.body.id]);
    const members = await rows(`SELECT user_id, source FROM team_memberships WHERE team_id = $1`, [group.body.id]);
    expect(members).to.deep.equal([{ user_id: user.body.id, source: "user_groups" }]);
    const [event, ...more] = (await eventsOf(org.orgId)).filter((e) => e.type === "scimUser.provisioned");
    expect(more).to.deep.equal([]);
    expect(event!.payload.data.user.teams).to.deep.equal([{ id: group.body.id, name: role, status: "active" }]);
  });

  it("answers 400 for an escaped U+0000 in userName and leaves no row behind", async () => {
    const org = await createOrgWithToken(base());
    await endpoint(org.orgId, []);
    const userName = `nul\u0000${unique()}@example.com`;
    const { result: res, statements } = await recordStatements(() =>
      request(base(), "POST", "/scim/v2/Users", { token: org.token, rawBody: JSON.stringify(scimUserBody({ userName })) }));
    expect(userInserts(statements).map((s) => s.inTransaction), "PostgreSQL refused the one statement").to.deep.equal([false]);
    expect(res.status).to.equal(400);
    expect(res.contentType).to.equal("application/scim+json");
    expect(res.body).to.include({ status: "400", scimType: "invalidValue" });
    expect(await footprint(org.orgId)).to.deep.equal({ users: 0, events: 0, deliveries: 0, audit: 0 });
  });

  it("leaves no user, event or delivery when the statement fails at its last part (the audit row)", async () => {
    const org = await createOrgWithToken(base());
    await endpoint(org.orgId, []);
    const sequelize = shared.service.deps.db.sequelize;
    const fn = `refuse_audit_${unique()}`;
    // Only this test's organization is refused, so other tests on the database are unaffected.
    await sequelize.query(`
      CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.organization_id = '${org.orgId}' THEN RAISE EXCEPTION 'audit refused for this test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER ${fn} BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION ${fn}();`);
    const body = scimUserBody();
    let failed;
    try {
      failed = await scim(base(), org.token, "POST", "/Users", body);
    } finally {
      await sequelize.query(`DROP FUNCTION ${fn}() CASCADE`);
    }
    expect(failed.status).to.equal(500);
    expect(failed.body).to.include({ status: "500" });
    expect(await footprint(org.orgId)).to.deep.equal({ users: 0, events: 0, deliveries: 0, audit: 0 });

    const retried = await scim(base(), org.token, "POST", "/Users", body);
    expect(retried.status).to.equal(201);
    expect(await footprint(org.orgId)).to.deep.equal({ users: 1, events: 1, deliveries: 1, audit: 1 });
  });

  it("makes one user and one provisioned event from 20 concurrent creates of the same userName and externalId", async () => {
    const org: OrgWithToken = await createOrgWithToken(base());
    const body = scimUserBody();
    const results = await Promise.all(Array.from({ length: 20 }, () => scim(base(), org.token, "POST", "/Users", body)));
    expect(results.map((r) => r.status)).to.deep.equal(Array(20).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).to.equal(1);
    expect((await footprint(org.orgId)).users).to.equal(1);
    const provisioned = (await eventsOf(org.orgId)).filter((e) => e.type === "scimUser.provisioned");
    expect(provisioned.map((e) => e.subject_id)).to.deep.equal([results[0]!.body.id]);
    expect((await auditOf(org.orgId)).filter((a) => a.action === "user.created")).to.have.length(1);
  });

  it("announces no scimUser.updated when a group push leaves the mapped fields as they were (jsonb key order)", async () => {
    // public_metadata is built in mapping order (department, employee_number, title); PostgreSQL
    // returns it as title, department, employee_number. Comparing JSON text saw a change on every push.
    const org = await createOrgWithToken(base());
    await putMapping(org.orgId);
    const user = await scim(base(), org.token, "POST", "/Users", bodyFor(unique()));
    expect(user.status, user.text).to.equal(201);
    const group = await scim(base(), org.token, "POST", "/Groups", { displayName: `Team ${unique()}` });
    expect(group.status, group.text).to.equal(201);
    const push = await scim(base(), org.token, "PATCH", `/Groups/${group.body.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "add", path: "members", value: [{ value: user.body.id }] }],
    });
    expect(push.status, push.text).to.equal(204);
    const userEvents = (await eventsOf(org.orgId)).filter((e) => e.subject_id === user.body.id).map((e) => e.type);
    expect(userEvents).to.deep.equal(["scimUser.provisioned"]);
  });

  it("announces a member whose role a group push changed with one scimUser.updated carrying the stored row", async () => {
    const org = await createOrgWithToken(base());
    const mapping = { "groups[0].value": '{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}.organization_role' };
    const put = await admin(base(), "PUT", `/v1/organizations/${org.orgId}/scim/attribute-mappings`, { mapping });
    expect(put.status, put.text).to.equal(200);
    const user = await scim(base(), org.token, "POST", "/Users", scimUserBody());
    expect(user.status, user.text).to.equal(201);
    const group = await scim(base(), org.token, "POST", "/Groups", { displayName: "Admins" });
    const push = await scim(base(), org.token, "PATCH", `/Groups/${group.body.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "add", path: "members", value: [{ value: user.body.id }] }],
    });
    expect(push.status, push.text).to.equal(204);
    const updates = (await eventsOf(org.orgId)).filter((e) => e.subject_id === user.body.id && e.type === "scimUser.updated");
    expect(updates).to.have.length(1);
    const [stored] = await rows<Record<string, unknown>>(`SELECT organization_role, mapping_version, version FROM users WHERE id = $1`, [user.body.id]);
    expect(stored).to.include({ organization_role: "org:admin", version: 2 });
    const announced = updates[0]!.payload.data.user;
    expect(announced).to.include({ id: user.body.id, organization_role: "org:admin" });
    expect(announced.mapping).to.deep.equal({ version: stored!.mapping_version, errors: [] });
    expect(announced.teams).to.deep.equal([{ id: group.body.id, name: "Admins", status: "active" }]);
  });
});
