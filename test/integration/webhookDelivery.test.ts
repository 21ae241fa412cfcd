import { expect } from "chai";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { admin } from "../helpers/http.ts";
import { unique } from "../helpers/factories.ts";
import { createManualClock, startIsolatedService, startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from "../helpers/webhookReceiver.ts";
import type { Service } from "../../server/main.ts";
import { createMetrics } from "../../server/metrics.ts";
import { createDispatcher, type Dispatcher } from "../../server/webhooks/dispatcher.ts";
import { recordEvent, type WebhookEventType } from "../../server/webhooks/outbox.ts";
import { MAX_ATTEMPTS, RETRY_DELAYS_MS } from "../../server/webhooks/backoff.ts";

/** The headers as a consumer's framework hands them to a Standard Webhooks library. */
function headersOf(request: ReceivedWebhook): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
}

describe("webhook delivery: signing, retries, order, delivery log", () => {
  const clock = createManualClock();
  let service: Service;
  let stopService: () => Promise<void>;
  let receiver: WebhookReceiver;
  let dispatchers: Dispatcher[] = [];
  const orgs: string[] = [];
  const base = () => service.url!;
  const sequelize = () => service.deps.db.sequelize;

  before(async function () {
    this.timeout(60_000); // embedded mode: a database of its own, initialised and migrated
    ({ service, stop: stopService } = await startIsolatedService({ clock }));
  });
  after(async () => {
    await stopService?.();
  });
  beforeEach(async () => {
    clock.set(new Date());
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await Promise.all(dispatchers.map((d) => d.stop()));
    dispatchers = [];
    await receiver.close();
    // Leave nothing due for the next test's dispatcher (the tests of this file share a database).
    await sequelize().query(`UPDATE webhook_deliveries SET status = 'failed' WHERE organization_id = ANY ($1::text[]) AND status = 'pending'`, { bind: [orgs] });
  });

  /** A dispatcher on the service's database with the jitter pinned to zero, so the schedule is exact. */
  function newDispatcher(webhooks: Partial<Service["deps"]["config"]["webhooks"]> = {}) {
    const metrics = createMetrics({ defaultMetrics: false });
    const dispatcher = createDispatcher(
      { sequelize: sequelize(), logger: service.deps.logger, metrics, clock, config: { webhooks: { ...service.deps.config.webhooks, ...webhooks } } },
      { random: () => 0 },
    );
    dispatchers.push(dispatcher);
    return { dispatcher, metrics };
  }

  /** Runs the dispatcher until nothing is due at the clock's current time. */
  async function drain(dispatcher: Dispatcher): Promise<void> {
    while ((await dispatcher.runOnce()) > 0);
  }

  async function orgWithEndpoint(url = receiver.url): Promise<{ orgId: string; endpointId: string; secret: string }> {
    const org = await admin(base(), "POST", "/v1/organizations", { name: `Webhooks ${unique()}` });
    orgs.push(org.body.id);
    const endpoint = await admin(base(), "POST", `/v1/organizations/${org.body.id}/webhook_endpoints`, { url });
    expect(endpoint.status).to.equal(201);
    return { orgId: org.body.id, endpointId: endpoint.body.id, secret: endpoint.body.secret };
  }

  function record(orgId: string, subjectId: string | null, type: WebhookEventType = "scimUser.provisioned"): Promise<string> {
    const data = { user: { id: subjectId, email_address: `${unique()}@example.com`, organization_role: "org:member", public_metadata: {} }, enterprise_connection_id: "conn_test" };
    return sequelize().transaction((t) => recordEvent(sequelize(), t, { organizationId: orgId, type, subjectId, data }, clock.now()));
  }

  async function deliveryOf(orgId: string, msgId: string) {
    const res = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?limit=200`);
    expect(res.status).to.equal(200);
    const delivery = res.body.data.find((d: { event_id: string }) => d.event_id === msgId);
    expect(delivery, `a delivery of ${msgId}`).to.exist;
    return delivery;
  }

  it("signs each request so the standardwebhooks package verifies it as a consumer would", async () => {
    const { orgId, secret } = await orgWithEndpoint();
    const other = await orgWithEndpoint();
    const msgId = await record(orgId, `user_${unique()}`);
    const { dispatcher } = newDispatcher();
    await drain(dispatcher);

    const [request] = receiver.receivedFor(msgId);
    expect(request, "the event reached the receiver").to.exist;
    expect(request!.headers).to.include({ "webhook-id": msgId, "content-type": "application/json", "user-agent": "Rollcall-Webhooks/1" });
    expect(request!.headers["webhook-signature"]).to.match(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(request!.body.startsWith('{"type":"scimUser.provisioned","object":"event","timestamp":"')).to.equal(true);
    const payload = new Webhook(secret).verify(request!.body, headersOf(request!)) as Record<string, unknown>;
    expect(payload).to.include({ type: "scimUser.provisioned", object: "event" });
    expect(payload.timestamp).to.equal(new Date(clock.now()).toISOString());
    expect(payload.data).to.include({ organization_id: orgId, enterprise_connection_id: "conn_test" });

    expect(() => new Webhook(other.secret).verify(request!.body, headersOf(request!))).to.throw(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(request!.body.replace("org:member", "org:admin"), headersOf(request!))).to.throw(WebhookVerificationError);
  });

  it("delivers once more after a 500 and then stops, keeping both attempts in the log", async () => {
    const { orgId } = await orgWithEndpoint();
    const msgId = await record(orgId, `user_${unique()}`);
    receiver.scriptFor(msgId, { status: 500, body: "x".repeat(2_000) });
    const { dispatcher, metrics } = newDispatcher();

    await drain(dispatcher);
    expect(receiver.receivedFor(msgId)).to.have.length(1);
    clock.advance(RETRY_DELAYS_MS[0]! - 1);
    await drain(dispatcher);
    expect(receiver.receivedFor(msgId), "not before the 5 s backoff").to.have.length(1);
    clock.advance(1);
    await drain(dispatcher);
    expect(receiver.receivedFor(msgId)).to.have.length(2);
    clock.advance(2 * 24 * 3_600_000);
    await drain(dispatcher);
    expect(receiver.receivedFor(msgId), "nothing after the success").to.have.length(2);

    const delivery = await deliveryOf(orgId, msgId);
    expect(delivery).to.include({ status: "succeeded", attempt_count: 2, next_attempt_at: null });
    expect(delivery.attempts.map((a: { status_code: number }) => a.status_code)).to.deep.equal([500, 200]);
    expect(delivery.attempts[0].response_excerpt).to.have.length(500);
    expect(delivery.attempts[0].error).to.equal("HTTP 500");
    expect(delivery.attempts[1]).to.include({ response_excerpt: "ok", error: null });
    const counts = (await metrics.webhookDeliveries.get()).values.map((v) => [v.labels.outcome, v.value]);
    expect(counts).to.deep.include.members([["retry", 1], ["success", 1]]);
  });

  it("records an attempt whose response holds U+0000 (which PostgreSQL text cannot) with U+FFFD in its place", async () => {
    const { orgId } = await orgWithEndpoint();
    const msgId = await record(orgId, `user_${unique()}`);
    receiver.scriptFor(msgId, { status: 200, body: "ok\u0000done" });
    await drain(newDispatcher().dispatcher);
    const delivery = await deliveryOf(orgId, msgId);
    expect(delivery).to.include({ status: "succeeded", attempt_count: 1 });
    expect(delivery.attempts[0]).to.include({ status_code: 200, response_excerpt: "ok\uFFFDdone" });
  });

  it("retries a receiver that is down on the backoff schedule, then marks the delivery failed", async () => {
    expect(RETRY_DELAYS_MS, "5 s, 5 min, 30 min, 2 h, 5 h, 10 h").to.deep.equal([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000]);
    const { orgId } = await orgWithEndpoint();
    await receiver.close();
    const msgId = await record(orgId, `user_${unique()}`);
    // The per-delivery schedule alone: the endpoint's circuit breaker is covered by webhookIsolation.test.ts.
    const { dispatcher, metrics } = newDispatcher({ circuitFailureThreshold: 100 });
    const started = clock.now().getTime();

    await drain(dispatcher);
    expect((await deliveryOf(orgId, msgId)).attempts).to.have.length(1);
    for (const [index, delay] of RETRY_DELAYS_MS.entries()) {
      clock.advance(delay - 1);
      await drain(dispatcher);
      expect((await deliveryOf(orgId, msgId)).attempts, `no attempt ${index + 2} before its time`).to.have.length(index + 1);
      clock.advance(1);
      await drain(dispatcher);
      expect((await deliveryOf(orgId, msgId)).attempts, `attempt ${index + 2} on time`).to.have.length(index + 2);
    }
    clock.advance(7 * 24 * 3_600_000);
    await drain(dispatcher);

    const delivery = await deliveryOf(orgId, msgId);
    expect(delivery).to.include({ status: "failed", attempt_count: MAX_ATTEMPTS, next_attempt_at: null });
    expect(delivery.attempts).to.have.length(MAX_ATTEMPTS);
    for (const attempt of delivery.attempts) {
      expect(attempt.status_code).to.equal(null);
      expect(attempt.error).to.match(/ECONNREFUSED/);
    }
    const offsets = delivery.attempts.map((a: { attempted_at: number }) => a.attempted_at - started);
    const expected = RETRY_DELAYS_MS.reduce<number[]>((acc, delay) => [...acc, acc.at(-1)! + delay], [0]);
    expect(offsets).to.deep.equal(expected);
    const failedList = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=failed`);
    expect(failedList.body.data.map((d: { id: string }) => d.id)).to.deep.equal([delivery.id]);
    const counts = (await metrics.webhookDeliveries.get()).values.map((v) => [v.labels.outcome, v.value]);
    expect(counts).to.deep.include.members([["retry", MAX_ATTEMPTS - 1], ["failed", 1]]);
  });

  it("delivers the events of one subject in order even when the first needs a retry", async () => {
    const { orgId } = await orgWithEndpoint();
    const subject = `user_${unique()}`;
    const first = await record(orgId, subject, "scimUser.provisioned");
    const second = await record(orgId, subject, "scimUser.deprovisioned");
    const third = await record(orgId, subject, "scimUser.provisioned");
    const unrelated = await record(orgId, `user_${unique()}`, "scimUser.updated");
    receiver.scriptFor(first, 503);
    const { dispatcher } = newDispatcher();

    await drain(dispatcher);
    const ids = () => receiver.received.map((r) => r.headers["webhook-id"]);
    expect(ids()).to.have.members([first, unrelated]);
    const waiting = await deliveryOf(orgId, second);
    expect(waiting).to.include({ status: "pending", attempt_count: 0 });

    clock.advance(RETRY_DELAYS_MS[0]!);
    await drain(dispatcher);
    expect(ids().filter((id) => id !== unrelated)).to.deep.equal([first, first, second, third]);
    const types = receiver.received.filter((r) => r.headers["webhook-id"] !== unrelated).map((r) => JSON.parse(r.body).type);
    expect(types).to.deep.equal(["scimUser.provisioned", "scimUser.provisioned", "scimUser.deprovisioned", "scimUser.provisioned"]);
  });

  it("lets an admin retry a failed delivery now, and re-send a succeeded one with the same webhook-id", async () => {
    const { orgId } = await orgWithEndpoint();
    const msgId = await record(orgId, `user_${unique()}`);
    receiver.scriptFor(msgId, ...Array.from({ length: MAX_ATTEMPTS }, () => 503));
    const { dispatcher } = newDispatcher({ circuitFailureThreshold: 100 });
    await drain(dispatcher);
    for (const delay of RETRY_DELAYS_MS) {
      clock.advance(delay);
      await drain(dispatcher);
    }
    const failed = await deliveryOf(orgId, msgId);
    expect(failed.status).to.equal("failed");

    const retried = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_deliveries/${failed.id}/retry`);
    expect(retried.status).to.equal(200);
    expect(retried.contentType).to.equal("application/json");
    expect(retried.body).to.include({ id: failed.id, object: "webhook_delivery", status: "pending", next_attempt_at: clock.now().getTime() });
    await drain(dispatcher);
    const succeeded = await deliveryOf(orgId, msgId);
    expect(succeeded).to.include({ status: "succeeded", attempt_count: MAX_ATTEMPTS + 1 });
    expect(succeeded.attempts.at(-1).status_code).to.equal(200);

    expect((await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_deliveries/${failed.id}/retry`)).status).to.equal(200);
    await drain(dispatcher);
    const sent = receiver.receivedFor(msgId);
    expect(sent).to.have.length(MAX_ATTEMPTS + 2);
    expect(sent.at(-1)!.body).to.equal(sent[0]!.body);
    expect((await deliveryOf(orgId, msgId)).status).to.equal("succeeded");
  });

  it("does not follow a redirect: a 3xx is a failed attempt", async () => {
    const elsewhere = await startWebhookReceiver();
    try {
      const { orgId } = await orgWithEndpoint();
      const msgId = await record(orgId, null);
      receiver.scriptFor(msgId, { status: 307, headers: { location: elsewhere.url } });
      await drain(newDispatcher().dispatcher);
      expect(receiver.receivedFor(msgId)).to.have.length(1);
      expect(elsewhere.received).to.have.length(0);
      const delivery = await deliveryOf(orgId, msgId);
      expect(delivery.status).to.equal("pending");
      expect(delivery.attempts[0]).to.include({ status_code: 307, error: "redirects are not followed" });
    } finally {
      await elsewhere.close();
    }
  });

  it("gives up on a slow receiver after the configured timeout and schedules a retry", async () => {
    const { orgId } = await orgWithEndpoint();
    const msgId = await record(orgId, null);
    receiver.scriptFor(msgId, { status: 200, delayMs: 3_000 });
    await drain(newDispatcher({ timeoutMs: 200 }).dispatcher);
    const delivery = await deliveryOf(orgId, msgId);
    expect(delivery.status).to.equal("pending");
    expect(delivery.next_attempt_at).to.equal(clock.now().getTime() + RETRY_DELAYS_MS[0]!);
    expect(delivery.attempts[0].status_code).to.equal(null);
    expect(delivery.attempts[0].error).to.equal("timed out after 200 ms");
    expect(delivery.attempts[0].latency_ms).to.be.within(150, 2_500);
  });

  it("refuses at delivery time to send to a private address when private URLs are not allowed", async () => {
    const { orgId: literalOrg } = await orgWithEndpoint();
    const { orgId: namedOrg } = await orgWithEndpoint(receiver.url.replace("127.0.0.1", "localhost"));
    const literal = await record(literalOrg, null);
    const named = await record(namedOrg, null);
    await drain(newDispatcher({ allowPrivateUrls: false }).dispatcher);
    expect(receiver.received).to.have.length(0);
    expect((await deliveryOf(literalOrg, literal)).attempts[0].error).to.match(/refused: 127\.0\.0\.1 is not a public address/);
    expect((await deliveryOf(namedOrg, named)).attempts[0].error).to.match(/localhost resolves to .* which is not a public address/);
  });
});
