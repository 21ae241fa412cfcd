import { expect } from "chai";
import { DatabaseError, QueryTypes, type Sequelize } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { serverUrl } from "../helpers/testDatabase.ts";
import { testConfig } from "../helpers/testService.ts";
import { admin, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique, type OrgWithToken } from "../helpers/factories.ts";
import { createSequelize } from "../../server/db/database.ts";
import { createLogger } from "../../server/logger.ts";
import { UserKeyLookups, type UserKey } from "../../server/models/userKeyLookups.ts";

const base = () => shared.service.url!;
const filterPath = (expr: string, extra = "") => `/Users?filter=${encodeURIComponent(expr)}${extra}`;

/** Creates a SCIM user and returns its id (fails the test on anything but 201). */
async function createUser(org: OrgWithToken, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await scim(base(), org.token, "POST", "/Users", scimUserBody(overrides));
  expect(res.status, res.text).to.equal(201);
  return res.body.id;
}

/** Counts how often the pool hands out a connection (each lookup query takes one), on this instance only. */
function countAcquisitions(sequelize: Sequelize): { count(): number; restore(): void } {
  const manager = sequelize.connectionManager as unknown as { getConnection(...args: unknown[]): Promise<unknown> };
  const original = manager.getConnection;
  let acquisitions = 0;
  manager.getConnection = function (this: unknown, ...args: unknown[]) {
    acquisitions++;
    return original.apply(this, args);
  };
  return {
    count: () => acquisitions,
    restore: () => {
      manager.getConnection = original;
    },
  };
}

/** Counts the lookups the SCIM routes hand to their batcher (the route's instance is private, its prototype is not). */
function spyOnFind(): { keys: UserKey[]; restore(): void } {
  const prototype = UserKeyLookups.prototype;
  const original = prototype.find;
  const keys: UserKey[] = [];
  prototype.find = function (this: UserKeyLookups, key: UserKey, withMemberships: boolean) {
    keys.push(key);
    return original.call(this, key, withMemberships);
  };
  return {
    keys,
    restore: () => {
      prototype.find = original;
    },
  };
}

/** How a promise settled: its value, or what it rejected with. */
async function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

