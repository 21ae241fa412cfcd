import { expect } from "chai";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { QueryTypes, type Sequelize } from "sequelize";
import { admin } from "../helpers/http.ts";
import { unique } from "../helpers/factories.ts";
import { freePort } from "../helpers/freePort.ts";
import { createManualClock, startIsolatedService, startWebhookReceiver, type WebhookReceiver } from "../helpers/webhookReceiver.ts";
import type { Service } from "../../server/main.ts";
import { systemClock, type Clock } from "../../server/context.ts";
import { createSequelize } from "../../server/db/database.ts";
import { createMetrics, type Metrics } from "../../server/metrics.ts";
import { createDispatcher, type Dispatcher } from "../../server/webhooks/dispatcher.ts";
import { recordEvent } from "../../server/webhooks/outbox.ts";

/** A consumer that misbehaves in one way, on its own port. */
type BadConsumer = { url: string; requests: number; close(): Promise<void> };

async function startBadConsumer(answer: (res: ServerResponse) => void): Promise<BadConsumer> {
  const consumer = { url: "", requests: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    consumer.requests++;
    req.resume();
    req.on("end", () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  consumer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  consumer.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return consumer;
}

function recordFor(sequelize: Sequelize, clock: Clock, orgId: string, subjectId: string | null, type: "scimUser.updated" | "scimUser.provisioned" = "scimUser.updated") {
  const data = { user: { id: subjectId }, enterprise_connection_id: "conn_test" };
  return sequelize.transaction((t) => recordEvent(sequelize, t, { organizationId: orgId, type, subjectId, data }, clock.now()));
}

/** A dispatcher on a pool of its own (as `rollcall serve` gives its worker), with the real clock and the given request timeout. */
function dispatcherOnItsOwnPool(service: Service, databaseUrl: string, timeoutMs: number) {
  const pool = createSequelize(databaseUrl, service.deps.config, service.deps.logger, 3);
  const dispatcher = createDispatcher({
    sequelize: pool,
    logger: service.deps.logger,
    metrics: createMetrics({ defaultMetrics: false }),
    clock: systemClock,
    config: { webhooks: { ...service.deps.config.webhooks, timeoutMs } },
    listenUrl: databaseUrl,
  });
  return { pool, dispatcher };
}

describe("webhook isolation: one tenant's broken consumer never stalls another's", () => {
  describe("with the real clock and a running dispatcher", () => {
    let service: Service;
    let databaseUrl: string | undefined;
    let stopService: () => Promise<void>;
    before(async () => {
      ({ service, databaseUrl, stop: stopService } = await startIsolatedService());
    });
    after(async () => {
      await stopService();
    });

    it("keeps a healthy consumer under 2 s while others hang, answer 500, answer after 5 s or refuse connections", async function () {
      // The embedded database is one connection shared by the noisy writers and the dispatcher.
      if (!databaseUrl) this.skip();
      this.timeout(60_000);
      const sequelize = service.deps.db.sequelize;
      const healthy = await startWebhookReceiver();
      const hanging = await startBadConsumer(() => {});
      const failing = await startBadConsumer((res) => res.writeHead(500).end("down"));
      const slow = await startBadConsumer((res) => setTimeout(() => !res.destroyed && res.writeHead(200).end("ok"), 5_000));
      const refusing = `http://127.0.0.1:${await freePort()}/hooks`;
      const bad = [hanging.url, failing.url, slow.url, refusing];
      const badOrgs: string[] = [];
      for (const url of bad) {
        const org = await admin(service.url!, "POST", "/v1/organizations", { name: `Noisy ${unique()}` });
        expect((await admin(service.url!, "POST", `/v1/organizations/${org.body.id}/webhook_endpoints`, { url })).status).to.equal(201);
        badOrgs.push(org.body.id);
      }
      const quiet = await admin(service.url!, "POST", "/v1/organizations", { name: `Quiet ${unique()}` });
      expect((await admin(service.url!, "POST", `/v1/organizations/${quiet.body.id}/webhook_endpoints`, { url: healthy.url })).status).to.equal(201);

      // The setting: a 10 s request timeout, the production default.
      // Its own pool, as the dispatcher worker of `rollcall serve` has: the noisy writers below would
      // otherwise hold every connection of the service's pool.
      const { pool, dispatcher } = dispatcherOnItsOwnPool(service, databaseUrl!, 10_000);
      dispatcher.start();
      try {
        // Each noisy organization provisions 200 users while the quiet one changes 3 users, 20 times each.
        const noise = Promise.all(
          badOrgs.map(async (orgId) => {
            for (let i = 0; i < 200; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => recordFor(sequelize, systemClock, orgId, `user_${i + k}`, "scimUser.provisioned")));
          }),
        );
        const subjects = ["user_a", "user_b", "user_c"];
        const expected = new Map<string, string[]>(subjects.map((s) => [s, []]));
        const recordedAt = new Map<string, number>();
        for (let round = 0; round < 20; round++) {
          for (const subject of subjects) {
            const msgId = await recordFor(sequelize, systemClock, quiet.body.id, subject);
            recordedAt.set(msgId, Date.now());
            expected.get(subject)!.push(msgId);
          }
          await new Promise((resolve) => setTimeout(resolve, 150));
        }
        await noise;
        await healthy.waitFor(60, 15_000);

        const firstArrival = new Map<string, number>();
        for (const request of healthy.received) {
          const id = String(request.headers["webhook-id"]);
          if (!firstArrival.has(id)) firstArrival.set(id, request.receivedAt);
        }
        const latencies = [...recordedAt].map(([id, at]) => firstArrival.get(id)! - at);
        expect(Math.max(...latencies), `latencies ${latencies.join(", ")} ms`).to.be.below(2_000);
        const order = healthy.received.map((r) => String(r.headers["webhook-id"]));
        for (const [subject, ids] of expected) {
          const positions = ids.map((id) => order.indexOf(id));
          expect(positions, `order of ${subject}`).to.deep.equal([...positions].sort((a, b) => a - b));
        }
        // The broken consumers were backed off, not sent one request per event.
        expect(failing.requests, "requests to the consumer answering 500").to.be.below(50);
      } finally {
        await Promise.all([hanging.close(), failing.close(), slow.close()]);
        await dispatcher.stop();
        await pool.close();
        await healthy.close();
        await sequelize.query(`UPDATE webhook_deliveries SET status = 'failed' WHERE status = 'pending'`);
      }
    });

    it("logs a healthy endpoint's delivery at once, without waiting behind the breaker's write for a failing one", async function () {
      // Needs a second connection to hold the failing endpoint's row; the embedded database has one.
      if (!databaseUrl) this.skip();
      this.timeout(30_000);
      const sequelize = service.deps.db.sequelize;
      const healthy = await startWebhookReceiver();
      const failing = await startBadConsumer((res) => res.writeHead(500).end("down"));
      const failingOrg = await admin(service.url!, "POST", "/v1/organizations", { name: `Failing ${unique()}` });
      const failingEndpoint = await admin(service.url!, "POST", `/v1/organizations/${failingOrg.body.id}/webhook_endpoints`, { url: failing.url });
      const healthyOrg = await admin(service.url!, "POST", "/v1/organizations", { name: `Healthy ${unique()}` });
      expect((await admin(service.url!, "POST", `/v1/organizations/${healthyOrg.body.id}/webhook_endpoints`, { url: healthy.url })).status).to.equal(201);

      const { pool, dispatcher } = dispatcherOnItsOwnPool(service, databaseUrl!, 5_000);
      // The breaker's write for the failing endpoint updates its row: held here, that write waits
      // (as it waits in production behind another dispatcher parking the endpoint's queue).
      const holder = createSequelize(databaseUrl!, service.deps.config, service.deps.logger, 1);
      const held = await holder.transaction();
      await holder.query("SELECT id FROM webhook_endpoints WHERE id = $1 FOR NO KEY UPDATE", { bind: [failingEndpoint.body.id], transaction: held });
      dispatcher.start();
      try {
        await recordFor(sequelize, systemClock, failingOrg.body.id, "user_f");
        const until = Date.now() + 10_000;
        while (failing.requests === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(failing.requests, "the failing consumer was called").to.be.above(0);
        await new Promise((resolve) => setTimeout(resolve, 300));

        const msgId = await recordFor(sequelize, systemClock, healthyOrg.body.id, "user_h");
        await healthy.waitFor(1, 5_000);
        let status = "";
        for (const stop = Date.now() + 5_000; Date.now() < stop; await new Promise((resolve) => setTimeout(resolve, 50))) {
          const [row] = await sequelize.query<{ status: string }>("SELECT status FROM webhook_deliveries WHERE event_id = $1", { bind: [msgId], type: QueryTypes.SELECT });
          status = row!.status;
          if (status === "succeeded") break;
        }
        expect(status, "the healthy delivery is logged while the failing endpoint's breaker write waits").to.equal("succeeded");
      } finally {
        await held.rollback();
        await holder.close();
        await dispatcher.stop();
        await pool.close();
        await failing.close();
        await healthy.close();
        await sequelize.query(`UPDATE webhook_deliveries SET status = 'failed' WHERE status = 'pending'`);
      }
    });
  });

  describe("the circuit breaker, with a manual clock", () => {
    const clock = createManualClock();
    let service: Service;
    let stopService: () => Promise<void>;
    let receiver: WebhookReceiver;
    let dispatcher: Dispatcher;
    let metrics: Metrics;
    const orgs: string[] = [];
    const base = () => service.url!;
    const sequelize = () => service.deps.db.sequelize;

    before(async () => {
      ({ service, stop: stopService } = await startIsolatedService({ clock }));
    });
    after(async () => {
      await stopService();
    });
    beforeEach(async () => {
      clock.set(new Date());
      receiver = await startWebhookReceiver();
      metrics = createMetrics({ defaultMetrics: false });
      const webhooks = { ...service.deps.config.webhooks, circuitFailureThreshold: 3, disableAfterMs: 3_600_000 };
      dispatcher = createDispatcher({ sequelize: sequelize(), logger: service.deps.logger, metrics, clock, config: { webhooks } }, { random: () => 0 });
    });
    afterEach(async () => {
      await dispatcher.stop();
      await receiver.close();
      await sequelize().query(`UPDATE webhook_deliveries SET status = 'failed' WHERE organization_id = ANY ($1::text[]) AND status = 'pending'`, { bind: [orgs] });
    });

    async function drain(): Promise<void> {
      while ((await dispatcher.runOnce()) > 0);
    }

    async function orgWithEndpoint(body: Record<string, unknown>): Promise<{ orgId: string; endpointId: string }> {
      const org = await admin(base(), "POST", "/v1/organizations", { name: `Breaker ${unique()}` });
      orgs.push(org.body.id);
      const endpoint = await admin(base(), "POST", `/v1/organizations/${org.body.id}/webhook_endpoints`, body);
      expect(endpoint.status).to.equal(201);
      return { orgId: org.body.id, endpointId: endpoint.body.id };
    }

    const endpointOf = async (orgId: string, id: string) => (await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints/${id}`)).body;
    const transitions = async () => Object.fromEntries((await metrics.webhookCircuitTransitions.get()).values.map((v) => [v.labels.transition, v.value]));

    it("backs a failing endpoint off as a whole, probes it one request at a time, and releases its queue in order when it answers", async () => {
      const { orgId, endpointId } = await orgWithEndpoint({ url: receiver.url });
      const subjects = [`user_${unique()}`, `user_${unique()}`];
      const recorded = new Map<string, string[]>(subjects.map((s) => [s, []]));
      for (let i = 0; i < 5; i++) for (const s of subjects) recorded.get(s)!.push(await recordFor(sequelize(), clock, orgId, s));
      receiver.script(500, 500, 500, 500);

      await drain();
      expect(receiver.received, "both subjects' first events, answered 500").to.have.length(2);
      clock.advance(5_000);
      await drain();
      expect(receiver.received, "a failing endpoint gets one request at a time").to.have.length(3);
      const opened = await endpointOf(orgId, endpointId);
      expect(opened).to.include({ circuit_state: "open", consecutive_failures: 3, enabled: true });
      const parked = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=pending&limit=20`);
      expect(parked.body.data.map((d: { next_attempt_at: unknown }) => d.next_attempt_at)).to.deep.equal(Array(10).fill(null));

      clock.advance(4_999);
      await drain();
      expect(receiver.received, "nothing before the cooldown, not even the deliveries' own retries").to.have.length(3);
      clock.advance(1);
      await drain();
      expect(receiver.received, "one probe (answered 500)").to.have.length(4);
      expect((await endpointOf(orgId, endpointId)).circuit_state).to.equal("open");
      clock.advance(29_999);
      await drain();
      expect(receiver.received, "the second cooldown is longer").to.have.length(4);
      clock.advance(1);
      await drain();

      expect((await endpointOf(orgId, endpointId))).to.include({ circuit_state: "closed", consecutive_failures: 0 });
      const arrivals = receiver.received.map((r) => String(r.headers["webhook-id"]));
      expect(new Set(arrivals)).to.deep.equal(new Set([...recorded.values()].flat()));
      for (const [subject, ids] of recorded) {
        const firsts = ids.map((id) => arrivals.indexOf(id));
        expect(firsts, `order of ${subject}`).to.deep.equal([...firsts].sort((a, b) => a - b));
      }
      expect(await transitions()).to.deep.equal({ opened: 1, reopened: 1, closed: 1 });
    });

    it("disables an endpoint that failed for the configured period, tells the organization, and PATCH enabled=true sends what waited", async () => {
      const refusing = `http://127.0.0.1:${await freePort()}/hooks`;
      const { orgId, endpointId } = await orgWithEndpoint({ url: refusing });
      const watcher = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: receiver.url, events: ["webhookEndpoint.disabled"] });
      const waiting = [await recordFor(sequelize(), clock, orgId, "user_1"), await recordFor(sequelize(), clock, orgId, "user_2"), await recordFor(sequelize(), clock, orgId, "user_3")];
      const started = clock.now().getTime();

      await drain();
      expect((await endpointOf(orgId, endpointId)).circuit_state).to.equal("open");
      clock.advance(5_000);
      await drain();
      clock.advance(3_600_000);
      await drain();

      const disabled = await endpointOf(orgId, endpointId);
      expect(disabled).to.include({ enabled: false, disabled_reason: "failing", circuit_state: "closed", failing_since: started });
      const [notice] = receiver.received;
      expect(notice, "the organization's other endpoint heard about it").to.exist;
      const body = JSON.parse(notice!.body);
      expect(body.type).to.equal("webhookEndpoint.disabled");
      expect(body.data.webhook_endpoint).to.include({ id: endpointId, url: refusing, disabled_reason: "failing", failing_since: started });
      expect((await metrics.webhookEndpointsDisabled.get()).values[0]!.value).to.equal(1);
      const [audit] = await sequelize().query<{ action: string; actor_type: string }>(`SELECT action, actor_type FROM audit_log WHERE subject_id = $1`, {
        bind: [endpointId],
        type: QueryTypes.SELECT,
      });
      expect(audit).to.include({ action: "webhook_endpoint.disabled", actor_type: "system" });
      const pending = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=pending&endpoint_id=${endpointId}`);
      expect(pending.body.data, "nothing was lost: the deliveries wait, parked").to.have.length(3);

      await recordFor(sequelize(), clock, orgId, "user_4");
      expect((await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=pending&endpoint_id=${endpointId}`)).body.data).to.have.length(3);

      const patched = await admin(base(), "PATCH", `/v1/organizations/${orgId}/webhook_endpoints/${endpointId}`, { url: receiver.url, enabled: true });
      expect(patched.status).to.equal(200);
      expect(patched.body).to.include({ enabled: true, disabled_reason: null, circuit_state: "closed", consecutive_failures: 0, url: receiver.url });
      await drain();
      const sent = receiver.received.map((r) => String(r.headers["webhook-id"]));
      expect(sent).to.include.members(waiting);
      expect(watcher.status).to.equal(201);
    });
  });
});
