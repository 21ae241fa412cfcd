import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim, type JsonResponse } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";

const base = () => shared.service.url!;
const BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";

type Operation = Record<string, unknown> | string;
const bulk = (token: string, operations: Operation[], extra: Record<string, unknown> = {}) =>
  scim(base(), token, "POST", "/Bulk", { schemas: [BULK_REQUEST], Operations: operations, ...extra });
const groupBody = (name: string, members: string[] = []) => ({ schemas: [GROUP], displayName: name, members: members.map((value) => ({ value })) });
const scimBase = () => `${shared.service.deps.config.publicUrl}/scim/v2`;
const idOf = (location: unknown) => String(location).split("/").pop()!;
const rowsOf = <T extends object>(query: string, bind: unknown[]) => shared.service.deps.db.sequelize.query<T>(query, { bind, type: QueryTypes.SELECT });
const eventsOf = (orgId: string) => rowsOf<{ type: string; subject_id: string; id: string }>(`SELECT id, type, subject_id FROM events WHERE organization_id = $1 ORDER BY seq`, [orgId]);

/** One sample of Prometheus text (0 when the series does not exist yet). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.split(" ")[0]!.includes(w)));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** The status strings of a BulkResponse, in the order of its Operations. */
function statuses(response: JsonResponse): string[] {
  expect(response.status, response.text).to.equal(200);
  expect(response.body.schemas).to.deep.equal([BULK_RESPONSE]);
  return response.body.Operations.map((op: { status: string }) => op.status);
}

