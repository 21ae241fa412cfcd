import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Webhook } from "standardwebhooks";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhookReceiver.ts";
import { startTestService, TEST_ADMIN_KEY, TEST_ENCRYPTION_KEY } from "../helpers/testService.ts";
import { createDispatcher } from "../../server/webhooks/dispatcher.ts";
import { freePort } from "../helpers/freePort.ts";
import { seedEmbeddedDataDir } from "../helpers/embeddedTemplate.ts";
import type { Service } from "../../server/main.ts";

const base = () => shared.service.url!;
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

type Delivered = { id: string; type: string; userId: string | undefined; active: boolean | undefined };

function parseDeliveries(receiver: WebhookReceiver, secret: string): Delivered[] {
  const verifier = new Webhook(secret);
  return receiver.received.map((r) => {
    const headers = { "webhook-id": String(r.headers["webhook-id"]), "webhook-timestamp": String(r.headers["webhook-timestamp"]), "webhook-signature": String(r.headers["webhook-signature"]) };
    const event = verifier.verify(r.body, headers) as { type: string; data: { user?: { id: string; active: boolean } } };
    return { id: headers["webhook-id"], type: event.type, userId: event.data.user?.id, active: event.data.user?.active };
  });
}

/** Drains due deliveries with a dispatcher on the service's database (the shared one by default) until `count` arrived. */
async function deliver(receiver: WebhookReceiver, count: number, service: Service = shared.service): Promise<void> {
  const deps = service.deps;
  const dispatcher = createDispatcher({ sequelize: deps.db.sequelize, logger: deps.logger, metrics: deps.metrics, clock: deps.clock, config: deps.config });
  const deadline = Date.now() + 15_000;
  while (receiver.received.length < count && Date.now() < deadline) {
    if ((await dispatcher.runOnce()) === 0) await new Promise((r) => setTimeout(r, 50));
  }
  await dispatcher.stop();
}

describe("SCIM changes as webhooks", () => {
  let receiver: WebhookReceiver;

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
  });

  afterEach(async () => {
    await receiver.close();
  });

  it("turns an Okta create, deactivate and reactivate into provisioned, deprovisioned, provisioned, in order", async function () {
    this.timeout(30_000);
    const { token, orgId } = await createOrgWithToken(base());
    const endpoint = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: receiver.url, events: ["scimUser.provisioned", "scimUser.deprovisioned"] });
    expect(endpoint.status).to.equal(201);
    const created = await scim(base(), token, "POST", "/Users", scimUserBody());
    const patch = (active: boolean) => scim(base(), token, "PATCH", `/Users/${created.body.id}`, { schemas: [PATCH], Operations: [{ op: "replace", value: { active } }] });
    expect((await patch(false)).status).to.equal(200);
    expect((await patch(true)).status).to.equal(200);
    await deliver(receiver, 3);
    const events = parseDeliveries(receiver, endpoint.body.secret);
    expect(events.map((e) => [e.type, e.userId, e.active])).to.deep.equal([
      ["scimUser.provisioned", created.body.id, true],
      ["scimUser.deprovisioned", created.body.id, false],
      ["scimUser.provisioned", created.body.id, true],
    ]);
    expect(new Set(events.map((e) => e.id)).size).to.equal(3);
  });

  it("carries the mapped app user (organization_role, public_metadata) and the connection in the payload", async function () {
    this.timeout(30_000);
    const { token, orgId, connectionId } = await createOrgWithToken(base());
    const endpoint = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: receiver.url });
    await scim(base(), token, "POST", "/Users", scimUserBody());
    await deliver(receiver, 1);
    const body = JSON.parse(receiver.received[0]!.body);
    expect(body).to.include({ type: "scimUser.provisioned", object: "event" });
    expect(body.data).to.include({ organization_id: orgId, enterprise_connection_id: connectionId });
    expect(body.data.user).to.include({ organization_role: "org:member", active: true });
    expect(body.data.user.public_metadata).to.deep.equal({});
    void endpoint;
  });

  it("still delivers a create's event when the server is SIGKILLed right after answering 201", async function () {
    this.timeout(150_000);
    // The server runs as a child process on the run's PostgreSQL or, without one, on an embedded
    // database in its own data folder: there the database dies with the process, and a new
    // process opening the same folder must still find the acknowledged user and its event.
    const port = await freePort();
    const dataDir = await mkdtemp(path.join(tmpdir(), "rollcall-kill-"));
    if (!shared.databaseUrl) await seedEmbeddedDataDir(dataDir);
    const { DATABASE_URL: _runServer, ...inherited } = process.env;
    const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server/cli.ts", "serve"], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      env: {
        ...inherited,
        ...(shared.databaseUrl ? { DATABASE_URL: shared.databaseUrl } : {}),
        PORT: String(port),
        HOST: "127.0.0.1",
        ROLLCALL_ADMIN_KEY: TEST_ADMIN_KEY, ROLLCALL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        ROLLCALL_DATA_DIR: dataDir,
        ROLLCALL_ENABLE_DISPATCHER: "false",
        ROLLCALL_ENABLE_RECONCILER: "false",
        ROLLCALL_SCIM_RATE_LIMIT: "0",
        LOG_LEVEL: "silent",
      },
      stdio: "ignore",
    });
    let afterwards: Service | undefined;
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        const ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
        if (ready) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const { token, orgId } = await createOrgWithToken(url);
      const endpoint = await admin(url, "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: receiver.url, events: ["scimUser.provisioned"] });
      expect(endpoint.status, endpoint.text).to.equal(201);
      const created = await scim(url, token, "POST", "/Users", scimUserBody());
      expect(created.status).to.equal(201);
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
      expect(receiver.received).to.have.length(0);
      afterwards = shared.databaseUrl ? shared.service : await startTestService(undefined, { env: { ROLLCALL_DATA_DIR: dataDir } });
      await deliver(receiver, 1, afterwards);
      const events = parseDeliveries(receiver, endpoint.body.secret);
      expect(events.map((e) => [e.type, e.userId])).to.deep.equal([["scimUser.provisioned", created.body.id]]);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      if (afterwards !== shared.service) await afterwards?.stop();
    }
  });
});