describe("batched userName/externalId lookups (UserKeyLookups)", () => {
  let sequelize: Sequelize;

  before(async function () {
    if (!serverUrl) this.skip(); // the embedded database is one connection, held by the shared service
    sequelize = createSequelize(shared.databaseUrl!, await testConfig(shared.databaseUrl), createLogger("silent"), 4);
  });

  after(async () => {
    await sequelize?.close();
  });

  describe("against PostgreSQL", () => {
    it("answers 200 concurrent lookups from two organizations for one userName each with its own organization's user, in a few queries", async () => {
      const [orgA, orgB] = await Promise.all([createOrgWithToken(base()), createOrgWithToken(base())]);
      const userName = `same.${unique()}@example.com`;
      const idA = await createUser(orgA, { userName });
      const idB = await createUser(orgB, { userName });
      expect(idA).to.not.equal(idB);

      const lookups = new UserKeyLookups(sequelize);
      const acquisitions = countAcquisitions(sequelize);
      const asked = Array.from({ length: 200 }, (_, i) => {
        const org = i % 2 === 0 ? orgA : orgB;
        const known = i % 4 < 2;
        const value = known ? (i % 8 < 4 ? userName.toUpperCase() : userName) : `nobody.${i}.${unique()}@example.com`;
        return { org, known, key: { organizationId: org.orgId, field: "userName" as const, value } };
      });
      let results;
      try {
        results = await Promise.all(asked.map((a) => lookups.find(a.key, false)));
      } finally {
        acquisitions.restore();
      }

      asked.forEach((a, i) => {
        const rows = results[i]!;
        if (!a.known) return expect(rows, `lookup ${i}`).to.deep.equal([]);
        expect(rows.map((r) => [r.id, r.organization_id, r.user_name]), `lookup ${i}`).to.deep.equal([
          [a.org === orgA ? idA : idB, a.org.orgId, userName],
        ]);
      });
      // The first two go out alone, one per free slot; the other 198 wait for a slot and share one query.
      expect(acquisitions.count()).to.be.at.least(1).and.at.most(4);
    });

    it("sends a lone lookup at once, with its memberships when asked", async () => {
      const org = await createOrgWithToken(base());
      const userId = await createUser(org);
      const group = await scim(base(), org.token, "POST", "/Groups", { displayName: `Lone ${unique()}`, members: [{ value: userId }] });
      expect(group.status).to.equal(201);
      const [row] = await new UserKeyLookups(sequelize).find({ organizationId: org.orgId, field: "externalId", value: (await userRow(userId)).external_id }, true);
      expect(row!.id).to.equal(userId);
      expect(row!.memberships!.map((m) => [m.team_id, m.user_id, m.status, m.source, m.display_name])).to.deep.equal([
        [group.body.id, userId, "active", "group", group.body.displayName],
      ]);
    });

    it("matches userName case-insensitively and externalId case-exactly", async () => {
      const org = await createOrgWithToken(base());
      const suffix = unique();
      const userName = `Mixed.Case.${suffix}@Example.com`;
      const externalId = `Ext-AbC-${suffix}`;
      const id = await createUser(org, { userName, externalId });
      const lookups = new UserKeyLookups(sequelize);
      const find = (field: UserKey["field"], value: string) => lookups.find({ organizationId: org.orgId, field, value }, false).then((rows) => rows.map((r) => r.id));
      const [lower, upper, exact, exactExt, lowerExt, upperExt] = await Promise.all([
        find("userName", userName.toLowerCase()),
        find("userName", userName.toUpperCase()),
        find("userName", userName),
        find("externalId", externalId),
        find("externalId", externalId.toLowerCase()),
        find("externalId", externalId.toUpperCase()),
      ]);
      expect({ lower, upper, exact, exactExt }).to.deep.equal({ lower: [id], upper: [id], exact: [id], exactExt: [id] });
      expect({ lowerExt, upperExt }).to.deep.equal({ lowerExt: [], upperExt: [] });
    });

    it("does not return soft-deleted users, only the live holder of a reused userName", async () => {
      const org = await createOrgWithToken(base());
      const userName = `reused.${unique()}@example.com`;
      const externalId = `gone-${unique()}`;
      const deletedId = await createUser(org, { userName, externalId });
      expect((await scim(base(), org.token, "DELETE", `/Users/${deletedId}`)).status).to.equal(204);
      const lookups = new UserKeyLookups(sequelize);
      const byName = () => lookups.find({ organizationId: org.orgId, field: "userName", value: userName }, true);
      const [name, ext] = await Promise.all([byName(), lookups.find({ organizationId: org.orgId, field: "externalId", value: externalId }, false)]);
      expect({ name, ext }).to.deep.equal({ name: [], ext: [] });

      const liveId = await createUser(org, { userName, externalId: `live-${unique()}` });
      expect((await byName()).map((r) => r.id)).to.deep.equal([liveId]);
    });

    it("returns every holder of one externalId (one per enterprise connection), oldest first", async () => {
      const { first, second, externalId } = await twoHoldersOfOneExternalId();
      const rows = await new UserKeyLookups(sequelize).find({ organizationId: first.orgId, field: "externalId", value: externalId }, false);
      expect(rows.map((r) => [r.id, r.enterprise_connection_id])).to.deep.equal([
        [second.userId, second.connectionId],
        [first.userId, first.connectionId],
      ]);
    });

    it("rejects every waiter of a failing batch and keeps answering (and batching) afterwards", async () => {
      const org = await createOrgWithToken(base());
      const userName = `survivor.${unique()}@example.com`;
      const id = await createUser(org, { userName });
      const lookups = new UserKeyLookups(sequelize);
      const key = (value: string): UserKey => ({ organizationId: org.orgId, field: "userName", value });

      // The first two go out alone; the next eight wait and form one batch, which PostgreSQL refuses
      // because one of its values holds U+0000 (the HTTP route never sends such a value here).
      const alone = [lookups.find(key(userName), false), lookups.find(key(`nobody.${unique()}`), false)];
      const batch = Array.from({ length: 8 }, (_, i) => lookups.find(key(i === 3 ? "bad\u0000value" : userName), false));
      const [aloneResults, batchResults] = await Promise.all([Promise.all(alone.map(settled)), Promise.all(batch.map(settled))]);

      expect(aloneResults.map((r) => r.value?.map((u) => u.id))).to.deep.equal([[id], []]);
      const errors = batchResults.map((r) => r.error);
      expect(batchResults.every((r) => r.value === undefined), "no waiter of the failed batch resolved").to.equal(true);
      expect(errors[0]).to.be.instanceOf(DatabaseError);
      expect((errors[0] as DatabaseError & { parent: { code?: string } }).parent.code).to.equal("22021");
      expect(new Set(errors).size, "every waiter got the batch's error").to.equal(1);

      const acquisitions = countAcquisitions(sequelize);
      let after;
      try {
        after = await Promise.all(Array.from({ length: 50 }, (_, i) => lookups.find(key(i % 2 ? userName.toUpperCase() : `nobody.${i}`), i % 3 === 0)));
      } finally {
        acquisitions.restore();
      }
      expect(after.map((rows) => rows.map((r) => r.id))).to.deep.equal(Array.from({ length: 50 }, (_, i) => (i % 2 ? [id] : [])));
      // Two groups (with and without memberships), at most two queries in flight: far fewer queries than lookups.
      expect(acquisitions.count()).to.be.at.most(6);
    });

    // Regression: JavaScript lowercases a word-final "Σ" to "ς", PostgreSQL (and the unique index) to "σ";
    // both sides of a case-insensitive comparison are now lowered in SQL.
    it("finds a user by its exact userName when the name holds a word-final capital sigma", async () => {
      const org = await createOrgWithToken(base());
      const userName = `ΟΔΟΣ-${unique()}`;
      const body = { userName, emails: [{ value: `sigma.${unique()}@example.com`, primary: true }] };
      const id = await createUser(org, body);
      const again = await scim(base(), org.token, "POST", "/Users", scimUserBody({ ...body, externalId: `other-${unique()}` }));
      expect(again.status, "the name is taken").to.equal(409);
      const rows = await new UserKeyLookups(sequelize).find({ organizationId: org.orgId, field: "userName", value: userName }, false);
      expect(rows.map((r) => r.id)).to.deep.equal([id]);
      const list = await scim(base(), org.token, "GET", filterPath(`userName eq "${userName}"`));
      expect(list.body.totalResults).to.equal(1);
    });

    // Regression: free slots went to the first group with waiters, in first-use order, so another kind of
    // lookup could wait behind an unbounded stream of the first kind. Groups are now served in turn.
    it("serves a waiting lookup of another kind while lookups of the first kind keep arriving", async () => {
      const lookups = new UserKeyLookups(sequelize);
      const organizationId = `org_absent_${unique()}`;
      let completed = 0;
      const worker = async () => {
        for (let i = 0; i < 150; i++) {
          await lookups.find({ organizationId, field: "userName", value: `busy.${i}` }, false);
          completed++;
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      while (completed < 40) await new Promise((resolve) => setImmediate(resolve));
      const askedAt = completed;
      const servedAt = await lookups.find({ organizationId, field: "externalId", value: "waiting" }, false).then(() => completed);
      await Promise.all(workers);
      // Eight busy workers, two queries in flight: a fair turn comes within a few batches of eight.
      expect(servedAt - askedAt).to.be.below(100);
    });
  });

  describe("GET /Users through the batcher", () => {
    /** The same filter made ineligible for the batcher, so the general search answers it. */
    const general = (expr: string) => `${expr} and userName pr`;

    it("answers userName and externalId lookups exactly as the general search does, with and without groups", async () => {
      const org = await createOrgWithToken(base());
      const suffix = unique();
      const member = { userName: `Member.${suffix}@example.com`, externalId: `ext-member-${suffix}` };
      const loner = { userName: `loner.${suffix}@example.com`, externalId: `ext-loner-${suffix}` };
      const memberId = await createUser(org, member);
      await createUser(org, loner);
      const teams = await Promise.all(["Zeta", "Alpha"].map((name) =>
        scim(base(), org.token, "POST", "/Groups", { displayName: `${name} ${suffix}`, members: [{ value: memberId }] })));
      expect(teams.map((t) => t.status)).to.deep.equal([201, 201]);

      const filters = [
        `userName eq "${member.userName.toUpperCase()}"`,
        `externalId eq "${member.externalId}"`,
        `userName eq "${loner.userName}"`,
        `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "${loner.userName}"`,
        `externalId eq "${member.externalId.toUpperCase()}"`,
        `userName eq "nobody.${suffix}@example.com"`,
      ];
      const projections = ["", "&excludedAttributes=groups", "&attributes=userName,groups", "&attributes=userName", "&count=5"];
      const spy = spyOnFind();
      const compared: Array<[string, unknown, unknown]> = [];
      try {
        for (const filter of filters) {
          for (const projection of projections) {
            const batched = await scim(base(), org.token, "GET", filterPath(filter, projection));
            const searched = await scim(base(), org.token, "GET", filterPath(general(filter), projection));
            expect(batched.status, batched.text).to.equal(200);
            expect(batched.contentType).to.equal("application/scim+json");
            compared.push([`${filter}${projection}`, batched.body, searched.body]);
          }
        }
      } finally {
        spy.restore();
      }
      expect(spy.keys, "every plain lookup, and only those, went to the batcher").to.have.length(filters.length * projections.length);
      for (const [label, batched, searched] of compared) expect(batched, label).to.deep.equal(searched);

      const at = (filter: number, projection: number) => compared[filter * projections.length + projection]![1];
      const byName = at(0, 0) as { totalResults: number; Resources: Array<{ id: string; groups: Array<{ display: string }> }> };
      expect(byName.totalResults).to.equal(1);
      expect(byName.Resources[0]!.id).to.equal(memberId);
      expect(byName.Resources[0]!.groups.map((g) => g.display)).to.deep.equal([`Alpha ${suffix}`, `Zeta ${suffix}`]);
      const excluded = at(0, 1) as { Resources: Array<Record<string, unknown>> };
      expect(excluded.Resources[0]).to.not.have.property("groups");
      expect((at(1, 0) as { totalResults: number }).totalResults).to.equal(1);
      expect((at(4, 0) as { totalResults: number }).totalResults, "externalId is case-exact").to.equal(0);
    });

    it("pages several holders of one externalId through the general search when they do not fit the page", async () => {
      const { first, second, externalId } = await twoHoldersOfOneExternalId();
      const spy = spyOnFind();
      let all, page, searched;
      try {
        all = await scim(base(), first.token, "GET", filterPath(`externalId eq "${externalId}"`));
        page = await scim(base(), first.token, "GET", filterPath(`externalId eq "${externalId}"`, "&count=1"));
        searched = await scim(base(), first.token, "GET", filterPath(general(`externalId eq "${externalId}"`), "&count=1"));
      } finally {
        spy.restore();
      }
      expect(all.body.totalResults).to.equal(2);
      expect(all.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([second.userId, first.userId]);
      expect(page.body).to.deep.equal(searched.body);
      expect(page.body).to.include({ totalResults: 2, itemsPerPage: 1 });
      expect(page.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([second.userId]);
      expect(spy.keys).to.have.length(2);
    });

    it("answers count=0 and startIndex>1 like the general search, without the batcher", async () => {
      const org = await createOrgWithToken(base());
      const userName = `paged.${unique()}@example.com`;
      await createUser(org, { userName });
      const spy = spyOnFind();
      const pairs: Array<[string, { status: number; body: unknown }, { status: number; body: unknown }]> = [];
      try {
        for (const extra of ["&count=0", "&startIndex=2", "&startIndex=1&count=0", "&startIndex=2&count=1"]) {
          pairs.push([
            extra,
            await scim(base(), org.token, "GET", filterPath(`userName eq "${userName}"`, extra)),
            await scim(base(), org.token, "GET", filterPath(general(`userName eq "${userName}"`), extra)),
          ]);
        }
      } finally {
        spy.restore();
      }
      expect(spy.keys).to.deep.equal([]);
      for (const [extra, batched, searched] of pairs) {
        expect(batched.status, extra).to.equal(200);
        expect(batched.body, extra).to.deep.equal(searched.body);
      }
      expect(pairs[0]![1].body).to.deep.include({ totalResults: 1, itemsPerPage: 0 });
      expect(pairs[1]![1].body).to.deep.include({ totalResults: 1, startIndex: 2, itemsPerPage: 0, Resources: [] });
    });

    it("answers a value holding an escaped U+0000 with 200 and no results, and never lets it spoil other tenants' lookups", async () => {
      const [orgA, orgB] = await Promise.all([createOrgWithToken(base()), createOrgWithToken(base())]);
      const userName = `nul.${unique()}@example.com`;
      const ids = { [orgA.orgId]: await createUser(orgA, { userName }), [orgB.orgId]: await createUser(orgB, { userName }) };
      // `\u0000` inside the filter's string literal: the prefix before it names a real user.
      const nulFilters = [`userName eq "${userName}\\u0000"`, `externalId eq "x\\u0000y"`];
      const spy = spyOnFind();
      let results;
      try {
        results = await Promise.all(Array.from({ length: 40 }, (_, i) => {
          const org = i % 2 ? orgA : orgB;
          const filter = i % 4 < 2 ? `userName eq "${userName}"` : nulFilters[i % 8 < 4 ? 0 : 1]!;
          return scim(base(), org.token, "GET", filterPath(filter)).then((res) => ({ org, filter, res }));
        }));
      } finally {
        spy.restore();
      }
      for (const { org, filter, res } of results) {
        expect(res.status, res.text).to.equal(200);
        expect(res.contentType).to.equal("application/scim+json");
        if (filter.includes("\\u0000")) {
          expect(res.body, filter).to.deep.include({ totalResults: 0, itemsPerPage: 0, Resources: [] });
        } else {
          expect(res.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([ids[org.orgId]]);
        }
      }
      expect(spy.keys.every((k) => !k.value.includes("\u0000")), "no U+0000 value reached the batcher").to.equal(true);
      expect(spy.keys).to.have.length(20);
    });

    it("keeps concurrent HTTP lookups of one userName from two organizations apart", async () => {
      const [orgA, orgB] = await Promise.all([createOrgWithToken(base()), createOrgWithToken(base())]);
      const userName = `shared.${unique()}@example.com`;
      const idA = await createUser(orgA, { userName });
      const idB = await createUser(orgB, { userName: userName.toUpperCase() });
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => {
        const org = i % 2 ? orgA : orgB;
        return scim(base(), org.token, "GET", filterPath(`userName eq "${i % 3 ? userName : userName.toUpperCase()}"`)).then((res) => ({ org, res }));
      }));
      for (const { org, res } of results) {
        expect(res.status).to.equal(200);
        expect(res.body.totalResults).to.equal(1);
        expect(res.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([org === orgA ? idA : idB]);
      }
    });
  });

  /** One organization with two enterprise connections, each holding a user with the same externalId; the second-created is made the older. */
  async function twoHoldersOfOneExternalId() {
    const first = await createOrgWithToken(base());
    const connection = await admin(base(), "POST", `/v1/organizations/${first.orgId}/enterprise_connections`, { name: "entra", provider: "entra" });
    expect(connection.status).to.equal(201);
    const token = await admin(base(), "POST", `/v1/organizations/${first.orgId}/scim/tokens`, { name: "second", enterprise_connection_id: connection.body.id });
    expect(token.status).to.equal(201);
    const second: OrgWithToken = { orgId: first.orgId, token: token.body.token, tokenId: token.body.id, connectionId: connection.body.id };
    const externalId = `shared-ext-${unique()}`;
    const firstId = await createUser(first, { externalId });
    const secondId = await createUser(second, { externalId });
    // Oldest first means by created_at, not by id: the later id gets the earlier timestamp.
    await shared.service.deps.db.sequelize.query(`UPDATE users SET created_at = created_at - interval '1 hour' WHERE id = $1`, { bind: [secondId] });
    return { first: { ...first, userId: firstId }, second: { ...second, userId: secondId }, externalId };
  }

  async function userRow(id: string): Promise<{ external_id: string }> {
    const [row] = await shared.service.deps.db.sequelize.query<{ external_id: string }>(`SELECT external_id FROM users WHERE id = $1`, { bind: [id], type: QueryTypes.SELECT });
    return row!;
  }
});
