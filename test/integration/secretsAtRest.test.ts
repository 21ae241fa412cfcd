import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { shared } from "../helpers/rootHooks.ts";
import { admin } from "../helpers/http.ts";
import { unique } from "../helpers/factories.ts";
import { startTestService, TEST_ADMIN_KEY, TEST_ENCRYPTION_KEY } from "../helpers/testService.ts";
import { createFreshDatabase } from "../helpers/testDatabase.ts";
import { KeyRing, decodeKey, keyIdOf } from "../../server/crypto/secretBox.ts";
import { select } from "../../server/models/sql.ts";

const runFile = promisify(execFile);
const URL_NOBODY_SERVES = "http://127.0.0.1:9/hooks";

describe("secrets at rest: webhook secrets sealed with ROLLCALL_ENCRYPTION_KEY", () => {
  const base = () => shared.service.url!;
  const sequelize = () => shared.service.deps.db.sequelize;

  async function orgWithEndpoint(url = base()): Promise<{ orgId: string; endpoint: { id: string; secret: string } }> {
    const org = await admin(url, "POST", "/v1/organizations", { name: `Sealed ${unique()}` });
    const endpoint = await admin(url, "POST", `/v1/organizations/${org.body.id}/webhook_endpoints`, { url: URL_NOBODY_SERVES, events: ["scimGroup.deleted"] });
    expect(endpoint.status, endpoint.text).to.equal(201);
    return { orgId: org.body.id, endpoint: endpoint.body };
  }

  const storedSecret = async (id: string) =>
    (await select<{ secret: string }>(sequelize(), `SELECT secret FROM webhook_endpoints WHERE id = $1`, [id]))[0]!.secret;

  it("stores a new endpoint's secret sealed with the current key, and shows the plaintext on GET", async () => {
    const { orgId, endpoint } = await orgWithEndpoint();
    const stored = await storedSecret(endpoint.id);
    expect(stored.startsWith(`rcenc:v1:${keyIdOf(decodeKey(TEST_ENCRYPTION_KEY))}:`)).to.equal(true);
    expect(stored).not.to.contain(endpoint.secret.slice(6));
    const got = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints/${endpoint.id}`);
    expect(got.body.secret).to.equal(endpoint.secret);
  });

  it("seals a plaintext secret left by an older version when a process boots", async () => {
    const { orgId, endpoint } = await orgWithEndpoint();
    await sequelize().query(`UPDATE webhook_endpoints SET secret = 'whsec_bGVnYWN5bGVnYWN5bGVnYWN5bGVnYWN5' WHERE id = $1`, { bind: [endpoint.id] });
    const second = await startTestService(shared.databaseUrl, { database: shared.databaseUrl ? undefined : shared.service.deps.db, workers: [] });
    try {
      const stored = await storedSecret(endpoint.id);
      expect(KeyRing.isSealed(stored)).to.equal(true);
      const got = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints/${endpoint.id}`);
      expect(got.body.secret).to.equal("whsec_bGVnYWN5bGVnYWN5bGVnYWN5bGVnYWN5");
    } finally {
      await second.stop();
    }
  });

  it("rotate-encryption-key re-seals every secret with the new key and the old key can then go", async function () {
    if (!shared.databaseUrl) this.skip(); // needs a database of its own, so no other test's secrets are re-sealed
    this.timeout(120_000);
    const fresh = await createFreshDatabase(shared.databaseUrl.replace(/\/[^/]*$/, "/postgres"), "rollcall_rotate");
    const service = await startTestService(fresh.url, { workers: [] });
    try {
      const { orgId, endpoint } = await orgWithEndpoint(service.url!);
      const newKey = Buffer.alloc(32, 99).toString("base64");
      const env = { ...process.env, DATABASE_URL: fresh.url, ROLLCALL_ADMIN_KEY: TEST_ADMIN_KEY, LOG_LEVEL: "silent", NODE_ENV: "test" as const };
      const out = await runFile(process.execPath, ["--import", "tsx", "server/cli.ts", "rotate-encryption-key"], {
        env: { ...env, ROLLCALL_ENCRYPTION_KEY: newKey, ROLLCALL_ENCRYPTION_KEYS_PREVIOUS: TEST_ENCRYPTION_KEY },
        cwd: process.cwd(),
      });
      expect(out.stdout).to.contain(`re-sealed with key ${keyIdOf(decodeKey(newKey))}: webhook_endpoints=1 directory_connections=0`);
      const [row] = await select<{ secret: string }>(service.deps.db.sequelize, `SELECT secret FROM webhook_endpoints WHERE id = $1`, [endpoint.id]);
      expect(KeyRing.keyIdIn(row!.secret)).to.equal(keyIdOf(decodeKey(newKey)));
      expect(new KeyRing(decodeKey(newKey)).open(row!.secret, orgId)).to.equal(endpoint.secret);
    } finally {
      await service.stop();
      await fresh.drop();
    }
  });
});
