import { expect } from "chai";
import fc from "fast-check";
import { stringify } from "scim2-parse-filter";
import { InvalidFilterError } from "../../server/errors.ts";
import { parseFilter, type FilterNode } from "../../server/scim/filter/index.ts";
import { resolveAttribute } from "../../server/scim/schemas/index.ts";
import { RFC_FILTER_EXAMPLES } from "./scimFilterFixtures.ts";

function parseError(text: string, options?: Parameters<typeof parseFilter>[1]): InvalidFilterError {
  try {
    parseFilter(text, options);
  } catch (error) {
    if (error instanceof InvalidFilterError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("SCIM filter parsing", () => {
  describe("RFC 7644 §3.4.2.2 examples", () => {
    for (const { filter } of RFC_FILTER_EXAMPLES) {
      it(`parses ${filter}`, () => {
        const node = parseFilter(filter, { resourceType: "User" });
        expect(parseFilter(stringify(node), { resourceType: "User" })).to.deep.equal(node);
      });
    }

    it("builds the AST the library documents for comparisons, not, and value paths", () => {
      expect(parseFilter('userName eq "bjensen"')).to.deep.equal({ op: "eq", attrPath: "userName", compValue: "bjensen" });
      expect(parseFilter("title pr")).to.deep.equal({ op: "pr", attrPath: "title" });
      expect(parseFilter('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")')).to.deep.equal({
        op: "and",
        filters: [
          { op: "ne", attrPath: "userType", compValue: "Employee" },
          {
            op: "not",
            filter: {
              op: "or",
              filters: [
                { op: "co", attrPath: "emails", compValue: "example.com" },
                { op: "co", attrPath: "emails.value", compValue: "example.org" },
              ],
            },
          },
        ],
      });
      expect(parseFilter('emails[type eq "work" and value co "@example.com"]')).to.deep.equal({
        op: "[]",
        attrPath: "emails",
        valFilter: {
          op: "and",
          filters: [
            { op: "eq", attrPath: "type", compValue: "work" },
            { op: "co", attrPath: "value", compValue: "@example.com" },
          ],
        },
      });
    });

    it("gives and precedence over or", () => {
      const node = parseFilter('title pr or userType eq "A" and userName eq "b"');
      expect(node.op).to.equal("or");
      expect(node.op === "or" && node.filters[1]?.op).to.equal("and");
    });

    it("accepts operators and attribute names in any case", () => {
      expect(parseFilter('USERNAME EQ "x"')).to.deep.equal({ op: "eq", attrPath: "USERNAME", compValue: "x" });
      expect(parseFilter('userName eq "x" AND title PR').op).to.equal("and");
    });
  });

  describe("string literals", () => {
    it("decodes JSON escapes, including backslashes the library would double", () => {
      const value = (text: string) => {
        const node = parseFilter(`userName eq ${text}`);
        return node.op === "eq" ? node.compValue : undefined;
      };
      expect(value(String.raw`"a\\b"`)).to.equal("a\\b");
      expect(value(String.raw`"ends with \\"`)).to.equal("ends with \\");
      expect(value(String.raw`"\u0041\n\"q\""`)).to.equal('A\n"q"');
      expect(value(`"O'Malley"`)).to.equal("O'Malley");
    });

    it("round-trips any string value through stringify and parse", () => {
      fc.assert(
        fc.property(fc.string({ unit: "binary" }), (value) => {
          const text = `userName eq ${JSON.stringify(value)}`;
          const node = parseFilter(text);
          expect(node).to.deep.equal({ op: "eq", attrPath: "userName", compValue: value });
          expect(stringify(node)).to.equal(text);
        }),
        { numRuns: 500 },
      );
    });

    it("rejects invalid escapes and raw control characters inside a string", () => {
      expect(parseError(String.raw`userName eq "\q"`).scimType).to.equal("invalidFilter");
      expect(parseError('userName eq "a\nb"').scimType).to.equal("invalidFilter");
    });

    it("parses an unterminated string full of newlines quickly", () => {
      const started = Date.now();
      parseError(`userName eq "${"\n".repeat(3000)}`);
      expect(Date.now() - started).to.be.below(500);
    });
  });

  describe("errors", () => {
    it("rejects malformed filters with invalidFilter", () => {
      for (const text of ["", "   ", "userName", 'userName eq', 'userName zz "x"', 'userName eq "x" extra', "(title pr", "title pr)",
        'emails[type eq "work"', "and title pr", 'userName eq True']) {
        const error = parseError(text);
        expect(error.scimType, text).to.equal("invalidFilter");
        expect(error.status, text).to.equal(400);
      }
    });

    it("rejects a filter longer than 4096 characters", () => {
      const text = `userName eq "${"x".repeat(4100)}"`;
      expect(parseError(text).message).to.match(/longer than 4096/);
    });

    it("rejects a filter nested deeper than 32 levels and accepts 32", () => {
      const nest = (depth: number) => "not (".repeat(depth - 1) + "title pr" + ")".repeat(depth - 1);
      expect(() => parseFilter(nest(32))).not.to.throw();
      expect(parseError(nest(33)).message).to.match(/deeper than 32/);
    });

    it("names an unknown attribute or sub-attribute", () => {
      expect(parseError('nickname2 eq "x"').message).to.match(/Unknown attribute "nickname2"/);
      expect(parseError('name.middle eq "x"').message).to.match(/Unknown attribute "name.middle"/);
      expect(parseError('emails[kind eq "work"]').message).to.match(/Unknown attribute "kind" in filter within emails/);
      expect(parseError('members eq "x"', { resourceType: "User" }).message).to.match(/on User/);
      expect(() => parseFilter('members eq "x"', { resourceType: "Group" })).not.to.throw();
    });

    it("rejects operators that are not defined for the attribute's type", () => {
      expect(parseError("active gt true").message).to.match(/boolean/);
      expect(parseError('active eq "maybe"').message).to.match(/true or false/);
      expect(parseError('meta.created co "2011"').message).to.match(/dateTime/);
      expect(parseError('meta.created gt "yesterday"').message).to.match(/not a dateTime/);
      expect(parseError('meta.created gt "2011-02-30T00:00:00Z"').message).to.match(/not a dateTime/);
      expect(parseError('name eq "x"').message).to.match(/only "pr"/);
      expect(parseError('addresses co "x"').message).to.match(/only "pr"/);
      expect(parseError("userName eq true").message).to.match(/not a boolean/);
      expect(parseError("title gt null").message).to.match(/null/);
      expect(parseError('x509Certificates.value gt "x"').message).to.match(/binary/);
    });

    it("refuses to filter on the password", () => {
      expect(parseError('password eq "hunter2"').message).to.match(/cannot be used in a filter/);
    });

    it("rejects nested value paths and value paths on simple attributes", () => {
      expect(parseError('emails[type[value eq "x"]]').message).to.match(/cannot be nested/);
      expect(parseError('userName[value eq "x"]').message).to.match(/complex attribute/);
      expect(parseError('name.givenName[value eq "x"]').message).to.match(/complex attribute/);
    });

    it("accepts null, boolean strings and numbers where they make sense", () => {
      expect(() => parseFilter("title eq null")).not.to.throw();
      expect(() => parseFilter('active eq "False"')).not.to.throw();
      expect(() => parseFilter("externalId eq 12345")).not.to.throw();
      expect(() => parseFilter('emails[primary eq "True"]')).not.to.throw();
    });

    it("parses a value filter relative to a parent attribute", () => {
      const parent = resolveAttribute("User", "emails");
      expect(parseFilter('type eq "work" and primary eq true', { resourceType: "User", parent }).op).to.equal("and");
      expect(parseError('type eq "work"', { resourceType: "User" }).message).to.match(/Unknown attribute "type"/);
    });
  });

  describe("properties", () => {
    const validFragments = RFC_FILTER_EXAMPLES.map((example) => example.filter);

    it("throws only InvalidFilterError for arbitrary strings", () => {
      const arbitraryText = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.string({ unit: "binary", maxLength: 120 }),
        fc.stringMatching(/^[a-zA-Z. "()[\]\\:!$%\n-]{0,80}$/),
        // Mutations of valid filters reach deeper into the parser than random text.
        fc.tuple(fc.constantFrom(...validFragments), fc.nat(), fc.string({ maxLength: 3 })).map(
          ([text, at, insert]) => text.slice(0, at % (text.length + 1)) + insert + text.slice(at % (text.length + 1) + 1),
        ),
      );
      fc.assert(
        fc.property(arbitraryText, (text) => {
          try {
            parseFilter(text);
          } catch (error) {
            expect(error).to.be.instanceOf(InvalidFilterError);
          }
        }),
        { numRuns: 3000 },
      );
    });

    const stringAttribute = fc.constantFrom("userName", "title", "name.familyName", "emails.value", "externalId",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department");
    const leaf: fc.Arbitrary<FilterNode> = fc.oneof(
      fc.record({
        op: fc.constantFrom("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"),
        attrPath: stringAttribute,
        compValue: fc.string({ unit: "binary", maxLength: 12 }),
      }),
      fc.record({ op: fc.constantFrom("eq", "ne"), attrPath: fc.constantFrom("active", "emails.primary"), compValue: fc.boolean() }),
      fc.record({
        op: fc.constantFrom("eq", "gt", "le"),
        attrPath: fc.constantFrom("meta.created", "meta.lastModified"),
        compValue: fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true })
          .map((date) => date.toISOString()),
      }),
      fc.record({ op: fc.constant("eq"), attrPath: stringAttribute, compValue: fc.constant(null) }),
      fc.record({ op: fc.constant("pr"), attrPath: fc.constantFrom("title", "emails", "name", "phoneNumbers.type") }),
      fc.record({
        op: fc.constant("[]"),
        attrPath: fc.constantFrom("emails", "phoneNumbers"),
        valFilter: fc.record({ op: fc.constantFrom("eq", "co"), attrPath: fc.constantFrom("type", "value"), compValue: fc.string({ maxLength: 8 }) }),
      }),
    ) as fc.Arbitrary<FilterNode>;
    // and/or children never repeat their parent's operator: the parser flattens those chains.
    const tree = fc.letrec<{ node: FilterNode; and: FilterNode; or: FilterNode }>((tie) => ({
      node: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("and"), tie("or"),
        tie("node").map((filter): FilterNode => ({ op: "not", filter }))),
      and: fc.array(fc.oneof(leaf, tie("or"), tie("node").map((filter): FilterNode => ({ op: "not", filter }))), { minLength: 2, maxLength: 3 })
        .map((filters): FilterNode => ({ op: "and", filters })),
      or: fc.array(fc.oneof(leaf, tie("and"), tie("node").map((filter): FilterNode => ({ op: "not", filter }))), { minLength: 2, maxLength: 3 })
        .map((filters): FilterNode => ({ op: "or", filters })),
    }));

    it("round-trips generated ASTs through stringify and parse", () => {
      fc.assert(
        fc.property(tree.node, (node) => {
          expect(parseFilter(stringify(node), { resourceType: "User" })).to.deep.equal(node);
        }),
        { numRuns: 1000 },
      );
    });
  });
});
