import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { QueryTypes, type Sequelize } from "sequelize";
import { compileFilterToSql, matchesFilter, parseFilter, sortSqlFor } from "../../server/scim/filter/index.ts";
import { shared } from "../helpers/rootHooks.ts";
import { bjensen, CORE_USER, ENTERPRISE, RFC_FILTER_EXAMPLES } from "./scimFilterFixtures.ts";

/**
 * Runs compiled filters against the real PostgreSQL schema: the SQL must execute, and select
 * exactly the rows the in-memory evaluator (and, for key cases, the test itself) says it should.
 */

type UserRow = {
  id: string;
  userName: string;
  externalId: string | null;
  active: boolean;
  created: string;
  updated: string;
  resource: Record<string, unknown>;
};

const run = randomBytes(4).toString("hex");
const orgId = `org_filter_${run}`;
const connId = `conn_filter_${run}`;
const id = (name: string) => `user_${name}_${run}`;
const teamId = (name: string) => `team_${name}_${run}`;

function userRows(): UserRow[] {
  const { id: _id, meta: _meta, userName: _userName, externalId: _externalId, active: _active, ...barbara } = bjensen();
  return [
    {
      id: id("bjensen"), userName: "bjensen", externalId: "bjensen", active: true,
      created: "2010-01-23T04:56:22.000Z", updated: "2011-05-13T04:42:34.000Z", resource: barbara,
    },
    {
      id: id("jsmith"), userName: "JSmith@Example.org", externalId: "JS-1", active: false,
      created: "2011-05-13T04:42:34.500Z", updated: "2012-01-01T00:00:00.000Z",
      resource: {
        schemas: [CORE_USER],
        name: { familyName: "smith", givenName: "John" },
        userType: "Intern",
        emails: [
          { value: "jsmith@example.com", type: "home" },
          { value: "john@work.example.org", type: "work", primary: true },
        ],
        ims: [{ value: "js@foo.com", type: "xmpp" }],
      },
    },
    {
      id: id("zed"), userName: "zed", externalId: null, active: true,
      created: "2009-06-01T12:00:00.000Z", updated: "2009-06-01T12:00:00.000Z",
      resource: { schemas: [CORE_USER], title: "", emails: [] },
    },
    {
      id: id("hostile"), userName: "o'brien%_\\", externalId: "H%_\\", active: true,
      created: "2013-03-03T03:03:03.000Z", updated: "2013-03-03T03:03:03.000Z",
      resource: {
        schemas: [CORE_USER, ENTERPRISE],
        title: "50% off_sale\\",
        name: { familyName: "O'Brien" },
        emails: [{ value: "ob@example.com", type: "work", primary: "True" }],
        [ENTERPRISE]: { department: "R&D" },
      },
    },
    {
      id: id("guide"), userName: "tguide", externalId: "tg", active: true,
      created: "2014-01-01T00:00:00.000Z", updated: "2014-01-01T00:00:00.000Z",
      resource: { schemas: [CORE_USER], title: "tour guide", userType: "employee", emails: [{ value: "TG@EXAMPLE.COM" }] },
    },
  ];
}

/** The user as a SCIM client sees it: the stored resource plus the indexed columns and meta. */
function presented(row: UserRow): Record<string, unknown> {
  return {
    ...row.resource,
    id: row.id,
    userName: row.userName,
    ...(row.externalId === null ? {} : { externalId: row.externalId }),
    active: row.active,
    meta: { created: row.created, lastModified: row.updated },
  };
}

const teams = [
  { id: teamId("finance"), displayName: "Finance Approvers", externalId: "fin", members: [id("bjensen"), id("jsmith")] },
  { id: teamId("eng"), displayName: "Eng", externalId: null, members: [id("zed")] },
  { id: teamId("empty"), displayName: "Empty", externalId: null, members: [] as string[] },
];

async function seed(sequelize: Sequelize): Promise<void> {
  await sequelize.query("INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3)", {
    bind: [orgId, "Filter test", `filter-${run}`],
  });
  await sequelize.query(
    "INSERT INTO enterprise_connections (id, organization_id, name, provider) VALUES ($1, $2, 'filters', 'generic')",
    { bind: [connId, orgId] },
  );
  for (const row of userRows()) {
    await sequelize.query(
      `INSERT INTO users (id, organization_id, enterprise_connection_id, external_id, user_name, active, scim_resource, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)`,
      { bind: [row.id, orgId, connId, row.externalId, row.userName, row.active, JSON.stringify(row.resource), row.created, row.updated] },
    );
  }
  for (const team of teams) {
    await sequelize.query(
      `INSERT INTO teams (id, organization_id, enterprise_connection_id, display_name, external_id) VALUES ($1, $2, $3, $4, $5)`,
      { bind: [team.id, orgId, connId, team.displayName, team.externalId] },
    );
    for (const member of team.members) {
      await sequelize.query("INSERT INTO team_memberships (organization_id, team_id, user_id) VALUES ($1, $2, $3)", {
        bind: [orgId, team.id, member],
      });
    }
  }
}

