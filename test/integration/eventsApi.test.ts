import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { Webhook } from "standardwebhooks";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { createManualClock, startWebhookReceiver } from "../helpers/webhookReceiver.ts";
import { createDispatcher } from "../../server/webhooks/dispatcher.ts";
import { createLogger } from "../../server/logger.ts";
import { createMetrics } from "../../server/metrics.ts";
import { runRetention } from "../../server/retention/retentionJob.ts";

const base = () => shared.service.url!;
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const deactivate = { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] };

type ApiEvent = { id: string; object: string; type: string; timestamp: string; created_at: number; data: Record<string, any> };

const events = (orgId: string, query = "") => admin(base(), "GET", `/v1/organizations/${orgId}/events${query}`);

/*
 * An event becomes visible once every write transaction that started before it has finished, in
 * any database of the cluster (server/models/eventQueries.ts): another test run's open transaction
 * can hold it back for a moment, so reads that expect new events wait for them.
 */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** GET …/events, again until it lists at least `count` events. */
const eventsAtLeast = (orgId: string, count: number, query = "") => eventually(() => events(orgId, query), (res) => res.status !== 200 || res.body.data.length >= count);

/** Reads every event visible now, page by page, from `after` (the start when absent), until at least `count` arrived. */
function readAll(orgId: string, limit: number, count: number, after?: string): Promise<{ data: ApiEvent[]; cursor: string }> {
  return eventually(() => readPages(orgId, limit, after), (all) => all.data.length >= count);
}

async function readPages(orgId: string, limit: number, after?: string): Promise<{ data: ApiEvent[]; cursor: string }> {
  const data: ApiEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await events(orgId, `?limit=${limit}${cursor ? `&after=${cursor}` : ""}`);
    expect(page.status, page.text).to.equal(200);
    data.push(...page.body.data);
    cursor = page.body.next_cursor;
    if (!page.body.has_more) return { data, cursor: cursor! };
  }
}

