import { expect } from "chai";
import { QueryTypes, type Sequelize } from "sequelize";
import { serverUrl } from "../helpers/testDatabase.ts";
import { admin, request } from "../helpers/http.ts";
import { unique } from "../helpers/factories.ts";
import { createManualClock, startIsolatedService, startWebhookReceiver, type WebhookReceiver } from "../helpers/webhookReceiver.ts";
import type { Service } from "../../server/main.ts";
import { systemClock } from "../../server/context.ts";
import { createSequelize } from "../../server/db/database.ts";
import { createMetrics } from "../../server/metrics.ts";
import { createDispatcher, dispatcherWorker, type Dispatcher } from "../../server/webhooks/dispatcher.ts";
import { claimDue } from "../../server/webhooks/deliveryStore.ts";
import { recordEvent } from "../../server/webhooks/outbox.ts";

async function createOrgAndEndpoint(baseUrl: string, url: string): Promise<string> {
  const org = await admin(baseUrl, "POST", "/v1/organizations", { name: `Dispatch ${unique()}` });
  const endpoint = await admin(baseUrl, "POST", `/v1/organizations/${org.body.id}/webhook_endpoints`, { url });
  expect(endpoint.status).to.equal(201);
  return org.body.id;
}

function recordUserEvent(sequelize: Sequelize, orgId: string, subjectId: string, now: Date): Promise<string> {
  return sequelize.transaction((t) =>
    recordEvent(sequelize, t, { organizationId: orgId, type: "scimUser.updated", subjectId, data: { user: { id: subjectId } } }, now),
  );
}

async function pendingCount(sequelize: Sequelize, orgId: string): Promise<number> {
  const [row] = await sequelize.query<{ n: number }>(`SELECT count(*) AS n FROM webhook_deliveries WHERE organization_id = $1 AND status = 'pending'`, {
    bind: [orgId],
    type: QueryTypes.SELECT,
  });
  return row!.n;
}