async function selectIds(sequelize: Sequelize, sql: string, params: unknown[]): Promise<string[]> {
  const rows = await sequelize.query<{ id: string }>(sql, { bind: [orgId, ...params], type: QueryTypes.SELECT });
  return rows.map((row) => row.id).sort();
}

async function usersMatching(sequelize: Sequelize, filter: string): Promise<string[]> {
  const compiled = compileFilterToSql(parseFilter(filter, { resourceType: "User" }), "User", { bindOffset: 1 });
  return selectIds(sequelize, `SELECT u.id FROM users u WHERE u.organization_id = $1 AND (${compiled.sql})`, compiled.params);
}

async function teamsMatching(sequelize: Sequelize, filter: string): Promise<string[]> {
  const compiled = compileFilterToSql(parseFilter(filter, { resourceType: "Group" }), "Group", { bindOffset: 1 });
  return selectIds(sequelize, `SELECT t.id FROM teams t WHERE t.organization_id = $1 AND (${compiled.sql})`, compiled.params);
}

function inMemory(filter: string): string[] {
  const node = parseFilter(filter, { resourceType: "User" });
  return userRows().filter((row) => matchesFilter(node, presented(row), "User")).map((row) => row.id).sort();
}

describe("SCIM filter SQL against PostgreSQL", () => {
  let sequelize: Sequelize;

  before(async () => {
    sequelize = shared.service.deps.db.sequelize;
    await seed(sequelize);
  });

  after(async () => {
    await sequelize.query("DELETE FROM organizations WHERE id = $1", { bind: [orgId] });
  });

  describe("the RFC 7644 examples select what in-memory evaluation selects", () => {
    for (const { filter } of RFC_FILTER_EXAMPLES) {
      it(filter, async () => {
        expect(await usersMatching(sequelize, filter)).to.deep.equal(inMemory(filter));
      });
    }
  });

  it("selects the expected users for the RFC examples that distinguish them", async () => {
    expect(await usersMatching(sequelize, 'userName eq "bjensen"')).to.deep.equal([id("bjensen")]);
    expect(await usersMatching(sequelize, 'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"'))
      .to.deep.equal([id("bjensen"), id("hostile")].sort());
    expect(await usersMatching(sequelize, 'meta.lastModified ge "2011-05-13T04:42:34Z"'))
      .to.deep.equal([id("bjensen"), id("jsmith"), id("hostile"), id("guide")].sort());
    expect(await usersMatching(sequelize, 'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]'))
      .to.deep.equal([id("bjensen"), id("jsmith"), id("hostile")].sort());
  });

  it("applies both conditions of a value filter to the same element", async () => {
    // jsmith has a work email and an @example.com email, but not one that is both.
    expect(await usersMatching(sequelize, 'emails[type eq "work" and value co "@example.com"]'))
      .to.deep.equal([id("bjensen"), id("hostile")].sort());
    expect(await usersMatching(sequelize, 'emails.type eq "work" and emails.value co "@example.com"'))
      .to.deep.equal([id("bjensen"), id("jsmith"), id("hostile")].sort());
  });

  const moreFilters = [
    'title ne "Tour Guide"',
    'not (title eq "Tour Guide")',
    "title eq null",
    "title pr",
    "externalId eq null",
    'externalId eq "JS-1"',
    'externalId eq "js-1"',
    "active eq false",
    'active eq "True"',
    'userName eq "JSMITH@example.ORG"',
    'userName co "%"',
    'userName co "_"',
    'title co "\\\\"',
    'title ew "SALE\\\\"',
    'externalId sw "H%_"',
    `${ENTERPRISE}:department eq "r&d"`,
    `${ENTERPRISE}.manager.value pr`,
    "emails.primary eq true",
    "emails[primary eq true and type eq \"work\"]",
    'emails ne "bjensen@example.com"',
    'emails eq "tg@example.com"',
    "emails pr",
    "not (emails pr)",
    "emails eq null",
    'meta.created gt "2011-05-13T04:42:34Z"',
    'meta.created eq "2010-01-23T05:56:22+01:00"',
    'meta.lastModified lt "2013-03-03T03:03:03.001Z" and meta.lastModified ge "2012-01-01T00:00:00Z"',
    'name.familyName ge "o"',
    'name.familyName lt "P"',
    `id eq "${id("zed")}"`,
    'ims[type eq "xmpp"] or title pr',
    'userType eq "EMPLOYEE" and not (title ne "TOUR GUIDE")',
    "name pr",
  ];
  for (const filter of moreFilters) {
    it(`agrees with in-memory evaluation on ${filter}`, async () => {
      expect(await usersMatching(sequelize, filter)).to.deep.equal(inMemory(filter));
    });
  }

  it("selects the expected users for null, absence and wildcard cases", async () => {
    expect(await usersMatching(sequelize, 'title ne "Tour Guide"')).to.deep.equal([id("jsmith"), id("zed"), id("hostile")].sort());
    expect(await usersMatching(sequelize, "title eq null")).to.deep.equal([id("jsmith"), id("zed")].sort());
    expect(await usersMatching(sequelize, 'userName co "%"')).to.deep.equal([id("hostile")]);
    expect(await usersMatching(sequelize, 'userName co "_"')).to.deep.equal([id("hostile")]);
    expect(await usersMatching(sequelize, "emails.primary eq true")).to.deep.equal([id("bjensen"), id("jsmith"), id("hostile")].sort());
    expect(await usersMatching(sequelize, 'meta.created gt "2011-05-13T04:42:34Z"')).to.deep.equal([id("jsmith"), id("hostile"), id("guide")].sort());
  });

  it("treats hostile strings as plain values", async () => {
    expect(await usersMatching(sequelize, `userName eq ${JSON.stringify("o'brien%_\\")}`)).to.deep.equal([id("hostile")]);
    expect(await usersMatching(sequelize, `title eq "'; DROP TABLE users; --" or userName eq "x') OR 1=1 --"`)).to.deep.equal([]);
    const rows = await sequelize.query<{ count: number }>("SELECT count(*)::int AS count FROM users WHERE organization_id = $1", {
      bind: [orgId],
      type: QueryTypes.SELECT,
    });
    expect(rows[0]?.count).to.equal(5);
  });

  it("filters Groups by displayName and by members in team_memberships", async () => {
    expect(await teamsMatching(sequelize, 'displayName eq "finance APPROVERS"')).to.deep.equal([teamId("finance")]);
    expect(await teamsMatching(sequelize, `members eq "${id("jsmith")}"`)).to.deep.equal([teamId("finance")]);
    expect(await teamsMatching(sequelize, `members[value eq "${id("bjensen")}" or value eq "${id("zed")}"]`))
      .to.deep.equal([teamId("finance"), teamId("eng")].sort());
    expect(await teamsMatching(sequelize, "members pr")).to.deep.equal([teamId("finance"), teamId("eng")].sort());
    expect(await teamsMatching(sequelize, "not (members pr)")).to.deep.equal([teamId("empty")]);
    // RFC 7644 §3.4.2.2: a multi-valued attribute matches when any value does, so ne holds when some member differs.
    expect(await teamsMatching(sequelize, `members ne "${id("bjensen")}"`)).to.deep.equal([teamId("finance"), teamId("eng")].sort());
    expect(await teamsMatching(sequelize, `not (members eq "${id("bjensen")}")`)).to.deep.equal([teamId("eng"), teamId("empty")].sort());
    expect(await teamsMatching(sequelize, 'displayName sw "e"')).to.deep.equal([teamId("eng"), teamId("empty")].sort());
    expect(await teamsMatching(sequelize, "externalId eq null")).to.deep.equal([teamId("eng"), teamId("empty")].sort());
  });

  it("sorts with the ORDER BY expressions sortSqlFor returns", async () => {
    const order = async (sortBy: string, direction = "ASC") => {
      const rows = await sequelize.query<{ id: string }>(
        `SELECT u.id FROM users u WHERE u.organization_id = $1 ORDER BY ${sortSqlFor(sortBy, "User")} ${direction} NULLS LAST, u.id`,
        { bind: [orgId], type: QueryTypes.SELECT },
      );
      return rows.map((row) => row.id);
    };
    expect(await order("userName")).to.deep.equal([id("bjensen"), id("jsmith"), id("hostile"), id("guide"), id("zed")]);
    expect(await order("meta.created", "DESC")).to.deep.equal([id("guide"), id("hostile"), id("jsmith"), id("bjensen"), id("zed")]);
    // The primary email sorts: john@… (primary) before jsmith@…; users without emails last.
    expect(await order("emails")).to.deep.equal([id("bjensen"), id("jsmith"), id("hostile"), id("guide"), id("zed")]);
    expect((await order("name.familyName")).slice(0, 3)).to.deep.equal([id("hostile"), id("bjensen"), id("jsmith")]);
    expect(await order(`${ENTERPRISE}:department`)).to.have.length(5);
    // "$ref" must not reach Sequelize as "$ref": it would be taken for a bind parameter.
    expect(sortSqlFor(`${ENTERPRISE}:manager.$ref`, "User")).not.to.include("$");
    expect(await order(`${ENTERPRISE}:manager.$ref`)).to.have.length(5);
  });

  it("refuses to sort by a user's groups, which live in team_memberships rather than the stored resource", () => {
    expect(() => sortSqlFor("groups.value", "User")).to.throw(/cannot be sorted on/);
    expect(() => sortSqlFor("groups", "User")).to.throw(/cannot be sorted on/);
  });
});
