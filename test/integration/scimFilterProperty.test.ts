import { expect } from "chai";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { QueryTypes, type Sequelize } from "sequelize";
import { USER_MEMBERSHIPS_COLUMN } from "../../server/models/membershipQueries.ts";
import type { MembershipRow, UserRow } from "../../server/models/rows.ts";
import { compileFilterToSql, matchesFilter, parseFilter } from "../../server/scim/filter/index.ts";
import { presentScimUser } from "../../server/scim/presenters/scimUser.ts";
import { shared } from "../helpers/rootHooks.ts";

/**
 * Property: for generated users (absent, empty and malformed attributes, multi-valued emails,
 * team memberships) and generated filters (comparisons, pr, null, value paths, not/and/or), the
 * filter compiled to SQL selects, in real PostgreSQL, exactly the users the in-memory matcher
 * selects from the resources GET presents.
 */

const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const WORDS = ["a", "ab", "AB", "abc", "b", "work", "home", ""] as const;
const TEAMS = ["Ab", "abc", "Zed"] as const;

const word = fc.constantFrom(...WORDS);
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });

const email = fc.oneof(
  { weight: 9, arbitrary: fc.record({ value: optional(word), type: optional(fc.constantFrom("work", "home", "other")), primary: optional(fc.boolean()) }) },
  { weight: 1, arbitrary: word }, // a malformed element, as legacy data may hold
);
const name = fc.oneof(
  fc.constant(undefined),
  fc.constant({}),
  fc.record({ familyName: optional(word), givenName: optional(word) }),
  fc.constant("Ada"), // malformed: a string where an object belongs
);

const userSpec = fc.record({
  userName: fc.constantFrom("ada", "Bob", "abc", "b.ab"),
  externalId: optional(word),
  active: fc.boolean(),
  title: optional(word),
  name,
  emails: optional(fc.array(email, { maxLength: 3 })),
  teams: fc.subarray([0, 1, 2]),
  suspended: fc.boolean(),
});
type UserSpec = typeof userSpec extends fc.Arbitrary<infer T> ? T : never;

/** A filter as text, built from the grammar of RFC 7644 §3.4.2.2. */
function filterArb(teamIds: readonly string[]): fc.Arbitrary<string> {
  const quoted = fc.constantFrom(...WORDS, ...TEAMS, ...teamIds).map((value) => JSON.stringify(value));
  const stringOp = fc.constantFrom("eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le");
  const compare = (paths: readonly string[]) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...paths), stringOp, quoted).map(([path, op, value]) => `${path} ${op} ${value}`) },
      { weight: 2, arbitrary: fc.constantFrom(...paths).map((path) => `${path} pr`) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...paths), fc.constantFrom("eq", "ne")).map(([path, op]) => `${path} ${op} null`) },
    );
  const booleans = (paths: readonly string[]) =>
    fc.tuple(fc.constantFrom(...paths), fc.constantFrom("eq", "ne"), fc.boolean()).map(([path, op, value]) => `${path} ${op} ${value}`);
  const inner = (strings: readonly string[], bools: readonly string[]) =>
    fc.letrec<{ f: string }>((tie) => ({
      f: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        compare(strings),
        ...(bools.length > 0 ? [booleans(bools)] : []),
        tie("f").map((f) => `not (${f})`),
        fc.tuple(tie("f"), fc.constantFrom("and", "or"), tie("f")).map(([a, op, b]) => `(${a} ${op} ${b})`),
      ),
    })).f;
  const valuePath = fc.oneof(
    inner(["value", "type"], ["primary"]).map((f) => `emails[${f}]`),
    inner(["familyName", "givenName"], []).map((f) => `name[${f}]`),
    inner(["value", "display", "type"], []).map((f) => `groups[${f}]`),
  );
  const topStrings = ["userName", "externalId", "title", "name.familyName", "name.givenName", "emails", "emails.value", "emails.type",
    "groups", "groups.value", "groups.display", "groups.type"];
  const atom = fc.oneof(
    { weight: 5, arbitrary: compare(topStrings) },
    { weight: 1, arbitrary: booleans(["active", "emails.primary"]) },
    { weight: 1, arbitrary: fc.constantFrom("name", "emails", "groups").map((path) => `${path} pr`) },
    { weight: 3, arbitrary: valuePath },
  );
  return fc.letrec<{ f: string }>((tie) => ({
    f: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      atom,
      tie("f").map((f) => `not (${f})`),
      fc.tuple(tie("f"), fc.constantFrom("and", "or"), tie("f")).map(([a, op, b]) => `(${a} ${op} ${b})`),
    ),
  })).f;
}