describe("Events API", () => {
  it("lists an organization's SCIM changes as events, oldest first, with the webhook body's type, timestamp and data", async () => {
    const org = await createOrgWithToken(base());
    const created = await scim(base(), org.token, "POST", "/Users", scimUserBody());
    expect((await scim(base(), org.token, "PATCH", `/Users/${created.body.id}`, deactivate)).status).to.equal(200);
    const page = await eventsAtLeast(org.orgId, 2);
    expect(page.status).to.equal(200);
    expect(page.contentType).to.equal("application/json");
    expect(page.body.object).to.equal("list");
    expect(page.body.has_more).to.equal(false);
    expect(page.body.next_cursor).to.be.a("string");
    const list = page.body.data as ApiEvent[];
    expect(list.map((e) => [e.object, e.type, e.data.user.id, e.data.user.active])).to.deep.equal([
      ["event", "scimUser.provisioned", created.body.id, true],
      ["event", "scimUser.deprovisioned", created.body.id, false],
    ]);
    for (const e of list) {
      expect(e.id).to.match(/^msg_/);
      expect(e.data.organization_id).to.equal(org.orgId);
      expect(new Date(e.timestamp).getTime()).to.equal(e.created_at);
    }
  });

  it("gives each event the id its webhook deliveries carry as webhook-id, and the body they carry", async function () {
    this.timeout(30_000);
    const receiver = await startWebhookReceiver();
    try {
      const org = await createOrgWithToken(base());
      const endpoint = await admin(base(), "POST", `/v1/organizations/${org.orgId}/webhook_endpoints`, { url: receiver.url });
      expect(endpoint.status).to.equal(201);
      const created = await scim(base(), org.token, "POST", "/Users", scimUserBody());
      await scim(base(), org.token, "PATCH", `/Users/${created.body.id}`, deactivate);
      await scim(base(), org.token, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineering" });
      const deps = shared.service.deps;
      const dispatcher = createDispatcher({ sequelize: deps.db.sequelize, logger: deps.logger, metrics: deps.metrics, clock: deps.clock, config: deps.config });
      const deadline = Date.now() + 20_000;
      while (receiver.received.length < 3 && Date.now() < deadline) {
        if ((await dispatcher.runOnce()) === 0) await new Promise((r) => setTimeout(r, 50));
      }
      await dispatcher.stop();
      const verifier = new Webhook(endpoint.body.secret);
      const delivered = receiver.received.map((r) => {
        const headers = { "webhook-id": String(r.headers["webhook-id"]), "webhook-timestamp": String(r.headers["webhook-timestamp"]), "webhook-signature": String(r.headers["webhook-signature"]) };
        return { id: headers["webhook-id"], body: verifier.verify(r.body, headers) as Record<string, unknown> };
      });
      expect(delivered).to.have.length(3);
      const { data } = await readAll(org.orgId, 100, 3);
      expect(data.map((e) => e.id)).to.have.members(delivered.map((d) => d.id));
      for (const e of data) {
        const { id, created_at: _createdAt, ...body } = e;
        expect(body).to.deep.equal(delivered.find((d) => d.id === id)!.body);
      }
      expect(data.map((e) => e.type)).to.deep.equal(["scimUser.provisioned", "scimUser.deprovisioned", "scimGroup.created"]);
    } finally {
      await receiver.close();
    }
  });

  it("pages with limit and next_cursor, and a cursor with nothing new yet returns later events when polled again", async () => {
    const org = await createOrgWithToken(base());
    for (let i = 0; i < 5; i++) expect((await scim(base(), org.token, "POST", "/Users", scimUserBody())).status).to.equal(201);
    await readAll(org.orgId, 100, 5);
    const first = await events(org.orgId, "?limit=2");
    expect(first.body.data).to.have.length(2);
    expect(first.body.has_more).to.equal(true);
    const all = await readAll(org.orgId, 2, 5);
    expect(all.data).to.have.length(5);
    expect(all.data.slice(0, 2).map((e) => e.id)).to.deep.equal(first.body.data.map((e: ApiEvent) => e.id));
    expect(new Set(all.data.map((e) => e.id)).size).to.equal(5);

    const quiet = await events(org.orgId, `?after=${all.cursor}`);
    expect(quiet.status).to.equal(200);
    expect(quiet.body).to.deep.include({ data: [], has_more: false, next_cursor: all.cursor });

    const later = await scim(base(), org.token, "POST", "/Users", scimUserBody());
    const polled = await eventsAtLeast(org.orgId, 1, `?after=${all.cursor}`);
    expect(polled.body.data.map((e: ApiEvent) => [e.type, e.data.user.id])).to.deep.equal([["scimUser.provisioned", later.body.id]]);
    expect(polled.body.next_cursor).to.not.equal(all.cursor);
  });

  it("returns a cursor to poll from for an organization with no events yet", async () => {
    const org = await createOrgWithToken(base());
    const empty = await events(org.orgId);
    expect(empty.status).to.equal(200);
    expect(empty.body).to.deep.include({ object: "list", data: [], has_more: false });
    const created = await scim(base(), org.token, "POST", "/Users", scimUserBody());
    const polled = await eventsAtLeast(org.orgId, 1, `?after=${empty.body.next_cursor}`);
    expect(polled.body.data.map((e: ApiEvent) => e.data.user.id)).to.deep.equal([created.body.id]);
  });

  it("filters by comma-separated types, and moves the cursor past events the filter left out", async () => {
    const org = await createOrgWithToken(base());
    const created = await scim(base(), org.token, "POST", "/Users", scimUserBody());
    await scim(base(), org.token, "PATCH", `/Users/${created.body.id}`, deactivate);
    await scim(base(), org.token, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Sales" });
    await readAll(org.orgId, 100, 3);
    const users = await events(org.orgId, "?types=scimUser.deprovisioned,scimGroup.created");
    expect(users.status).to.equal(200);
    expect(users.body.data.map((e: ApiEvent) => e.type)).to.deep.equal(["scimUser.deprovisioned", "scimGroup.created"]);
    const provisioned = await events(org.orgId, "?types=scimUser.provisioned");
    expect(provisioned.body.data.map((e: ApiEvent) => e.type)).to.deep.equal(["scimUser.provisioned"]);
    // The page was not full: the cursor is past the group event too, so the next poll is empty.
    const next = await events(org.orgId, `?types=scimUser.provisioned&after=${provisioned.body.next_cursor}`);
    expect(next.body.data).to.deep.equal([]);
    const everything = await readAll(org.orgId, 100, 3);
    expect(everything.data.map((e) => e.type)).to.deep.equal(["scimUser.provisioned", "scimUser.deprovisioned", "scimGroup.created"]);
  });

  it("answers 400 through the admin error model for an unknown type, a bad limit and a malformed cursor", async () => {
    const org = await createOrgWithToken(base());
    const cases: Array<[string, string]> = [
      ["?types=scimUser.exploded", "types"],
      ["?types=", "types"],
      ["?types=scimUser.updated&types=scimGroup.created", "types"],
      ["?limit=0", "limit"],
      ["?limit=1001", "limit"],
      ["?limit=ten", "limit"],
      ["?after=not-a-cursor!", "after"],
      [`?after=${Buffer.from("[1,\"org_x\",\"-5\",3]").toString("base64url")}`, "after"],
      [`?after=${Buffer.from("{\"v\":1}").toString("base64url")}`, "after"],
      ["?after=usr_01HZZZZZZZZZZZZZZZZZZZZZZZ", "after"],
    ];
    for (const [query, field] of cases) {
      const res = await events(org.orgId, query);
      expect(res.status, query).to.equal(400);
      expect(res.contentType).to.equal("application/json");
      expect(res.body.errors[0].code, query).to.equal("validation_failed");
      expect(res.body.errors[0].message, query).to.match(new RegExp(`^${field}(\\.\\d+)?: `));
    }
  });

  it("keeps organizations apart: another organization's cursor is refused, an unknown organization is 404, no admin key is 401", async () => {
    const a = await createOrgWithToken(base());
    const b = await createOrgWithToken(base());
    const aUser = await scim(base(), a.token, "POST", "/Users", scimUserBody());
    const bUser = await scim(base(), b.token, "POST", "/Users", scimUserBody());
    const aPage = await eventsAtLeast(a.orgId, 1);
    expect(aPage.body.data.map((e: ApiEvent) => e.data.user.id)).to.deep.equal([aUser.body.id]);
    const bPage = await eventsAtLeast(b.orgId, 1);
    expect(bPage.body.data.map((e: ApiEvent) => e.data.user.id)).to.deep.equal([bUser.body.id]);

    const foreign = await events(b.orgId, `?after=${aPage.body.next_cursor}`);
    expect(foreign.status).to.equal(400);
    expect(foreign.body.errors[0].message).to.match(/another organization/);

    const missing = await admin(base(), "GET", "/v1/organizations/org_01HZZZZZZZZZZZZZZZZZZZZZZZ/events");
    expect(missing.status).to.equal(404);
    const anonymous = await request(base(), "GET", `/v1/organizations/${a.orgId}/events`);
    expect(anonymous.status).to.equal(401);
  });

  it("stops listing events the retention job deleted, and keeps listing an old one still pending delivery", async () => {
    const org = await createOrgWithToken(base());
    expect((await admin(base(), "POST", `/v1/organizations/${org.orgId}/webhook_endpoints`, { url: "http://127.0.0.1:9/hook" })).status).to.equal(201);
    for (let i = 0; i < 3; i++) await scim(base(), org.token, "POST", "/Users", scimUserBody());
    const before = (await readAll(org.orgId, 100, 3)).data.map((e) => e.id);
    expect(before).to.have.length(3);
    const [done, pending, recent] = before;
    // Moved into 2001 and pruned on a clock of 2001-03-01 (as test/integration/retention.test.ts does).
    const sql = (text: string, bind: unknown[]) => shared.service.deps.db.sequelize.query(text, { bind, type: QueryTypes.UPDATE });
    await sql(`UPDATE events SET created_at = '2001-01-01', fanned_out_at = '2001-01-01' WHERE id = ANY($1::text[])`, [[done, pending]]);
    await sql(`UPDATE events SET created_at = '2001-02-20' WHERE id = $1`, [recent]);
    await sql(`UPDATE webhook_deliveries SET status = 'succeeded', completed_at = '2001-01-01' WHERE event_id = $1`, [done]);
    const deps = { sequelize: shared.service.deps.db.sequelize, logger: createLogger("silent"), metrics: createMetrics({ defaultMetrics: false }), clock: createManualClock(new Date("2001-03-01T00:00:00Z")) };
    const result = await runRetention(deps, { requestLogDays: 0, eventDays: 30, deliveryAttemptDays: 0 });
    expect(result.events).to.equal(1);
    expect((await readAll(org.orgId, 100, 2)).data.map((e) => e.id)).to.deep.equal([pending, recent]);
  });
});