describe("webhook dispatchers: sharing work, crash safety, the background worker", () => {
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  it("two dispatchers on separate pools deliver every event, in order per subject", async function () {
    if (!serverUrl) this.skip(); // the embedded database takes one connection
    this.timeout(60_000);
    const isolated = await startIsolatedService();
    const { service } = isolated;
    const orgId = await createOrgAndEndpoint(service.url!, receiver.url);
    const { config, logger } = service.deps;
    const pools = [0, 1].map(() => createSequelize(isolated.databaseUrl!, config, logger, 5));
    const metrics = pools.map(() => createMetrics({ defaultMetrics: false }));
    const dispatchers: Dispatcher[] = pools.map((sequelize, i) =>
      createDispatcher({ sequelize, logger, metrics: metrics[i]!, clock: systemClock, config }, { batchSize: 5, idleMs: 20 }),
    );
    try {
      const sequelize = service.deps.db.sequelize;
      const subjects = Array.from({ length: 20 }, () => `user_${unique()}`);
      const recorded = new Map<string, string[]>(subjects.map((s) => [s, []]));
      for (let round = 0; round < 15; round++) {
        for (const subject of subjects) recorded.get(subject)!.push(await recordUserEvent(sequelize, orgId, subject, new Date()));
      }
      for (const dispatcher of dispatchers) dispatcher.start();
      const deadline = Date.now() + 45_000;
      while ((await pendingCount(sequelize, orgId)) > 0) {
        if (Date.now() > deadline) throw new Error("deliveries still pending after 45 s");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await Promise.all(dispatchers.map((d) => d.stop()));

      const allIds = [...recorded.values()].flat();
      const arrivals = receiver.received.map((r) => String(r.headers["webhook-id"]));
      expect(new Set(arrivals), "every event arrived (dedupe by webhook-id)").to.deep.equal(new Set(allIds));
      for (const [subject, ids] of recorded) {
        const firstArrival = ids.map((id) => arrivals.indexOf(id));
        expect(firstArrival, `order of ${subject}`).to.deep.equal([...firstArrival].sort((a, b) => a - b));
      }
      const sent = await Promise.all(metrics.map(async (m) => (await m.webhookDeliveries.get()).values.reduce((sum, v) => sum + v.value, 0)));
      expect(sent[0]! + sent[1]!).to.be.at.least(allIds.length);
      expect(sent[0], "the first dispatcher took a share").to.be.above(0);
      expect(sent[1], "the second dispatcher took a share").to.be.above(0);
    } finally {
      await Promise.all(dispatchers.map((d) => d.stop()));
      await Promise.all(pools.map((p) => p.close()));
      await isolated.stop();
    }
  });

  describe("with a manual clock", () => {
    const clock = createManualClock();
    let service: Service;
    let stopService: () => Promise<void>;
    let dispatcher: Dispatcher;
    const sequelize = () => service.deps.db.sequelize;
    before(async function () {
      this.timeout(60_000); // embedded mode: a database of its own, initialised and migrated
      ({ service, stop: stopService } = await startIsolatedService({ clock }));
    });
    after(async () => {
      await stopService?.();
    });
    beforeEach(() => {
      clock.set(new Date());
      const deps = service.deps;
      dispatcher = createDispatcher({ sequelize: sequelize(), logger: deps.logger, metrics: createMetrics({ defaultMetrics: false }), clock, config: deps.config });
    });
    afterEach(async () => {
      await dispatcher.stop();
    });

    it("sends a delivery again when the dispatcher that claimed it died before recording", async () => {
      const orgId = await createOrgAndEndpoint(service.url!, receiver.url);
      const msgId = await recordUserEvent(sequelize(), orgId, `user_${unique()}`, clock.now());
      const leaseUntil = new Date(clock.now().getTime() + 70_000);
      const crashed = await claimDue(sequelize(), { now: clock.now(), leaseUntil, limit: 1_000, inFlight: new Map(), saturated: [], initialRoom: 4 });
      expect(crashed.map((c) => c.event_id)).to.include(msgId);

      await dispatcher.runOnce();
      expect(receiver.receivedFor(msgId), "still leased").to.have.length(0);
      clock.set(new Date(leaseUntil.getTime() - 1));
      await dispatcher.runOnce();
      expect(receiver.receivedFor(msgId), "still leased").to.have.length(0);
      clock.advance(1);
      while ((await dispatcher.runOnce()) > 0);
      expect(receiver.receivedFor(msgId)).to.have.length(1);
      const res = await admin(service.url!, "GET", `/v1/organizations/${orgId}/webhook_deliveries`);
      expect(res.body.data[0]).to.include({ status: "succeeded", attempt_count: 2 });
      expect(res.body.data[0].attempts).to.have.length(1);
    });

    it("never sends a delivery whose endpoint was deleted while its event was being recorded, and ends it", async () => {
      const orgId = await createOrgAndEndpoint(service.url!, receiver.url);
      const msgId = await recordUserEvent(sequelize(), orgId, `user_${unique()}`, clock.now());
      // As if the delete committed after the event's fan-out read the endpoint.
      await sequelize().query(`UPDATE webhook_endpoints SET deleted_at = $2 WHERE organization_id = $1`, { bind: [orgId, clock.now()] });
      while ((await dispatcher.runOnce()) > 0);
      expect(receiver.receivedFor(msgId)).to.have.length(0);
      expect(await pendingCount(sequelize(), orgId)).to.equal(1);
      await dispatcher.housekeeping();
      expect(await pendingCount(sequelize(), orgId)).to.equal(0);
      const res = await admin(service.url!, "GET", `/v1/organizations/${orgId}/webhook_deliveries?status=failed`);
      expect(res.body.data.map((d: { event_id: string }) => d.event_id)).to.deep.equal([msgId]);
    });

    it("after a burst, housekeeping sets the outbox gauge and refreshes the planner statistics of the queue", async function () {
      this.timeout(60_000); // 1,100 events: the embedded database writes them one statement at a time
      const orgId = await createOrgAndEndpoint(service.url!, receiver.url);
      const metrics = createMetrics({ defaultMetrics: false });
      const deps = service.deps;
      const local = createDispatcher({ sequelize: sequelize(), logger: deps.logger, metrics, clock, config: deps.config });
      const lastAnalyze = async () =>
        (await sequelize().query<{ n: number }>(`SELECT analyze_count + autoanalyze_count AS n FROM pg_stat_user_tables WHERE relname = 'webhook_deliveries'`, { type: QueryTypes.SELECT }))[0]!.n;
      try {
        const before = await lastAnalyze();
        await sequelize().transaction(async (t) => {
          for (let i = 0; i < 1_100; i++) {
            await recordEvent(sequelize(), t, { organizationId: orgId, type: "scimUser.updated", subjectId: `user_${i}`, data: {} }, clock.now());
          }
        });
        await local.housekeeping();
        expect((await metrics.webhookOutboxPending.get()).values[0]!.value).to.equal(await pendingCount(sequelize(), orgId));
        expect(await pendingCount(sequelize(), orgId)).to.equal(1_100);
        expect(await lastAnalyze()).to.be.above(before);
      } finally {
        await local.stop();
        await sequelize().query(`UPDATE webhook_deliveries SET status = 'failed' WHERE organization_id = $1 AND status = 'pending'`, { bind: [orgId] });
      }
    });
  });

  it("runs as a background worker of the service and reports Prometheus metrics", async function () {
    this.timeout(60_000); // embedded mode: a database of its own, initialised and migrated
    const { service, stop } = await startIsolatedService({ workers: [dispatcherWorker] });
    try {
      const orgId = await createOrgAndEndpoint(service.url!, receiver.url);
      const msgId = await recordUserEvent(service.deps.db.sequelize, orgId, `user_${unique()}`, new Date());
      await receiver.waitFor(1);
      expect(receiver.received.map((r) => r.headers["webhook-id"])).to.include(msgId);
      let text = "";
      for (let tries = 0; tries < 50 && !/outcome="success"/.test(text); tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        text = (await request(service.url!, "GET", "/metrics")).text;
      }
      expect(text).to.match(/^rollcall_webhook_deliveries_total\{event="scimUser\.updated",outcome="success"\} [1-9]/m);
      expect(text).to.match(/^rollcall_webhook_outbox_pending \d+$/m);
    } finally {
      await stop();
    }
  });
});
