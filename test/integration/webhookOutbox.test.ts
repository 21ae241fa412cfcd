import { expect } from "chai";
import { QueryTypes, type Sequelize } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { admin } from "../helpers/http.ts";
import { unique } from "../helpers/factories.ts";
import { recordEvent, WEBHOOK_EVENT_TYPES, type OutboxEvent, type WebhookEventType } from "../../server/webhooks/outbox.ts";

const base = () => shared.service.url!;
const sequelize = (): Sequelize => shared.service.deps.db.sequelize;

async function createOrg(): Promise<string> {
  const res = await admin(base(), "POST", "/v1/organizations", { name: `Outbox ${unique()}` });
  return res.body.id;
}

/** Endpoints here point at a port nothing listens on; these tests never dispatch. */
async function createEndpoint(orgId: string, events: WebhookEventType[] = []): Promise<string> {
  const res = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: "http://127.0.0.1:9/hook", events });
  expect(res.status).to.equal(201);
  return res.body.id;
}

function userEvent(orgId: string, type: WebhookEventType = "scimUser.provisioned"): OutboxEvent {
  return { organizationId: orgId, type, subjectId: `user_${unique()}`, data: { user: { email_address: "a@example.com" }, enterprise_connection_id: "conn_x" } };
}

async function eventsOf(orgId: string) {
  return sequelize().query<{ id: string; type: string; subject_id: string | null; payload: Record<string, unknown>; fanned_out_at: Date | null }>(
    `SELECT id, type, subject_id, payload, fanned_out_at FROM events WHERE organization_id = $1 ORDER BY seq`,
    { bind: [orgId], type: QueryTypes.SELECT },
  );
}

async function deliveriesOf(orgId: string) {
  return sequelize().query<{ id: string; endpoint_id: string; event_id: string; subject_id: string | null; status: string; event_seq: number }>(
    `SELECT id, endpoint_id, event_id, subject_id, status, event_seq FROM webhook_deliveries WHERE organization_id = $1 ORDER BY event_seq, endpoint_id`,
    { bind: [orgId], type: QueryTypes.SELECT },
  );
}

describe("webhook outbox: recordEvent", () => {
  const orgs: string[] = [];
  const newOrg = async () => {
    const id = await createOrg();
    orgs.push(id);
    return id;
  };

  // Nothing recorded here may be picked up by another file's dispatcher.
  after(async () => {
    await sequelize().query(`UPDATE webhook_deliveries SET status = 'failed' WHERE organization_id = ANY ($1::text[]) AND status = 'pending'`, { bind: [orgs] });
  });

  it("stores the event with the SPEC payload and returns its msg_ id", async () => {
    const orgId = await newOrg();
    const now = new Date("2030-01-02T03:04:05.678Z");
    const event = userEvent(orgId);
    const id = await sequelize().transaction((t) => recordEvent(sequelize(), t, event, now));
    expect(id).to.match(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
    const [stored] = await eventsOf(orgId);
    expect(stored!.id).to.equal(id);
    expect(stored!.subject_id).to.equal(event.subjectId);
    expect(stored!.payload).to.deep.equal({
      type: "scimUser.provisioned",
      object: "event",
      timestamp: "2030-01-02T03:04:05.678Z",
      data: { ...event.data, organization_id: orgId },
    });
  });

  it("creates one pending delivery per live endpoint subscribed to the event type", async () => {
    const orgId = await newOrg();
    const all = await createEndpoint(orgId);
    const users = await createEndpoint(orgId, ["scimUser.provisioned", "scimUser.deprovisioned"]);
    const groups = await createEndpoint(orgId, ["scimGroup.created"]);
    const removed = await createEndpoint(orgId);
    expect((await admin(base(), "DELETE", `/v1/organizations/${orgId}/webhook_endpoints/${removed}`)).status).to.equal(200);

    const event = userEvent(orgId);
    const id = await sequelize().transaction((t) => recordEvent(sequelize(), t, event, new Date()));
    const deliveries = await deliveriesOf(orgId);
    expect(deliveries.map((d) => d.endpoint_id).sort()).to.deep.equal([all, users].sort());
    expect(deliveries.map((d) => d.endpoint_id)).not.to.include(groups);
    for (const delivery of deliveries) {
      expect(delivery).to.include({ event_id: id, subject_id: event.subjectId, status: "pending" });
      expect(delivery.id).to.match(/^whdl_[0-9A-HJKMNP-TV-Z]{26}$/);
    }
    expect(new Set(deliveries.map((d) => d.id)).size).to.equal(2);
  });

  it("fans out to nobody outside the event's organization", async () => {
    const orgA = await newOrg();
    const orgB = await newOrg();
    await createEndpoint(orgB);
    await sequelize().transaction((t) => recordEvent(sequelize(), t, userEvent(orgA), new Date()));
    expect(await deliveriesOf(orgA)).to.have.length(0);
    expect(await deliveriesOf(orgB)).to.have.length(0);
    expect(await eventsOf(orgA)).to.have.length(1);
  });

  it("leaves neither the event nor its deliveries when the transaction rolls back", async () => {
    const orgId = await newOrg();
    await createEndpoint(orgId);
    const failure = new Error("the change failed after the event was recorded");
    let caught: unknown;
    try {
      await sequelize().transaction(async (t) => {
        await recordEvent(sequelize(), t, userEvent(orgId), new Date());
        expect(await sequelize().query(`SELECT 1 FROM events WHERE organization_id = $1`, { bind: [orgId], transaction: t, type: QueryTypes.SELECT })).to.have.length(1);
        throw failure;
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).to.equal(failure);
    expect(await eventsOf(orgId)).to.have.length(0);
    expect(await deliveriesOf(orgId)).to.have.length(0);
  });

  it("orders events by a sequence so deliveries of one subject can be sent in order", async () => {
    const orgId = await newOrg();
    await createEndpoint(orgId);
    const subjectId = `user_${unique()}`;
    const types: WebhookEventType[] = ["scimUser.provisioned", "scimUser.deprovisioned", "scimUser.provisioned"];
    const ids: string[] = [];
    for (const type of types) {
      ids.push(await sequelize().transaction((t) => recordEvent(sequelize(), t, { ...userEvent(orgId, type), subjectId }, new Date())));
    }
    const deliveries = await deliveriesOf(orgId);
    expect(deliveries.map((d) => d.event_id)).to.deep.equal(ids);
    expect(deliveries[0]!.event_seq).to.be.below(deliveries[1]!.event_seq);
    expect(deliveries[1]!.event_seq).to.be.below(deliveries[2]!.event_seq);
  });

  it("refuses an event type outside the documented list", async () => {
    const orgId = await newOrg();
    const bogus = { ...userEvent(orgId), type: "scimUser.exploded" } as unknown as OutboxEvent;
    let caught: unknown;
    try {
      await sequelize().transaction((t) => recordEvent(sequelize(), t, bogus, new Date()));
    } catch (error) {
      caught = error;
    }
    expect(String(caught)).to.match(/unknown webhook event type/);
    expect(await eventsOf(orgId)).to.have.length(0);
    // SPEC "Webhooks"' seven, plus the notice that the circuit breaker disabled an endpoint (issue 17).
    expect(WEBHOOK_EVENT_TYPES).to.have.length(8).and.include("webhookEndpoint.disabled");
  });
});