type World = { orgId: string; teamIds: string[]; users: Array<UserRow & { memberships: MembershipRow[] }> };

const BASE_URL = "http://rollcall.test";

/** Writes the users, the teams (one of them deleted) and the memberships of one generated world. */
async function seed(sequelize: Sequelize, specs: UserSpec[]): Promise<World> {
  const run = randomBytes(5).toString("hex");
  const orgId = `org_prop_${run}`;
  const connId = `conn_prop_${run}`;
  const teamIds = TEAMS.map((_, index) => `team_${index}_${run}`);
  await sequelize.query("INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3)", { bind: [orgId, "Filter property", `prop-${run}`] });
  await sequelize.query("INSERT INTO enterprise_connections (id, organization_id, name, provider) VALUES ($1, $2, 'p', 'generic')", { bind: [connId, orgId] });
  for (const [index, displayName] of TEAMS.entries()) {
    await sequelize.query(
      "INSERT INTO teams (id, organization_id, enterprise_connection_id, display_name, deleted_at) VALUES ($1, $2, $3, $4, $5)",
      { bind: [teamIds[index], orgId, connId, displayName, index === 2 ? new Date() : null] },
    );
  }
  const externalIds = new Set<string>();
  for (const [index, spec] of specs.entries()) {
    const id = `user_${index}_${run}`;
    // externalId is unique per connection: a repeated one is left out.
    const externalId = spec.externalId === undefined || externalIds.has(spec.externalId) ? null : spec.externalId;
    if (externalId !== null) externalIds.add(externalId);
    const resource: Record<string, unknown> = { schemas: [CORE_USER] };
    if (spec.title !== undefined) resource.title = spec.title;
    if (spec.name !== undefined) resource.name = spec.name;
    if (spec.emails !== undefined) resource.emails = spec.emails.map((e) => (typeof e === "string" ? e : JSON.parse(JSON.stringify(e))));
    await sequelize.query(
      `INSERT INTO users (id, organization_id, enterprise_connection_id, external_id, user_name, active, scim_resource)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
      { bind: [id, orgId, connId, externalId, `${spec.userName}${index}`, spec.active, JSON.stringify(resource)] },
    );
    for (const team of spec.teams) {
      await sequelize.query("INSERT INTO team_memberships (organization_id, team_id, user_id, status) VALUES ($1, $2, $3, $4)", {
        bind: [orgId, teamIds[team], id, spec.suspended ? "suspended" : "active"],
      });
    }
  }
  const users = await sequelize.query<UserRow & { memberships: MembershipRow[] }>(
    `SELECT u.*${USER_MEMBERSHIPS_COLUMN} FROM users u WHERE u.organization_id = $1`,
    { bind: [orgId], type: QueryTypes.SELECT },
  );
  return { orgId, teamIds, users };
}

async function sqlMatches(sequelize: Sequelize, world: World, filter: string): Promise<string[]> {
  const compiled = compileFilterToSql(parseFilter(filter, { resourceType: "User" }), "User", { bindOffset: 1 });
  const rows = await sequelize.query<{ id: string }>(
    `SELECT u.id FROM users u WHERE u.organization_id = $1 AND (${compiled.sql})`,
    { bind: [world.orgId, ...compiled.params], type: QueryTypes.SELECT },
  );
  return rows.map((row) => row.id).sort();
}

function memoryMatches(world: World, filter: string): string[] {
  const node = parseFilter(filter, { resourceType: "User" });
  return world.users
    .filter((row) => matchesFilter(node, presentScimUser(row, row.memberships, BASE_URL), "User"))
    .map((row) => row.id)
    .sort();
}

describe("SCIM filters: SQL and the in-memory matcher agree (property, real PostgreSQL)", () => {
  it("select the same users for generated users and filters", async function () {
    this.timeout(300_000);
    const sequelize = shared.service.deps.db.sequelize;
    const worlds: string[] = [];
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(userSpec, { minLength: 1, maxLength: 7 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (specs, filterSeed) => {
          const world = await seed(sequelize, specs);
          worlds.push(world.orgId);
          const filters = fc.sample(filterArb(world.teamIds), { numRuns: 12, seed: filterSeed });
          for (const filter of filters) {
            expect(await sqlMatches(sequelize, world, filter), filter).to.deep.equal(memoryMatches(world, filter));
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      for (const orgId of worlds) await sequelize.query("DELETE FROM organizations WHERE id = $1", { bind: [orgId] });
    }
  });
});
