import { expect } from "chai";
import fc from "fast-check";
import { InvalidFilterError, ValidationError } from "../../server/errors.ts";
import { compileFilterToSql, parseFilter, sortSqlFor, type FilterNode } from "../../server/scim/filter/index.ts";
import { ENTERPRISE, RFC_FILTER_EXAMPLES } from "./scimFilterFixtures.ts";

function compileUser(filter: string, bindOffset = 0) {
  return compileFilterToSql(parseFilter(filter, { resourceType: "User" }), "User", { bindOffset });
}

function compileGroup(filter: string, bindOffset = 0) {
  return compileFilterToSql(parseFilter(filter, { resourceType: "Group" }), "Group", { bindOffset });
}

function compileError(filter: string, resourceType: "User" | "Group"): InvalidFilterError {
  try {
    compileFilterToSql(parseFilter(filter), resourceType, { bindOffset: 0 });
  } catch (error) {
    if (error instanceof InvalidFilterError) return error;
    throw error;
  }
  throw new Error(`expected ${filter} to be rejected for ${resourceType}`);
}

/** The `$n` placeholders of a SQL text, in order of appearance. */
function placeholders(sql: string): number[] {
  return [...sql.matchAll(/\$(\d+)/g)].map((match) => Number(match[1]));
}

describe("SCIM filter SQL compilation", () => {
  describe("RFC 7644 §3.4.2.2 examples", () => {
    for (const { filter } of RFC_FILTER_EXAMPLES) {
      it(`compiles ${filter} with one numbered parameter per value`, () => {
        const { sql, params } = compileUser(filter, 3);
        const used = placeholders(sql);
        expect(used).to.deep.equal(params.map((_, index) => index + 4));
        expect(sql).not.to.match(/"(?:bjensen|J|Employee|Intern|example\.com|work)"/);
        expect(sql.split("(").length).to.equal(sql.split(")").length);
      });
    }

    it("maps userName eq to the lower(user_name) index, lowering the parameter in SQL as the index does", () => {
      expect(compileUser('userName eq "BJensen"', 1)).to.deep.equal({ sql: "lower(u.user_name) = lower($2)", params: ["BJensen"] });
      expect(compileUser('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"')).to.deep.equal({
        sql: "lower(u.user_name) LIKE lower($1)",
        params: ["J%"],
      });
    });

    it("maps the dateTime comparisons to the timestamp columns", () => {
      expect(compileUser('meta.lastModified gt "2011-05-13T04:42:34Z"')).to.deep.equal({
        sql: "u.updated_at > $1::timestamptz",
        params: ["2011-05-13T04:42:34Z"],
      });
      expect(compileUser('meta.created le "2011-05-13T04:42:34"').sql).to.equal("u.created_at <= $1::timestamptz");
      expect(compileUser('meta.created le "2011-05-13T04:42:34"').params).to.deep.equal(["2011-05-13T04:42:34Z"]);
    });

    it("compiles a value filter to one EXISTS over the array elements, so both conditions hold for the same email", () => {
      const { sql, params } = compileUser('emails[type eq "work" and value co "@example.com"]');
      expect(sql).to.equal(
        "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(u.scim_resource->'emails') = 'array' " +
          "THEN u.scim_resource->'emails' ELSE '[]'::jsonb END) AS e(v) WHERE jsonb_typeof(e.v) = 'object' AND (lower(e.v->>'type') = lower($1) AND lower(e.v->>'value') LIKE lower($2)))",
      );
      expect(params).to.deep.equal(["work", "%@example.com%"]);
    });

    it("reads emails co as the value sub-attribute", () => {
      expect(compileUser('emails co "x"').sql).to.equal(compileUser('emails.value co "x"').sql);
    });
  });

  describe("columns and jsonb", () => {
    it("maps id and externalId case-exactly and active as a boolean", () => {
      expect(compileUser('id eq "user_1"')).to.deep.equal({ sql: "u.id = $1", params: ["user_1"] });
      expect(compileUser('externalId eq "AbC"')).to.deep.equal({ sql: "u.external_id = $1", params: ["AbC"] });
      expect(compileUser('active eq "False"')).to.deep.equal({ sql: "u.active = $1", params: [false] });
    });

    it("reads extension attributes under their full URN key", () => {
      expect(compileUser(`${ENTERPRISE}.department eq "Sales"`)).to.deep.equal({
        sql: `lower(u.scim_resource->'${ENTERPRISE}'->>'department') = lower($1)`,
        params: ["Sales"],
      });
      expect(compileUser(`${ENTERPRISE}:manager.value eq "user_9"`).sql).to.equal(
        `lower(u.scim_resource->'${ENTERPRISE}'->'manager'->>'value') = lower($1)`,
      );
    });

    it("uses null-safe ne and treats eq null as absent", () => {
      expect(compileUser('title ne "x"').sql).to.equal("lower(u.scim_resource->>'title') IS DISTINCT FROM lower($1)");
      expect(compileUser("title eq null").sql).to.match(/^\(NOT \(u\.scim_resource->'title' IS NOT NULL AND/);
      expect(compileUser("externalId eq null").sql).to.equal("(NOT (u.external_id IS NOT NULL AND u.external_id <> ''))");
    });

    it("negates with IS NOT TRUE so that not(absent = x) is true", () => {
      expect(compileUser('not (title eq "x")').sql).to.equal("((lower(u.scim_resource->>'title') = lower($1)) IS NOT TRUE)");
    });

    it("makes ne on a multi-valued attribute mean some value differs (RFC 7644 §3.4.2.2: any value)", () => {
      expect(compileUser('emails.value ne "a@b.c"').sql).to.match(/^EXISTS \(SELECT 1 FROM jsonb_array_elements.* IS DISTINCT FROM lower\(\$1\)\)$/);
    });

    it("escapes LIKE wildcards in the parameter, not the SQL", () => {
      expect(compileUser('title co "50%_off\\\\"')).to.deep.equal({
        sql: "lower(u.scim_resource->>'title') LIKE lower($1)",
        params: ["%50\\%\\_off\\\\%"],
      });
      expect(compileUser('externalId ew "A%"').params).to.deep.equal(["%A\\%"]);
    });

    it("orders strings by code point", () => {
      expect(compileUser('title gt "m"').sql).to.equal(`lower(u.scim_resource->>'title') COLLATE "C" > lower($1)`);
    });
  });

  describe("Groups", () => {
    it("maps displayName eq to the lower(display_name) index", () => {
      expect(compileGroup('displayName eq "Finance Approvers"', 1)).to.deep.equal({
        sql: "lower(t.display_name) = lower($2)",
        params: ["Finance Approvers"],
      });
    });

    it("maps members, members.value and members[value eq] to team_memberships", () => {
      const expected = "EXISTS (SELECT 1 FROM team_memberships m WHERE m.team_id = t.id AND m.user_id = $1)";
      expect(compileGroup('members eq "user_1"').sql).to.equal(expected);
      expect(compileGroup('members.value eq "user_1"').sql).to.equal(expected);
      expect(compileGroup('members[value eq "user_1" or value eq "user_2"]')).to.deep.equal({
        sql: "EXISTS (SELECT 1 FROM team_memberships m WHERE m.team_id = t.id AND (m.user_id = $1 OR m.user_id = $2))",
        params: ["user_1", "user_2"],
      });
      expect(compileGroup("members pr").sql).to.equal("EXISTS (SELECT 1 FROM team_memberships m WHERE m.team_id = t.id)");
    });

    it("refuses member attributes that are not stored", () => {
      expect(compileError('members.display eq "x"', "Group").message).to.match(/members\.display/);
      expect(compileError('members[type eq "User"]', "Group").message).to.match(/members\.type/);
    });
  });

  describe("errors", () => {
    it("rejects attributes of the other resource type and metadata without a column", () => {
      expect(compileError('userName eq "x"', "Group").scimType).to.equal("invalidFilter");
      expect(compileError('members eq "x"', "User").scimType).to.equal("invalidFilter");
      expect(compileError('meta.location eq "x"', "User").message).to.match(/meta\.location/);
    });
  });

  describe("injection", () => {
    const attributes = ["userName", "title", "emails.value", "externalId", "displayName", `${ENTERPRISE}:department`, "emails"];
    const operators = ["eq", "ne", "co", "sw", "ew", "gt", "le"] as const;

    it("never puts a value in the SQL text: the text is the same for any value, and the value is a parameter", () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...attributes),
          fc.constantFrom(...operators),
          // U+0000 has its own SQL (no stored text can hold it); see the test below.
          fc.string({ unit: "binary", maxLength: 40 }).map((v) => v.replaceAll("\u0000", "")),
          fc.string({ unit: "binary", maxLength: 40 }).map((v) => v.replaceAll("\u0000", "")),
          (attribute, op, first, second) => {
            const resourceType = attribute === "displayName" ? "Group" : "User";
            const build = (value: string): FilterNode => ({ op, attrPath: attribute, compValue: value });
            const a = compileFilterToSql(build(first), resourceType, { bindOffset: 2 });
            const b = compileFilterToSql(build(second), resourceType, { bindOffset: 2 });
            expect(a.sql).to.equal(b.sql);
            expect(a.params).to.have.length(1);
            // The parameter is the value itself (lowered in SQL unless caseExact), LIKE-escaped for co/sw/ew.
            const value = first;
            const escaped = value.replace(/[\\%_]/g, "\\$&");
            const expected = op === "co" ? `%${escaped}%` : op === "sw" ? `${escaped}%` : op === "ew" ? `%${escaped}` : value;
            expect(a.params).to.deep.equal([expected]);
          },
        ),
        { numRuns: 300 },
      );
    });

    it("compares with a string holding U+0000 (which no stored text can) without sending it", () => {
      const compile = (filter: string) => compileUser(filter, 1);
      expect(compile('userName eq "a\\u0000b"')).to.deep.equal({ sql: "FALSE", params: [] });
      expect(compile('title co "\\u0000"')).to.deep.equal({ sql: "FALSE", params: [] });
      expect(compile('title ne "x\\u0000"')).to.deep.equal({ sql: "TRUE", params: [] });
      // "ab\u0000…" sorts just above "ab": gt/ge mean "> ab", lt/le mean "<= ab".
      expect(compile('userName gt "AB\\u0000z"').params).to.deep.equal(["AB"]);
      expect(compile('userName gt "AB\\u0000z"').sql).to.include('COLLATE "C" > lower($2)');
      expect(compile('userName le "ab\\u0000"').sql).to.include('COLLATE "C" <= lower($2)');
      expect(compile('emails[value eq "\\u0000"]').params).to.deep.equal([]);
    });

    it("keeps hostile strings out of the SQL text", () => {
      const hostile = ["'; DROP TABLE users; --", "\\'", "') OR 1=1 --", "'::text || pg_sleep(10) --"];
      for (const value of hostile) {
        const filter = `title eq ${JSON.stringify(value)} or emails[value co ${JSON.stringify(value)}] or ${ENTERPRISE}:department sw ${JSON.stringify(value)}`;
        const { sql, params } = compileUser(filter, 1);
        expect(sql, value).not.to.include(value);
        const unescaped = params.map((param) => String(param).replace(/\\([\\%_])/g, "$1"));
        expect(unescaped).to.have.length(3);
        for (const param of unescaped) expect(param).to.include(value);
      }
    });
  });

  describe("sortSqlFor", () => {
    it("sorts on the indexed columns, case-insensitively where the attribute is", () => {
      expect(sortSqlFor("userName", "User")).to.equal("lower(u.user_name)");
      expect(sortSqlFor("meta.created", "User")).to.equal("u.created_at");
      expect(sortSqlFor("meta.lastModified", "Group")).to.equal("t.updated_at");
      expect(sortSqlFor("id", "User")).to.equal("u.id");
      expect(sortSqlFor("externalId", "Group")).to.equal("t.external_id");
      expect(sortSqlFor("DISPLAYNAME", "Group")).to.equal("lower(t.display_name)");
    });

    it("sorts on jsonb attributes and on the primary (else first) value of a multi-valued one", () => {
      expect(sortSqlFor("name.familyName", "User")).to.equal("lower(u.scim_resource->'name'->>'familyName')");
      expect(sortSqlFor(`${ENTERPRISE}.department`, "User")).to.equal(`lower(u.scim_resource->'${ENTERPRISE}'->>'department')`);
      expect(sortSqlFor("emails", "User")).to.match(/ORDER BY lower\(e\.v->>'primary'\) = 'true' DESC NULLS LAST, e\.i LIMIT 1\)$/);
    });

    it("rejects unknown and unsortable attributes with invalidValue", () => {
      for (const [sortBy, resourceType] of [["nope", "User"], ["members", "Group"], ["name", "User"], ["password", "User"],
        ["meta.version", "User"], ["addresses", "User"], ["userName", "Group"]] as const) {
        let caught: unknown;
        try {
          sortSqlFor(sortBy, resourceType);
        } catch (error) {
          caught = error;
        }
        expect(caught, sortBy).to.be.instanceOf(ValidationError);
        expect((caught as ValidationError).scimType).to.equal("invalidValue");
      }
    });
  });
});