describe("SCIM Bulk (RFC 7644 §3.7)", () => {
  it("advertises bulk in /ServiceProviderConfig with the limits it enforces", async () => {
    const { token } = await createOrgWithToken(base());
    const config = await scim(base(), token, "GET", "/ServiceProviderConfig");
    expect(config.body.bulk).to.deep.equal({
      supported: true,
      maxOperations: shared.service.deps.config.scim.bulkMaxOperations,
      maxPayloadSize: shared.service.deps.config.scim.bodyLimitBytes,
    });
  });

  it("creates a user and a group whose member is bulkId:u1, resolved to the new user's id", async () => {
    const { token } = await createOrgWithToken(base());
    const user = scimUserBody();
    const name = `Bulk team ${unique()}`;
    const response = await bulk(token, [
      { method: "POST", path: "/Users", bulkId: "u1", data: user },
      { method: "POST", path: "/Groups", bulkId: "g1", data: groupBody(name, ["bulkId:u1"]) },
    ]);
    expect(statuses(response)).to.deep.equal(["201", "201"]);
    const [createdUser, createdGroup] = response.body.Operations;
    expect(createdUser).to.include({ method: "POST", bulkId: "u1" });
    expect(createdUser.location).to.match(/\/scim\/v2\/Users\/user_/);
    expect(createdUser.version).to.match(/^W\/"\d+"$/);
    expect(createdUser).to.not.have.property("response");
    const userId = idOf(createdUser.location);
    const group = await scim(base(), token, "GET", `/Groups/${idOf(createdGroup.location)}`);
    expect(group.body.displayName).to.equal(name);
    expect(group.body.members.map((m: { value: string }) => m.value)).to.deep.equal([userId]);
    expect(group.headers.get("etag")).to.equal(createdGroup.version);
    const stored = await scim(base(), token, "GET", `/Users/${userId}`);
    expect(stored.body.userName).to.equal(user.userName);
    expect(stored.body.groups.map((g: { value: string }) => g.value)).to.deep.equal([idOf(createdGroup.location)]);
  });

  it("reorders a forward reference (group before its member's user) and resolves bulkId paths", async () => {
    const { token, orgId } = await createOrgWithToken(base());
    const response = await bulk(token, [
      { method: "POST", path: "/Groups", bulkId: "g1", data: groupBody(`Forward ${unique()}`, ["bulkId:u1"]) },
      { method: "PATCH", path: "/Groups/bulkId:g1", data: { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: [{ value: "bulkId:u2" }] }] } },
      { method: "POST", path: "/Users", bulkId: "u1", data: scimUserBody() },
      { method: "POST", path: "/Users", bulkId: "u2", data: scimUserBody() },
    ]);
    // Reported in request order; run in dependency order.
    expect(statuses(response)).to.deep.equal(["201", "200", "201", "201"]);
    const [group, patched, u1, u2] = response.body.Operations;
    expect(patched.location).to.equal(group.location);
    const members = (await scim(base(), token, "GET", `/Groups/${idOf(group.location)}`)).body.members.map((m: { value: string }) => m.value).sort();
    expect(members).to.deep.equal([idOf(u1.location), idOf(u2.location)].sort());
    const events = await eventsOf(orgId);
    const position = (subject: string, type: string) => events.findIndex((e) => e.subject_id === subject && e.type === type);
    expect(position(idOf(u1.location), "scimUser.provisioned")).to.be.lessThan(position(idOf(group.location), "scimGroup.created"));
    expect(position(idOf(group.location), "scimGroup.created")).to.be.lessThan(position(idOf(u2.location), "scimUser.provisioned"));
    expect(position(idOf(u2.location), "scimUser.provisioned")).to.be.lessThan(position(idOf(group.location), "scimGroup.updated"));
  });

  it("refuses circular references with 409 on each operation of the cycle, creates nothing of it, and runs the rest", async () => {
    const { token } = await createOrgWithToken(base());
    const [a, b] = [`Cycle A ${unique()}`, `Cycle B ${unique()}`];
    const response = await bulk(token, [
      { method: "POST", path: "/Groups", bulkId: "ga", data: groupBody(a, ["bulkId:gb"]) },
      { method: "POST", path: "/Groups", bulkId: "gb", data: groupBody(b, ["bulkId:ga"]) },
      { method: "POST", path: "/Groups", bulkId: "self", data: groupBody(`Self ${unique()}`, ["bulkId:self"]) },
      { method: "POST", path: "/Users", bulkId: "u1", data: scimUserBody() },
    ]);
    expect(statuses(response)).to.deep.equal(["409", "409", "409", "201"]);
    const refused = response.body.Operations[0];
    expect(refused).to.include({ method: "POST", bulkId: "ga" });
    expect(refused).to.not.have.property("location");
    expect(refused.response.schemas).to.deep.equal([ERROR_SCHEMA]);
    expect(refused.response.status).to.equal("409");
    expect(refused.response.detail).to.match(/circular/);
    for (const name of [a, b]) {
      const found = await scim(base(), token, "GET", `/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`);
      expect(found.body.totalResults).to.equal(0);
    }
  });

  it("fails an operation naming an unknown bulkId (400) and one whose referenced POST failed (409), and nothing else", async () => {
    const { token } = await createOrgWithToken(base());
    const name = `Unknown ${unique()}`;
    const response = await bulk(token, [
      { method: "POST", path: "/Groups", bulkId: "g1", data: groupBody(name, ["bulkId:nope"]) },
      { method: "DELETE", path: "/Users/bulkId:missing" },
      { method: "POST", path: "/Users", bulkId: "bad", data: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"] } },
      { method: "POST", path: "/Groups", bulkId: "g2", data: groupBody(`Hangs ${unique()}`, ["bulkId:bad"]) },
    ]);
    expect(statuses(response)).to.deep.equal(["400", "400", "400", "409"]);
    const [unknown, , badUser, dependent] = response.body.Operations;
    expect(unknown.response).to.include({ scimType: "invalidValue", status: "400" });
    expect(unknown.response.detail).to.contain("bulkId:nope");
    expect(badUser.response.detail).to.match(/userName/);
    expect(dependent.response.detail).to.contain("bulkId:bad");
    // The literal "bulkId:nope" never became a pending member of a created group.
    expect((await scim(base(), token, "GET", `/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`)).body.totalResults).to.equal(0);
  });

  it("stops after failOnErrors errors: the rest is neither run nor reported, and earlier successes stay", async () => {
    const { token } = await createOrgWithToken(base());
    const [first, last] = [scimUserBody(), scimUserBody()];
    const response = await bulk(token, [
      { method: "POST", path: "/Users", bulkId: "ok", data: first },
      { method: "PUT", path: "/Users/user_00000000000000000000000000", data: scimUserBody() },
      { method: "POST", path: "/Users", bulkId: "never", data: last },
    ], { failOnErrors: 1 });
    expect(statuses(response)).to.deep.equal(["201", "404"]);
    expect(response.body.Operations[1].response).to.include({ status: "404" });
    const lookup = (userName: unknown) => scim(base(), token, "GET", `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    expect((await lookup(first.userName)).body.totalResults).to.equal(1);
    expect((await lookup(last.userName)).body.totalResults).to.equal(0);

    // Without failOnErrors every operation runs.
    const again = await bulk(token, [
      { method: "PUT", path: "/Users/user_00000000000000000000000000", data: scimUserBody() },
      { method: "POST", path: "/Users", bulkId: "now", data: last },
    ]);
    expect(statuses(again)).to.deep.equal(["404", "201"]);
  });

  it("runs mixed POST, PUT, PATCH and DELETE of users and groups like the single requests", async () => {
    const { token } = await createOrgWithToken(base());
    const kept = await scim(base(), token, "POST", "/Users", scimUserBody());
    const doomed = await scim(base(), token, "POST", "/Users", scimUserBody());
    const team = await scim(base(), token, "POST", "/Groups", groupBody(`Mixed ${unique()}`));
    const renamed = `Renamed ${unique()}`;
    const response = await bulk(token, [
      { method: "PUT", path: `/Users/${kept.body.id}`, data: { ...scimUserBody({ userName: kept.body.userName, externalId: kept.body.externalId }), name: { givenName: "Put", familyName: "Done" } } },
      { method: "PATCH", path: `/Users/${kept.body.id}`, data: { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] } },
      { method: "DELETE", path: `/Users/${doomed.body.id}` },
      { method: "POST", path: "/Users", bulkId: "new", data: scimUserBody() },
      { method: "PUT", path: `/Groups/${team.body.id}`, data: groupBody(renamed, [kept.body.id, "bulkId:new"]) },
      { method: "patch", path: `/Groups/${team.body.id}`, data: { schemas: [PATCH], Operations: [{ op: "remove", path: `members[value eq "${kept.body.id}"]` }] } },
    ]);
    expect(statuses(response)).to.deep.equal(["200", "200", "204", "201", "200", "200"]);
    const [put, patch, del, post, groupPut, groupPatch] = response.body.Operations;
    expect(del).to.include({ method: "DELETE", location: `${scimBase()}/Users/${doomed.body.id}` });
    expect(del).to.not.have.property("version");
    expect(patch.method).to.equal("PATCH");
    expect(groupPatch.method).to.equal("PATCH");
    const user = await scim(base(), token, "GET", `/Users/${kept.body.id}`);
    expect(user.body.name).to.include({ givenName: "Put", familyName: "Done" });
    expect(user.body.active).to.equal(false);
    // (The group operations after the PATCH re-map the user, so its ETag moved on since.)
    expect(put.version).to.not.equal(patch.version);
    expect((await scim(base(), token, "GET", `/Users/${doomed.body.id}`)).status).to.equal(404);
    const group = await scim(base(), token, "GET", `/Groups/${team.body.id}`);
    expect(group.body.displayName).to.equal(renamed);
    expect(group.body.members.map((m: { value: string }) => m.value)).to.deep.equal([idOf(post.location)]);
    expect(group.headers.get("etag")).to.equal(groupPatch.version);
    expect(groupPut.version).to.not.equal(groupPatch.version);
  });

  it("treats version as If-Match: a stale one fails that operation with 412, the current one succeeds", async () => {
    const { token } = await createOrgWithToken(base());
    const user = await scim(base(), token, "POST", "/Users", scimUserBody());
    const current = user.headers.get("etag")!;
    const deactivate = { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] };
    const response = await bulk(token, [
      { method: "PATCH", path: `/Users/${user.body.id}`, version: 'W/"999"', data: deactivate },
      { method: "DELETE", path: `/Users/${user.body.id}`, version: 'W/"999"' },
      { method: "PATCH", path: `/Users/${user.body.id}`, version: current, data: deactivate },
    ]);
    expect(statuses(response)).to.deep.equal(["412", "412", "200"]);
    expect(response.body.Operations[0].response).to.include({ status: "412" });
    expect(response.body.Operations[0].location).to.equal(`${scimBase()}/Users/${user.body.id}`);
    expect(response.body.Operations[2].version).to.not.equal(current);
    expect((await scim(base(), token, "GET", `/Users/${user.body.id}`)).body.active).to.equal(false);
  });

  it("answers 413 with the SCIM error naming the limit for too many operations or too large a payload, running nothing", async () => {
    const { token } = await createOrgWithToken(base());
    const { bulkMaxOperations, bodyLimitBytes } = shared.service.deps.config.scim;
    const user = scimUserBody();
    const tooMany = await bulk(token, Array.from({ length: bulkMaxOperations + 1 }, (_, i) =>
      i === 0 ? { method: "POST", path: "/Users", bulkId: "first", data: user } : { method: "DELETE", path: `/Users/user_${i}` }));
    expect(tooMany.status).to.equal(413);
    expect(tooMany.contentType).to.equal("application/scim+json");
    expect(tooMany.body.schemas).to.deep.equal([ERROR_SCHEMA]);
    expect(tooMany.body.status).to.equal("413");
    expect(tooMany.body.detail).to.contain(`maxOperations (${bulkMaxOperations})`);
    expect((await scim(base(), token, "GET", `/Users?filter=${encodeURIComponent(`userName eq "${user.userName}"`)}`)).body.totalResults).to.equal(0);

    const filler = "x".repeat(4000);
    const big = { schemas: [BULK_REQUEST], Operations: Array.from({ length: Math.ceil(bodyLimitBytes / 4000) + 1 }, (_, i) => ({ method: "POST", path: "/Users", bulkId: `b${i}`, data: scimUserBody({ nickName: filler }) })) };
    const tooLarge = await request(base(), "POST", "/scim/v2/Bulk", { token, rawBody: JSON.stringify(big) });
    expect(tooLarge.status).to.equal(413);
    expect(tooLarge.body.schemas).to.deep.equal([ERROR_SCHEMA]);
    expect(tooLarge.body.status).to.equal("413");
    expect(tooLarge.body.detail).to.contain(`maxPayloadSize (${bodyLimitBytes})`);
  });

  it("records each operation's own event, webhook deliveries and audit row, as the single requests do", async () => {
    const { token, orgId } = await createOrgWithToken(base());
    const endpoint = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: "http://127.0.0.1:9/hook" });
    expect(endpoint.status).to.equal(201);
    const response = await bulk(token, [
      { method: "POST", path: "/Users", bulkId: "u1", data: scimUserBody() },
      { method: "POST", path: "/Users", bulkId: "u2", data: scimUserBody() },
      { method: "POST", path: "/Groups", bulkId: "g1", data: groupBody(`Events ${unique()}`, ["bulkId:u1", "bulkId:u2"]) },
      { method: "PATCH", path: "/Users/bulkId:u2", data: { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] } },
      { method: "DELETE", path: "/Users/bulkId:u1" },
    ]);
    expect(statuses(response)).to.deep.equal(["201", "201", "201", "200", "204"]);
    const [u1, u2, g1] = response.body.Operations.map((op: { location: string }) => idOf(op.location));
    const events = await eventsOf(orgId);
    expect(events.map((e) => [e.type, e.subject_id])).to.deep.equal([
      ["scimUser.provisioned", u1],
      ["scimUser.provisioned", u2],
      ["scimGroup.created", g1],
      ["scimUser.deprovisioned", u2],
      ["scimUser.deprovisioned", u1],
    ]);
    const deliveries = await rowsOf<{ event_id: string }>(`SELECT event_id FROM webhook_deliveries WHERE event_id = ANY($1)`, [events.map((e) => e.id)]);
    expect(new Set(deliveries.map((d) => d.event_id)).size).to.equal(events.length);
    const audit = await rowsOf<{ action: string; subject_id: string; actor_type: string }>(
      `SELECT action, subject_id, actor_type FROM audit_log WHERE organization_id = $1 AND subject_id = ANY($2) ORDER BY created_at, action`, [orgId, [u1, u2, g1]]);
    expect(audit.map((a) => a.action)).to.include.members(["user.created", "user.deactivated", "user.deleted"]);
    expect(audit.every((a) => a.actor_type === "scim_token")).to.equal(true);
  });

  it("never lets a bulk operation touch another organization's resources (404 each)", async () => {
    const a = await createOrgWithToken(base());
    const b = await createOrgWithToken(base());
    const user = await scim(base(), a.token, "POST", "/Users", scimUserBody());
    const group = await scim(base(), a.token, "POST", "/Groups", groupBody(`A only ${unique()}`, [user.body.id]));
    const before = await scim(base(), a.token, "GET", `/Users/${user.body.id}`);
    const response = await bulk(b.token, [
      { method: "PATCH", path: `/Users/${user.body.id}`, data: { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] } },
      { method: "PUT", path: `/Users/${user.body.id}`, data: scimUserBody() },
      { method: "DELETE", path: `/Users/${user.body.id}` },
      { method: "PATCH", path: `/Groups/${group.body.id}`, data: { schemas: [PATCH], Operations: [{ op: "remove", path: "members" }] } },
      { method: "DELETE", path: `/Groups/${group.body.id}` },
    ]);
    expect(statuses(response)).to.deep.equal(["404", "404", "404", "404", "404"]);
    expect(response.body.Operations[0].location).to.equal(`${scimBase()}/Users/${user.body.id}`);
    expect(response.body.Operations[0].response).to.include({ status: "404" });
    const still = await scim(base(), a.token, "GET", `/Users/${user.body.id}`);
    expect(still.body.active).to.equal(true);
    expect(still.headers.get("etag")).to.equal(before.headers.get("etag"));
    expect((await scim(base(), a.token, "GET", `/Groups/${group.body.id}`)).body.members).to.have.length(1);
  });

  it("charges one rate-limit token per operation: an operation over the budget fails with 429 and the rest is not run", async () => {
    const { token, orgId } = await createOrgWithToken(base());
    await admin(base(), "PATCH", `/v1/organizations/${orgId}`, { scim_rate_limit: 1 });
    const response = await bulk(token, [
      { method: "POST", path: "/Users", bulkId: "u1", data: scimUserBody() },
      { method: "POST", path: "/Users", bulkId: "u2", data: scimUserBody() },
      { method: "POST", path: "/Users", bulkId: "u3", data: scimUserBody() },
    ]);
    expect(statuses(response)).to.deep.equal(["201", "429"]);
    expect(response.body.Operations[1].response).to.include({ status: "429" });
  });

  it("counts each operation in the provisioning metrics as its single request would, and the request once", async () => {
    const { token } = await createOrgWithToken(base());
    const taken = scimUserBody();
    const before = (await request(base(), "GET", "/metrics")).text;
    const response = await bulk(token, [
      { method: "POST", path: "/Users", bulkId: "a", data: taken },
      { method: "POST", path: "/Users", bulkId: "b", data: scimUserBody() },
      { method: "POST", path: "/Users", bulkId: "c", data: { ...scimUserBody(), userName: taken.userName } },
      { method: "PATCH", path: "/Groups/team_00000000000000000000000000", data: { schemas: [PATCH], Operations: [{ op: "remove", path: "members" }] } },
    ]);
    expect(statuses(response)).to.deep.equal(["201", "201", "409", "404"]);
    const after = (await request(base(), "GET", "/metrics")).text;
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta("rollcall_provisioning_operations_total", { operation: "post_users" })).to.equal(3);
    expect(delta("rollcall_provisioning_operations_total", { operation: "patch_groups" })).to.equal(1);
    expect(delta("rollcall_provisioning_failures_total", { operation: "post_users", reason: "conflict" })).to.equal(1);
    expect(delta("rollcall_provisioning_failures_total", { operation: "patch_groups", reason: "validation" })).to.equal(1);
    expect(delta("rollcall_scim_requests_total", { resource: "Bulk", method: "POST", status: "200" })).to.equal(1);
    expect(delta("rollcall_scim_requests_total", { resource: "Users", method: "POST", status: "201" })).to.equal(0);
  });

  it("answers 400 for a body that is no BulkRequest, and reports malformed operations one by one", async () => {
    const { token } = await createOrgWithToken(base());
    const noSchema = await scim(base(), token, "POST", "/Bulk", { Operations: [] });
    expect(noSchema.status).to.equal(400);
    expect(noSchema.body).to.include({ scimType: "invalidSyntax", status: "400" });
    expect((await bulk(token, [], { failOnErrors: 0 })).status).to.equal(400);
    const response = await bulk(token, [
      { method: "POST", path: "/Users", data: scimUserBody() },
      { method: "GET", path: "/Users" },
      { method: "POST", path: "/Schemas", bulkId: "s", data: {} },
      { method: "PATCH", path: "/Users", data: {} },
      "not an operation",
    ]);
    expect(statuses(response)).to.deep.equal(["400", "400", "400", "400", "400"]);
    expect(response.body.Operations[0].response.detail).to.contain("bulkId is required");
    expect(response.body.Operations[1].method).to.equal("GET");
  });
});
