import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request } from "../helpers/http.ts";
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

  it("stores a new endpoint's secret sealed with the current key, and never shows it on GET", async () => {
    const { orgId, endpoint } = await orgWithEndpoint();
    const stored = await storedSecret(endpoint.id);
    expect(stored.startsWith(`rcenc:v1:${keyIdOf(decodeKey(TEST_ENCRYPTION_KEY))}:`)).to.equal(true);
    expect(stored).not.to.contain(endpoint.secret.slice(6));
    expect(new KeyRing(decodeKey(TEST_ENCRYPTION_KEY)).open(stored, orgId)).to.equal(endpoint.secret);
    const got = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints/${endpoint.id}`);
    expect(got.status).to.equal(200);
    expect(got.text).not.to.contain(endpoint.secret);
  });

  it("seals a plaintext secret left by an older version when a process boots", async () => {
    const { orgId, endpoint } = await orgWithEndpoint();
    await sequelize().query(`UPDATE webhook_endpoints SET secret = 'whsec_bGVnYWN5bGVnYWN5bGVnYWN5bGVnYWN5' WHERE id = $1`, { bind: [endpoint.id] });
    const second = await startTestService(shared.databaseUrl, { database: shared.databaseUrl ? undefined : shared.service.deps.db, workers: [] });
    try {
      const stored = await storedSecret(endpoint.id);
      expect(KeyRing.isSealed(stored)).to.equal(true);
      expect(new KeyRing(decodeKey(TEST_ENCRYPTION_KEY)).open(stored, orgId)).to.equal("whsec_bGVnYWN5bGVnYWN5bGVnYWN5bGVnYWN5");
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
      const { orgId, endpoint: created } = await orgWithEndpoint(service.url!);
      // A rotation in its overlap (two sealed secrets) and the SET signing key are re-sealed too.
      const endpoint = (await admin(service.url!, "POST", `/v1/organizations/${orgId}/webhook_endpoints/${created.id}/rotate_secret`, {})).body as { id: string; secret: string };
      const jwks = (await request(service.url!, "GET", "/.well-known/jwks.json")).body as { keys: Array<{ kid: string }> };
      const newKey = Buffer.alloc(32, 99).toString("base64");
      const env = { ...process.env, DATABASE_URL: fresh.url, ROLLCALL_ADMIN_KEY: TEST_ADMIN_KEY, LOG_LEVEL: "silent", NODE_ENV: "test" as const };
      const out = await runFile(process.execPath, ["--import", "tsx", "server/cli.ts", "rotate-encryption-key"], {
        env: { ...env, ROLLCALL_ENCRYPTION_KEY: newKey, ROLLCALL_ENCRYPTION_KEYS_PREVIOUS: TEST_ENCRYPTION_KEY },
        cwd: process.cwd(),
      });
      expect(out.stdout).to.contain(
        `re-sealed with key ${keyIdOf(decodeKey(newKey))}: webhook_endpoints=1 directory_connections=0 webhook_endpoints.previous_secret=1 webhook_signing_keys=1`,
      );
      const [row] = await select<{ secret: string; previous_secret: string }>(service.deps.db.sequelize, `SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1`, [endpoint.id]);
      const newRing = new KeyRing(decodeKey(newKey));
      expect(KeyRing.keyIdIn(row!.secret)).to.equal(keyIdOf(decodeKey(newKey)));
      expect(newRing.open(row!.secret, orgId)).to.equal(endpoint.secret);
      expect(newRing.open(row!.previous_secret, orgId)).to.equal(created.secret);
      const [key] = await select<{ private_key: string }>(service.deps.db.sequelize, `SELECT private_key FROM webhook_signing_keys WHERE id = $1`, [jwks.keys[0]!.kid]);
      expect(newRing.open(key!.private_key, jwks.keys[0]!.kid)).to.contain("BEGIN PRIVATE KEY");
    } finally {
      await service.stop();
      await fresh.drop();
    }
  });
});
