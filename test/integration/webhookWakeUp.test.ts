import { expect } from "chai";
import type { Sequelize } from "sequelize";
import { admin } from "../helpers/http.ts";
import { unique } from "../helpers/factories.ts";
import { startIsolatedService, startWebhookReceiver } from "../helpers/webhookReceiver.ts";
import type { Service } from "../../server/main.ts";
import { systemClock } from "../../server/context.ts";
import { createSequelize } from "../../server/db/database.ts";
import { createMetrics } from "../../server/metrics.ts";
import { createDispatcher } from "../../server/webhooks/dispatcher.ts";
import { recordEvent } from "../../server/webhooks/outbox.ts";
import { WEBHOOKS_DUE_CHANNEL } from "../../server/webhooks/wakeUp.ts";
import { listenForNotifications } from "../../server/db/notificationListener.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function userEvent(orgId: string) {
  return { organizationId: orgId, type: "scimUser.updated" as const, subjectId: `user_${unique()}`, data: { user: {}, enterprise_connection_id: "conn_test" } };
}

describe("webhooks: waking the dispatcher on commit (server/webhooks/wakeUp.ts)", () => {
  let service: Service;
  let databaseUrl: string | undefined;
  let stopService: () => Promise<void>;
  before(async () => {
    ({ service, databaseUrl, stop: stopService } = await startIsolatedService());
  });
  after(async () => {
    await stopService();
  });

  it("wakes an idle dispatcher of the writer's process when the transaction commits, long before its next poll", async function () {
    this.timeout(30_000);
    const sequelize = service.deps.db.sequelize;
    const receiver = await startWebhookReceiver();
    const org = await admin(service.url!, "POST", "/v1/organizations", { name: `Wake ${unique()}` });
    expect((await admin(service.url!, "POST", `/v1/organizations/${org.body.id}/webhook_endpoints`, { url: receiver.url })).status).to.equal(201);
    // A pool of its own on the same database, as `rollcall serve` gives its dispatcher, and no
    // LISTEN: only the in-process announcement can wake it before its poll.
    const pool: Sequelize = databaseUrl ? createSequelize(databaseUrl, service.deps.config, service.deps.logger, 3) : sequelize;
    const dispatcher = createDispatcher(
      { sequelize: pool, logger: service.deps.logger, metrics: createMetrics({ defaultMetrics: false }), clock: systemClock, config: service.deps.config },
      { idleMs: 20_000 },
    );
    dispatcher.start();
    try {
      // Idle long enough that its sleep between polls has grown to seconds (it doubles from 10 ms).
      await sleep(3_000);
      const latencies: number[] = [];
      for (let i = 0; i < 3; i++) {
        const committedAt = Date.now();
        await sequelize.transaction((t) => recordEvent(sequelize, t, userEvent(org.body.id), new Date()));
        await receiver.waitFor(i + 1, 10_000);
        latencies.push(receiver.received[i]!.receivedAt - committedAt);
        await sleep(2_500);
      }
      // By its poll alone each would wait 1–10 s; woken by the commit, it claims at once.
      expect(Math.max(...latencies), `latencies ${latencies.join(", ")} ms`).to.be.below(1_000);
    } finally {
      await dispatcher.stop();
      if (pool !== sequelize) await pool.close();
      await receiver.close();
    }
  });

  it("has a writer with no dispatcher in its process NOTIFY others after its commit, not before, and nothing for a rollback", async function () {
    if (!databaseUrl) this.skip(); // the embedded database is one process: no one else to tell
    this.timeout(30_000);
    const sequelize = service.deps.db.sequelize;
    const org = await admin(service.url!, "POST", "/v1/organizations", { name: `Notify ${unique()}` });
    let heard = 0;
    let listening!: () => void;
    const ready = new Promise<void>((resolve) => (listening = resolve));
    const listener = listenForNotifications(databaseUrl!, WEBHOOKS_DUE_CHANNEL, { onListening: () => listening(), onMessage: () => heard++, onLost: () => {} }, service.deps.logger);
    try {
      await ready;
      const rolledBack = sequelize.transaction(async (t) => {
        await recordEvent(sequelize, t, userEvent(org.body.id), new Date());
        throw new Error("roll back");
      });
      await rolledBack.catch(() => undefined);
      const t = await sequelize.transaction();
      await recordEvent(sequelize, t, userEvent(org.body.id), new Date());
      await sleep(500);
      expect(heard, "notifications before the commit").to.equal(0);
      await t.commit();
      const deadline = Date.now() + 5_000;
      while (heard === 0 && Date.now() < deadline) await sleep(20);
      expect(heard, "notifications after the commit").to.equal(1);
    } finally {
      await listener.close();
    }
  });
});
