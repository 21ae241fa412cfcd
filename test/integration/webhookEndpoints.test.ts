import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin } from "../helpers/http.ts";
import { unique } from "../helpers/factories.ts";
import { startTestService } from "../helpers/testService.ts";
import type { Service } from "../../server/main.ts";
import { recordEvent } from "../../server/webhooks/outbox.ts";

/** Nothing listens on port 9 (discard); these tests never dispatch, and clean up what they queue. */
const URL_NOBODY_SERVES = "http://127.0.0.1:9/hooks";

describe("admin API: webhook endpoints and deliveries", () => {
  const orgs: string[] = [];
  const base = () => shared.service.url!;
  const sequelize = () => shared.service.deps.db.sequelize;

  async function createOrg(): Promise<string> {
    const res = await admin(base(), "POST", "/v1/organizations", { name: `Hooks ${unique()}` });
    orgs.push(res.body.id);
    return res.body.id;
  }

  async function createEndpoint(orgId: string, body: Record<string, unknown> = { url: URL_NOBODY_SERVES }) {
    const res = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, body);
    expect(res.status, res.text).to.equal(201);
    return res.body;
  }

  function record(orgId: string): Promise<string> {
    return sequelize().transaction((t) =>
      recordEvent(sequelize(), t, { organizationId: orgId, type: "scimGroup.created", subjectId: `team_${unique()}`, data: { group: { name: "Eng" } } }, new Date()),
    );
  }

  after(async () => {
    await sequelize().query(`UPDATE webhook_deliveries SET status = 'failed' WHERE organization_id = ANY ($1::text[]) AND status = 'pending'`, { bind: [orgs] });
  });

  it("creates an endpoint subscribed to every event, with a Standard Webhooks secret", async () => {
    const orgId = await createOrg();
    const res = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: URL_NOBODY_SERVES });
    expect(res.status).to.equal(201);
    expect(res.contentType).to.equal("application/json");
    expect(res.body).to.include({ object: "webhook_endpoint", organization_id: orgId, url: URL_NOBODY_SERVES, enabled: true, deleted_at: null });
    expect(res.body.id).to.match(/^whep_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(res.body.events).to.deep.equal([]);
    expect(res.body.secret).to.match(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(res.body.secret.slice("whsec_".length), "base64")).to.have.length(24);
    expect(res.body.created_at).to.be.a("number").within(Date.now() - 60_000, Date.now() + 1_000);
  });

  it("stores an event filter, resolving the organization by slug too", async () => {
    const slug = `hooks-${unique()}`;
    const org = await admin(base(), "POST", "/v1/organizations", { name: "Slugged", slug });
    orgs.push(org.body.id);
    const endpoint = await createEndpoint(slug, { url: "https://hooks.example.com/rollcall", events: ["scimUser.provisioned", "scimUser.provisioned", "reconciler.drift_detected"] });
    expect(endpoint.organization_id).to.equal(org.body.id);
    expect(endpoint.events).to.deep.equal(["scimUser.provisioned", "reconciler.drift_detected"]);
  });

  for (const [label, body, field] of [
    ["an unknown event type", { url: URL_NOBODY_SERVES, events: ["scimUser.exploded"] }, "events.0"],
    ["a non-http(s) URL", { url: "ftp://hooks.example.com/x" }, "url"],
    ["a relative URL", { url: "/hooks" }, "url"],
    ["a missing URL", { events: [] }, "url"],
    ["an unknown field", { url: URL_NOBODY_SERVES, secret: "whsec_mine" }, ""],
  ] as const) {
    it(`rejects ${label} with 400 naming the field`, async () => {
      const orgId = await createOrg();
      const res = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, body);
      expect(res.status).to.equal(400);
      expect(res.contentType).to.equal("application/json");
      expect(res.body.errors[0].code).to.equal("validation_failed");
      expect(res.body.errors[0].meta.issues[0].field).to.equal(field);
    });
  }

  it("lists endpoints without their secrets, keyset-paginated", async () => {
    const orgId = await createOrg();
    const created = [await createEndpoint(orgId), await createEndpoint(orgId), await createEndpoint(orgId)];
    const first = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints?limit=2`);
    expect(first.status).to.equal(200);
    expect(first.body).to.include({ object: "list", has_more: true, next_cursor: created[1].id });
    expect(first.body.data.map((e: { id: string }) => e.id)).to.deep.equal([created[0].id, created[1].id]);
    expect(first.body.data[0]).not.to.have.property("secret");
    const second = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints?limit=2&after=${first.body.next_cursor}`);
    expect(second.body).to.include({ has_more: false, next_cursor: null });
    expect(second.body.data.map((e: { id: string }) => e.id)).to.deep.equal([created[2].id]);
  });

  it("shows a single endpoint without its secret (shown only on create and rotate), and 404s an unknown id", async () => {
    const orgId = await createOrg();
    const endpoint = await createEndpoint(orgId);
    const res = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints/${endpoint.id}`);
    expect(res.status).to.equal(200);
    const { secret, ...withoutSecret } = endpoint;
    expect(res.body).to.deep.equal(withoutSecret);
    expect(res.text).not.to.contain(secret);
    const missing = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints/whep_01JAAAAAAAAAAAAAAAAAAAAAAA`);
    expect(missing.status).to.equal(404);
    expect(missing.body.errors[0].code).to.equal("not_found");
  });

  describe("PATCH …/webhook_endpoints/:id", () => {
    const patch = (orgId: string, id: string, body: unknown) => admin(base(), "PATCH", `/v1/organizations/${orgId}/webhook_endpoints/${id}`, body);
    const pendingOf = async (orgId: string) =>
      (await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=pending`)).body.data as Array<{ event_id: string; next_attempt_at: number | null }>;

    it("changes the URL and the event filter, and answers without the secret", async () => {
      const orgId = await createOrg();
      const endpoint = await createEndpoint(orgId);
      const res = await patch(orgId, endpoint.id, { url: "https://hooks.example.com/new", events: ["scimGroup.created", "scimGroup.created"] });
      expect(res.status).to.equal(200);
      expect(res.contentType).to.equal("application/json");
      expect(res.body).to.include({ id: endpoint.id, url: "https://hooks.example.com/new", enabled: true });
      expect(res.body.events).to.deep.equal(["scimGroup.created"]);
      expect(res.body).not.to.have.property("secret");
      expect(res.body.updated_at).to.be.at.least(endpoint.updated_at);
      const stored = (await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints/${endpoint.id}`)).body;
      expect(stored).to.include({ url: "https://hooks.example.com/new" });
      expect(stored).not.to.have.property("secret");
    });

    it("disabling stops fan-out and parks pending deliveries; enabling sends them again", async () => {
      const orgId = await createOrg();
      const endpoint = await createEndpoint(orgId);
      const before = await record(orgId);
      const off = await patch(orgId, endpoint.id, { enabled: false });
      expect(off.status).to.equal(200);
      expect(off.body).to.include({ enabled: false, disabled_reason: "admin" });
      await record(orgId);
      expect((await pendingOf(orgId)).map((d) => [d.event_id, d.next_attempt_at])).to.deep.equal([[before, null]]);

      const on = await patch(orgId, endpoint.id, { enabled: true });
      expect(on.body).to.include({ enabled: true, disabled_reason: null, circuit_state: "closed", consecutive_failures: 0 });
      const [waiting] = await pendingOf(orgId);
      expect(waiting!.event_id).to.equal(before);
      expect(waiting!.next_attempt_at).to.be.a("number").within(Date.now() - 60_000, Date.now() + 1_000);
    });

    for (const [label, body, field] of [
      ["an empty body", {}, ""],
      ["a non-boolean enabled", { enabled: "yes" }, "enabled"],
      ["an unknown event type", { events: ["scimUser.exploded"] }, "events.0"],
      ["a relative URL", { url: "/hooks" }, "url"],
      ["a field it cannot change", { secret: "whsec_mine" }, ""],
    ] as const) {
      it(`rejects ${label} with 400 naming the field`, async () => {
        const orgId = await createOrg();
        const endpoint = await createEndpoint(orgId);
        const res = await patch(orgId, endpoint.id, body);
        expect(res.status).to.equal(400);
        expect(res.body.errors[0].code).to.equal("validation_failed");
        expect(res.body.errors[0].meta.issues[0].field).to.equal(field);
      });
    }

    it("answers 404 for another organization's endpoint and leaves it unchanged", async () => {
      const owner = await createOrg();
      const other = await createOrg();
      const endpoint = await createEndpoint(owner);
      expect((await patch(other, endpoint.id, { enabled: false })).status).to.equal(404);
      expect((await admin(base(), "GET", `/v1/organizations/${owner}/webhook_endpoints/${endpoint.id}`)).body.enabled).to.equal(true);
    });
  });

  it("soft-deletes an endpoint and ends its pending deliveries", async () => {
    const orgId = await createOrg();
    const endpoint = await createEndpoint(orgId);
    const msgId = await record(orgId);
    const res = await admin(base(), "DELETE", `/v1/organizations/${orgId}/webhook_endpoints/${endpoint.id}`);
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ id: endpoint.id, enabled: false });
    expect(res.body.deleted_at).to.be.a("number");
    expect(res.body).not.to.have.property("secret");
    expect((await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints/${endpoint.id}`)).status).to.equal(404);
    expect((await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints`)).body.data).to.deep.equal([]);
    expect((await admin(base(), "DELETE", `/v1/organizations/${orgId}/webhook_endpoints/${endpoint.id}`)).status).to.equal(404);

    const pending = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=pending`);
    expect(pending.body.data).to.deep.equal([]);
    const failed = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=failed`);
    expect(failed.body.data.map((d: { event_id: string }) => d.event_id)).to.deep.equal([msgId]);
    const retry = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_deliveries/${failed.body.data[0].id}/retry`);
    expect(retry.status).to.equal(409);
    expect(retry.body.errors[0].code).to.equal("endpoint_deleted");
  });

  it("lists deliveries newest first with their event type, filtered by status and paginated", async () => {
    const orgId = await createOrg();
    const endpoint = await createEndpoint(orgId);
    const ids = [await record(orgId), await record(orgId), await record(orgId)];
    const first = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=pending&limit=2`);
    expect(first.status).to.equal(200);
    expect(first.body).to.include({ object: "list", has_more: true });
    const second = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=pending&limit=2&after=${first.body.next_cursor}`);
    const listed = [...first.body.data, ...second.body.data];
    // Newest first to the millisecond (ids are time-ordered ULIDs); events of one millisecond in any order.
    expect(listed.map((d: { event_id: string }) => d.event_id)).to.have.members(ids);
    expect(listed.map((d: { id: string }) => d.id)).to.deep.equal(listed.map((d: { id: string }) => d.id).sort().reverse());
    expect(listed[0]).to.include({ object: "webhook_delivery", endpoint_id: endpoint.id, event_type: "scimGroup.created", status: "pending", attempt_count: 0 });
    expect(listed[0].attempts).to.deep.equal([]);
    expect((await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=succeeded`)).body.data).to.deep.equal([]);
    const bad = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=lost`);
    expect(bad.status).to.equal(400);
    expect(bad.body.errors[0].meta.issues[0].field).to.equal("status");
  });

  it("answers 405 for a method the endpoint resource does not support", async () => {
    const orgId = await createOrg();
    const endpoint = await createEndpoint(orgId);
    const res = await admin(base(), "PUT", `/v1/organizations/${orgId}/webhook_endpoints/${endpoint.id}`, { url: URL_NOBODY_SERVES });
    expect(res.status).to.equal(405);
    expect(res.body.errors[0].code).to.equal("method_not_allowed");
  });

  it("keeps organizations apart: another organization's endpoints and deliveries are 404", async () => {
    const orgA = await createOrg();
    const orgB = await createOrg();
    const endpoint = await createEndpoint(orgA);
    await record(orgA);
    const delivery = (await admin(base(), "GET", `/v1/organizations/${orgA}/webhook_deliveries`)).body.data[0];
    expect(delivery.endpoint_id).to.equal(endpoint.id);

    for (const [method, path] of [
      ["GET", `/webhook_endpoints/${endpoint.id}`],
      ["DELETE", `/webhook_endpoints/${endpoint.id}`],
      ["GET", `/webhook_deliveries/${delivery.id}`],
      ["POST", `/webhook_deliveries/${delivery.id}/retry`],
    ] as const) {
      const res = await admin(base(), method, `/v1/organizations/${orgB}${path}`);
      expect(res.status, `${method} ${path}`).to.equal(404);
    }
    expect((await admin(base(), "GET", `/v1/organizations/${orgB}/webhook_endpoints`)).body.data).to.deep.equal([]);
    expect((await admin(base(), "GET", `/v1/organizations/${orgB}/webhook_deliveries`)).body.data).to.deep.equal([]);
    expect((await admin(base(), "GET", `/v1/organizations/${orgB}/webhook_deliveries?endpoint_id=${endpoint.id}`)).body.data).to.deep.equal([]);
    expect((await admin(base(), "GET", `/v1/organizations/${orgA}/webhook_endpoints/${endpoint.id}`)).status).to.equal(200);
  });

  describe("when private URLs are not allowed (production mode)", () => {
    let strict: Service;
    before(async function () {
      this.timeout(60_000); // embedded mode: a database of its own, initialised and migrated
      strict = await startTestService(shared.databaseUrl, { env: { ROLLCALL_WEBHOOK_ALLOW_PRIVATE_URLS: "false" } });
    });
    after(async () => {
      await strict?.stop();
    });

    async function attempt(url: string) {
      const org = await admin(strict.url!, "POST", "/v1/organizations", { name: `Strict ${unique()}` });
      return admin(strict.url!, "POST", `/v1/organizations/${org.body.id}/webhook_endpoints`, { url });
    }

    for (const url of [
      "http://127.0.0.1:8080/hook",
      "http://localhost/hook",
      "http://10.1.2.3/hook",
      "http://172.16.0.1/hook",
      "http://192.168.1.1/hook",
      "http://169.254.169.254/latest/meta-data",
      "http://100.64.0.1/hook",
      "http://0.0.0.0/hook",
      "http://[::1]/hook",
      "http://[::]/hook",
      "http://[fd00::1]/hook",
      "http://[fe80::1]/hook",
      "http://[::ffff:127.0.0.1]/hook",
    ]) {
      it(`refuses ${url}`, async () => {
        const res = await attempt(url);
        expect(res.status).to.equal(400);
        expect(res.body.errors[0].code).to.equal("validation_failed");
        expect(res.body.errors[0].meta.issues[0].field).to.equal("url");
        expect(res.body.errors[0].message).to.match(/^url: .* not a public address/);
      });
    }

    it("refuses a host that does not resolve", async () => {
      const res = await attempt("https://no-such-host.invalid/hook");
      expect(res.status).to.equal(400);
      expect(res.body.errors[0].message).to.match(/^url: the host could not be resolved/);
    });

    it("accepts a public address", async () => {
      const res = await attempt("https://1.1.1.1/hook");
      expect(res.status).to.equal(201);
    });
  });
});
