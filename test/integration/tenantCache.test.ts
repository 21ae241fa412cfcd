import { expect } from "chai";
import pg from "pg";
import type { Sequelize } from "sequelize";
import { createFreshDatabase, serverUrl } from "../helpers/testDatabase.ts";
import { startTestService } from "../helpers/testService.ts";
import { createManualClock, type ManualClock } from "../helpers/webhookReceiver.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";
import { hashToken } from "../../server/commands/scimTokens.ts";
import type { CachedTenant } from "../../server/auth/tenantCache.ts";
import type { Service } from "../../server/main.ts";

/** Polls until `check` holds; fails with `what` after `timeoutMs`. The bound, not a sleep, is the assertion. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const KILL_LISTENER = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE application_name = 'rollcall-listener' AND datname = current_database()`;

/**
 * A service on a database of its own, so killing its listener (which matches every listener on the
 * database) touches no other test's service. Its clock is manual and its cache TTL an hour, so an
 * entry that is not invalidated stays stale for the whole test: only a NOTIFY can make these pass.
 */
describe("tenant cache: invalidated by other processes' changes (LISTEN/NOTIFY)", function () {
  let service: Service;
  let sql: pg.Client;
  let clock: ManualClock;
  let dropDatabase: (() => Promise<void>) | undefined;
  const base = () => service.url!;

  /** The cache entry the service would serve for this token right now. */
  const cached = (token: string): CachedTenant | undefined =>
    service.deps.tenantCache.get(hashToken(token).toString("base64"), clock.now().getTime());

  const authStatus = async (token: string) => (await scim(base(), token, "GET", "/ServiceProviderConfig")).status;

  before(async function () {
    if (!serverUrl) this.skip(); // the embedded database is one connection: no listener, cache off
    this.timeout(30_000);
    const fresh = await createFreshDatabase(serverUrl!, "rollcall_tenantcache");
    dropDatabase = fresh.drop;
    clock = createManualClock(new Date("2026-11-23T10:00:00.000Z"));
    service = await startTestService(fresh.url, {
      clock,
      // DATABASE_POOL_MIN keeps pooled connections open while new connections are refused below.
      env: { ROLLCALL_TENANT_CACHE_TTL_MS: "3600000", DATABASE_POOL_MIN: "4" },
    });
    sql = new pg.Client({ connectionString: fresh.url });
    await sql.connect();
    await eventually("the listener is up and the cache enabled", () => service.deps.tenantCache.active, 5_000);
  });

  after(async function () {
    this.timeout(30_000);
    await sql?.end();
    await service?.stop();
    await dropDatabase?.();
  });

  it("refuses a token revoked by another process's UPDATE shortly after it was cached", async () => {
    const { token, tokenId } = await createOrgWithToken(base());
    expect(await authStatus(token)).to.equal(200);
    expect(cached(token)?.tenant.tokenId, "the accepted token is cached").to.equal(tokenId);

    await sql.query(`UPDATE scim_tokens SET revoked_at = now() WHERE id = $1`, [tokenId]);

    await eventually("the revoked token is refused", async () => (await authStatus(token)) === 401);
    const refused = await scim(base(), token, "GET", "/Users");
    expect(refused.status).to.equal(401);
    expect(refused.contentType).to.equal("application/scim+json");
    expect(cached(token)).to.equal(undefined);
  });

  it("refuses a token deleted by another process shortly after it was cached", async () => {
    const { token, tokenId } = await createOrgWithToken(base());
    expect(await authStatus(token)).to.equal(200);
    expect(cached(token)?.tenant.tokenId).to.equal(tokenId);

    await sql.query(`DELETE FROM scim_tokens WHERE id = $1`, [tokenId]);

    await eventually("the deleted token is refused", async () => (await authStatus(token)) === 401);
  });

  it("writes with a mapping version inserted by another process on the next SCIM write", async () => {
    const { orgId, token } = await createOrgWithToken(base());
    const before = await scim(base(), token, "POST", "/Users", scimUserBody({ name: { givenName: "ada", familyName: "Lovelace" } }));
    expect(before.status).to.equal(201);
    const beforeRead = await admin(base(), "GET", `/v1/organizations/${orgId}/users/${before.body.id}`);
    expect(beforeRead.body.mapping.version).to.equal(null);
    expect(beforeRead.body.first_name).to.equal("ada");
    expect(cached(token)?.tenant.mappingVersion, "the lookup (with its mapping version) is cached").to.equal(null);

    await sql.query(`INSERT INTO attribute_mappings (id, organization_id, version, mapping) VALUES ($1, $2, 1, $3)`, [
      `map_${unique()}`,
      orgId,
      JSON.stringify({ "name.givenName": "{{ value | upcase }}.first_name" }),
    ]);

    let written: { mapping: { version: number | null }; first_name: string } | undefined;
    await eventually("a SCIM write uses mapping version 1", async () => {
      const created = await scim(base(), token, "POST", "/Users", scimUserBody({ name: { givenName: "grace", familyName: "Hopper" } }));
      expect(created.status).to.equal(201);
      written = (await admin(base(), "GET", `/v1/organizations/${orgId}/users/${created.body.id}`)).body;
      return written!.mapping.version === 1;
    });
    expect(written!.first_name).to.equal("GRACE");
    expect(cached(token)?.tenant.mappingVersion).to.equal(1);
  });

  it("applies an organization's scim_rate_limit changed by another process", async () => {
    const { orgId, token } = await createOrgWithToken(base());
    // The service's default is 0 (unlimited), and its clock stands still: no bucket ever refills.
    for (let i = 0; i < 3; i++) expect(await authStatus(token)).to.equal(200);
    expect(cached(token)?.tenant.rateLimit).to.equal(0);

    await sql.query(`UPDATE organizations SET scim_rate_limit = 1 WHERE id = $1`, [orgId]);

    await eventually("the organization's limit of 1 request/s applies", async () => (await authStatus(token)) === 429);
    const limited = await scim(base(), token, "GET", "/ServiceProviderConfig");
    expect(limited.status).to.equal(429);
    expect(limited.contentType).to.equal("application/scim+json");
    expect(limited.headers.get("retry-after")).to.equal("1");
    expect(cached(token)?.tenant.rateLimit).to.equal(1);
  });

  it("turns the cache off while the listener is down, never serves a revocation made meanwhile, and turns it on again", async function () {
    this.timeout(15_000);
    const cache = service.deps.tenantCache;
    const revokedMeanwhile = await createOrgWithToken(base());
    const other = await createOrgWithToken(base());
    expect(await authStatus(revokedMeanwhile.token)).to.equal(200);
    expect(await authStatus(other.token)).to.equal(200);
    expect(cached(revokedMeanwhile.token)).to.not.equal(undefined);
    expect(cached(other.token)).to.not.equal(undefined);

    // Open the pool's connections now: while the listener is kept from reconnecting, so is the pool.
    await Promise.all(Array.from({ length: 4 }, () => service.deps.db.sequelize.query(`SELECT pg_sleep(0.05)`)));
    const { rows } = await sql.query<{ name: string }>(`SELECT current_database() AS name`);
    const database = pg.escapeIdentifier(rows[0]!.name);
    // PostgreSQL refuses to disallow connections to the database the command runs in.
    const server = new pg.Client({ connectionString: serverUrl });
    await server.connect();
    await server.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
    try {
      const killed = await sql.query(KILL_LISTENER);
      expect(killed.rowCount, "exactly one listener on this database").to.equal(1);
      await eventually("the cache is disabled once the listener is gone", () => !cache.active);
      expect(cache.size).to.equal(0);

      // Nobody listens: this NOTIFY reaches no process.
      await sql.query(`UPDATE scim_tokens SET revoked_at = now() WHERE id = $1`, [revokedMeanwhile.tokenId]);
      expect(await authStatus(revokedMeanwhile.token)).to.equal(401);
      for (let i = 0; i < 3; i++) expect(await authStatus(other.token)).to.equal(200);
      expect(cache.active, "still down while requests were served").to.equal(false);
      expect(cache.size, "nothing is cached while down").to.equal(0);
    } finally {
      await server.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
      await server.end();
    }

    // The backoff has grown while connections were refused: allow a few retries.
    await eventually("the listener reconnects and the cache is enabled again", () => cache.active, 8_000);
    expect(await authStatus(revokedMeanwhile.token)).to.equal(401);
    expect(await authStatus(revokedMeanwhile.token)).to.equal(401);
    expect(await authStatus(other.token)).to.equal(200);
    expect(cached(other.token)?.tenant.tokenId, "lookups are cached again").to.equal(other.tokenId);
    expect(cached(revokedMeanwhile.token)).to.equal(undefined);
  });

  // Regression: a lookup in flight while the listener reconnected is not cached (enable() bumps the
  // generation), so a token revoked in between, its NOTIFY heard by nobody, is refused. The lookup's
  // result is held by an instance wrapper on sequelize.query (its SELECT cannot be paused in PostgreSQL).
  it("does not cache a lookup that was in flight while the listener reconnected", async function () {
    this.timeout(15_000);
    const cache = service.deps.tenantCache;
    const { token, tokenId } = await createOrgWithToken(base());
    const sequelize = service.deps.db.sequelize;
    const original = sequelize.query;
    let reachedLookup!: () => void;
    const lookupRead = new Promise<void>((resolve) => (reachedLookup = resolve));
    let releaseLookup!: () => void;
    const released = new Promise<void>((resolve) => (releaseLookup = resolve));
    const held = async function (this: Sequelize, ...args: unknown[]): Promise<unknown> {
      const result = await (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      if (typeof args[0] === "string" && args[0].includes("FROM scim_tokens t JOIN organizations o")) {
        reachedLookup();
        await released;
      }
      return result;
    };
    (sequelize as unknown as { query: typeof held }).query = held;
    try {
      expect((await sql.query(KILL_LISTENER)).rowCount).to.equal(1);
      await eventually("the cache is disabled once the listener is gone", () => !cache.active);
      const inFlight = authStatus(token);
      await Promise.race([
        lookupRead,
        new Promise((_, reject) => setTimeout(() => reject(new Error("the token lookup no longer runs through sequelize.query")), 2_000)),
      ]);
      // Committed after the lookup read the token and before the listener is back: heard by nobody.
      await sql.query(`UPDATE scim_tokens SET revoked_at = now() WHERE id = $1`, [tokenId]);
      expect(cache.active, "the revocation was committed while nobody listened").to.equal(false);
      await eventually("the listener reconnects", () => cache.active, 5_000);
      releaseLookup();
      expect(await inFlight).to.equal(200); // in flight before the revocation: acceptable
    } finally {
      releaseLookup();
      (sequelize as unknown as { query: typeof original }).query = original;
    }
    expect(await authStatus(token)).to.equal(401);
  });

  it("still refreshes last_used_at of a cached token, at most once a minute", async () => {
    const { token, tokenId } = await createOrgWithToken(base());
    // Records every write of this token's last_used_at (test-only, on this suite's own database).
    const table = `last_used_writes_${unique()}`;
    await sql.query(`
      CREATE TABLE ${table} (seq serial PRIMARY KEY, last_used_at timestamptz);
      CREATE FUNCTION ${table}_record() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO ${table} (last_used_at) VALUES (NEW.last_used_at); RETURN NULL; END $$;
      CREATE TRIGGER ${table} AFTER UPDATE OF last_used_at ON scim_tokens
        FOR EACH ROW WHEN (NEW.id = '${tokenId}') EXECUTE FUNCTION ${table}_record();
    `);
    const writes = async () => (await sql.query<{ last_used_at: Date }>(`SELECT last_used_at FROM ${table} ORDER BY seq`)).rows.map((r) => r.last_used_at.getTime());
    try {
      const t0 = clock.now().getTime();
      expect(await authStatus(token)).to.equal(200);
      await eventually("the first use is recorded", async () => (await writes()).length === 1);
      expect(await writes()).to.deep.equal([t0]);
      expect(cached(token)?.lastUsedAt?.getTime()).to.equal(t0);

      for (const advance of [30_000, 29_000]) {
        clock.advance(advance);
        expect(cached(token), "served from the cache").to.not.equal(undefined);
        expect(await authStatus(token)).to.equal(200);
      }
      clock.advance(2_000);
      const t61 = clock.now().getTime();
      expect(cached(token), "served from the cache").to.not.equal(undefined);
      expect(await authStatus(token)).to.equal(200);
      await eventually("the use a minute later is recorded", async () => (await writes()).includes(t61));
      // The uses at +30 s and +59 s were issued before this one: had they written, they would show.
      expect(await writes()).to.deep.equal([t0, t61]);
      expect(cached(token)?.lastUsedAt?.getTime()).to.equal(t61);
      const [row] = (await sql.query<{ last_used_at: Date }>(`SELECT last_used_at FROM scim_tokens WHERE id = $1`, [tokenId])).rows;
      expect(row!.last_used_at.getTime()).to.equal(t61);
    } finally {
      await sql.query(`DROP TRIGGER ${table} ON scim_tokens; DROP FUNCTION ${table}_record(); DROP TABLE ${table}`);
    }
  });
});
