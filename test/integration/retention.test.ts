import { expect } from "chai";
import { QueryTypes, type Sequelize } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { createManualClock } from "../helpers/webhookReceiver.ts";
import { createMetrics } from "../../server/metrics.ts";
import { createLogger } from "../../server/logger.ts";
import { runRetention, type RetentionSettings } from "../../server/retention/retentionJob.ts";

/*
 * Rows are moved into 2001 by hand and the job runs on a clock set to 2001, so its cutoff lies
 * before every row other tests wrote (2026): the pass can only touch this test's rows, on a shared
 * database, without waiting 30 days.
 */
const base = () => shared.service.url!;
const sequelize = (): Sequelize => shared.service.deps.db.sequelize;
const JOB_NOW = new Date("2001-03-01T00:00:00Z");
const OLD = "2001-01-01T00:00:00Z"; // 59 days before JOB_NOW
const RECENT = "2001-02-20T00:00:00Z"; // 9 days before JOB_NOW
const THIRTY_DAYS: RetentionSettings = { requestLogDays: 30, eventDays: 30, deliveryAttemptDays: 30 };

async function sql<T extends object>(text: string, bind: unknown[]): Promise<T[]> {
  return sequelize().query<T>(text, { bind, type: QueryTypes.SELECT });
}

function run(settings: RetentionSettings = THIRTY_DAYS) {
  const metrics = createMetrics({ defaultMetrics: false });
  const deps = { sequelize: sequelize(), logger: createLogger("silent"), metrics, clock: createManualClock(JOB_NOW) };
  return { metrics, result: runRetention(deps, settings, { batchSize: 2 }) };
}

/** An organization with a webhook endpoint and `users` provisioned users (each an event and a pending delivery). */
async function orgWithUsers(users: number) {
  const org = await createOrgWithToken(base());
  const endpoint = await admin(base(), "POST", `/v1/organizations/${org.orgId}/webhook_endpoints`, { url: "http://127.0.0.1:9/hook" });
  expect(endpoint.status).to.equal(201);
  for (let i = 0; i < users; i++) expect((await scim(base(), org.token, "POST", "/Users", scimUserBody())).status).to.equal(201);
  await shared.service.deps.requestLog.flush();
  return org;
}

describe("retention job", () => {
  it("deletes SCIM request-log rows older than the retention and keeps younger ones", async () => {
    const org = await orgWithUsers(3);
    const ids = (await sql<{ id: string }>(`SELECT id FROM scim_request_log WHERE organization_id = $1 ORDER BY id`, [org.orgId])).map((r) => r.id);
    expect(ids).to.have.length(3);
    await sql(`UPDATE scim_request_log SET created_at = $2 WHERE id = ANY($1::text[])`, [ids.slice(0, 2), OLD]);
    await sql(`UPDATE scim_request_log SET created_at = $2 WHERE id = $1`, [ids[2], RECENT]);
    const { metrics, result } = run();
    expect((await result).scim_request_log).to.equal(2);
    const left = await sql<{ id: string }>(`SELECT id FROM scim_request_log WHERE organization_id = $1`, [org.orgId]);
    expect(left.map((r) => r.id)).to.deep.equal([ids[2]]);
    expect((await metrics.retentionDeletedRows.get()).values.find((v) => v.labels.table === "scim_request_log")?.value).to.equal(2);
  });

  it("deletes old events whose deliveries are finished, with their deliveries, and keeps an old event still pending delivery", async () => {
    const org = await orgWithUsers(2);
    const events = await sql<{ id: string }>(`SELECT id FROM events WHERE organization_id = $1 ORDER BY seq`, [org.orgId]);
    expect(events).to.have.length(2);
    const [done, pending] = events.map((e) => e.id);
    await sql(`UPDATE events SET created_at = $2, fanned_out_at = $2 WHERE id = ANY($1::text[])`, [[done, pending], OLD]);
    await sql(`UPDATE webhook_deliveries SET status = 'succeeded', completed_at = $2 WHERE event_id = $1`, [done, OLD]);
    expect((await run().result).events).to.equal(1);
    const left = await sql<{ id: string }>(`SELECT id FROM events WHERE organization_id = $1`, [org.orgId]);
    expect(left.map((r) => r.id)).to.deep.equal([pending]);
    const deliveries = await sql<{ event_id: string; status: string }>(`SELECT event_id, status FROM webhook_deliveries WHERE organization_id = $1`, [org.orgId]);
    expect(deliveries).to.deep.equal([{ event_id: pending, status: "pending" }]);
  });

  it("deletes delivery attempts older than the retention and keeps the delivery with its attempt count", async () => {
    const org = await orgWithUsers(1);
    const [delivery] = await sql<{ id: string }>(`SELECT id FROM webhook_deliveries WHERE organization_id = $1`, [org.orgId]);
    await sql(
      `INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, latency_ms) VALUES ($2, $1, $4, 500, 12), ($3, $1, $5, 500, 15)`,
      [delivery!.id, `wha_old_${delivery!.id}`, `wha_new_${delivery!.id}`, OLD, RECENT],
    );
    await sql(`UPDATE webhook_deliveries SET attempt_count = 2 WHERE id = $1`, [delivery!.id]);
    expect((await run().result).webhook_attempts).to.equal(1);
    const attempts = await sql<{ id: string }>(`SELECT id FROM webhook_attempts WHERE delivery_id = $1`, [delivery!.id]);
    expect(attempts.map((a) => a.id)).to.deep.equal([`wha_new_${delivery!.id}`]);
    const [kept] = await sql<{ attempt_count: number }>(`SELECT attempt_count FROM webhook_deliveries WHERE id = $1`, [delivery!.id]);
    expect(kept!.attempt_count).to.equal(2);
  });

  it("keeps everything when a retention is 0 days", async () => {
    const org = await orgWithUsers(1);
    await sql(`UPDATE scim_request_log SET created_at = $2 WHERE organization_id = $1`, [org.orgId, OLD]);
    const result = await run({ requestLogDays: 0, eventDays: 0, deliveryAttemptDays: 0 }).result;
    expect(result).to.deep.equal({ scim_request_log: 0, events: 0, webhook_attempts: 0 });
    expect(await sql(`SELECT id FROM scim_request_log WHERE organization_id = $1`, [org.orgId])).to.have.length(1);
  });
});
