import { expect } from "chai";
import fc from "fast-check";
import { Liquid } from "liquidjs";
import { compileFastPath } from "../../mapping/fastTemplate.ts";
import {
  compileMapping,
  defaultCompiledMapping,
  ENTERPRISE_USER_SCHEMA,
  evaluateMapping,
  MappingValidationError,
  type CompiledMapping,
  type ScimUserLike,
} from "../../mapping/index.ts";

const SAMPLE_MAPPING: CompiledMapping = compileMapping({
  "groups[0].value": '{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}.organization_role',
  [`${ENTERPRISE_USER_SCHEMA}.department`]: "public_metadata.department",
  [`${ENTERPRISE_USER_SCHEMA}:manager.value`]: "{{ value | append: user.userName }}.private_metadata.manager",
  'emails[type eq "work" and primary eq true].value': "email_address",
  "emails[*].value": "public_metadata.emails",
  "name.formatted": "{% if value %}{{ value | strip }}{% else %}{{ user.displayName }}{% endif %}.first_name",
  "x[0].y": "{{ value | size }}.public_metadata.size",
  active: "{{ value }}.active",
});

// Shapes IdPs send, mixed with arbitrary JSON in every position.
const scimishUser = fc.record(
  {
    userName: fc.oneof(fc.string(), fc.jsonValue()),
    name: fc.oneof(fc.record({ givenName: fc.jsonValue(), formatted: fc.jsonValue() }), fc.jsonValue()),
    emails: fc.oneof(fc.array(fc.record({ value: fc.jsonValue(), type: fc.constantFrom("work", "home", 3), primary: fc.jsonValue() })), fc.jsonValue()),
    groups: fc.oneof(fc.array(fc.record({ value: fc.jsonValue() })), fc.jsonValue()),
    active: fc.jsonValue(),
    [ENTERPRISE_USER_SCHEMA]: fc.jsonValue(),
    x: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

const pathPiece = fc.constantFrom("userName", "name", ".", "givenName", "[", "]", "*", "0", "emails", "type eq \"work\"", " ", "urn:", ":", "User", "2.0", "\"", "and", "not", "(", ")", "$ref", "-");
const valuePiece = fc.constantFrom("{{", "}}", "{%", "%}", " value ", "| downcase ", "| default: \"org:member\"", "if", "endif", "include", "for i in (1..9)", "endfor", ".", "first_name", "public_metadata", "organization_role", "org:admin", "x", "\"", "'", "__proto__");
const joined = (piece: fc.Arbitrary<string>) => fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(""));

function compilesOrExplains(document: unknown): void {
  try {
    compileMapping(document);
  } catch (error) {
    expect(error).to.be.instanceOf(MappingValidationError);
    expect((error as MappingValidationError).problems).to.be.an("array").that.is.not.empty;
  }
}

describe("mapping properties", () => {
  it("evaluateMapping never throws for arbitrary JSON users", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (user) => {
        for (const mapping of [defaultCompiledMapping, SAMPLE_MAPPING]) {
          const result = evaluateMapping(mapping, user as ScimUserLike);
          expect(result.fields.organization_role).to.match(/^org:[a-z0-9_-]+$/);
          expect(result.fields.active).to.be.a("boolean");
        }
      }),
      { numRuns: 300 },
    );
  });

  it("evaluateMapping never throws for SCIM-shaped users with arbitrary values", () => {
    fc.assert(
      fc.property(scimishUser, (user) => {
        const { fields, errors } = evaluateMapping(SAMPLE_MAPPING, user);
        expect(errors).to.be.an("array");
        for (const field of ["email_address", "first_name", "last_name", "external_id"] as const) {
          expect(fields[field] === null || typeof fields[field] === "string").to.equal(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("compileMapping returns or throws MappingValidationError for arbitrary values", () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withMap: true, withSet: true, withBigInt: true, withDate: true, withSparseArray: true, withBoxedValues: true }), compilesOrExplains),
      { numRuns: 300 },
    );
  });

  it("compileMapping returns or throws MappingValidationError for arbitrary string documents", () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.string()), compilesOrExplains), { numRuns: 300 });
  });

  it("compileMapping returns or throws MappingValidationError for near-miss paths and templates", () => {
    fc.assert(fc.property(fc.dictionary(joined(pathPiece), joined(valuePiece), { maxKeys: 6 }), compilesOrExplains), { numRuns: 500 });
  });

  it("takes the direct path for output-only templates and leaves tags to liquidjs", () => {
    const engine = new Liquid({ ownPropertyOnly: true });
    const direct = (source: string) => compileFastPath(engine, engine.parse(source)) !== undefined;
    expect(direct('{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}')).to.equal(true);
    expect(direct("Dr. {{ user.name.givenName | strip }} {{ value }}")).to.equal(true);
    expect(direct("{% if value %}x{% endif %}")).to.equal(false);
    expect(direct("{{ value | sort }}")).to.equal(false);
    expect(direct("{{ value.size }}")).to.equal(false);
    expect(direct('{{ value | default: "x", allow_false: true }}')).to.equal(false);
  });

  it("renders simple filter chains exactly as liquidjs does", () => {
    const reference = new Liquid({ ownPropertyOnly: true });
    const filters = [
      "downcase", "upcase", "capitalize", "strip", "lstrip", "rstrip", "strip_newlines", "squish", "normalize_whitespace",
      'append: "-x"', 'prepend: "y-"', 'replace: "a", "b"', 'replace_first: "e", "E"', 'replace_last: "e", "E"', 'remove: "a"',
      'remove_first: "a"', 'remove_last: "a"', 'default: "none"', "truncate: 5", 'truncate: 4, "!"', "truncatewords: 1",
      'split: " " | join: "_"', 'split: "@" | first', 'split: "@" | last', "size", "url_encode", "escape", "xml_escape",
      "plus: 2", "minus: 1", "times: 3", "divided_by: 2", "modulo: 3", "abs", "round", "ceil", "floor", "at_least: 5",
      "at_most: 5", "to_integer", "slugify", "default: user.displayName", "append: user.name.givenName",
    ];
    const initial = fc.constantFrom("value", "user.displayName", "user.name.givenName", 'user["urn:x"].dept', '"lit"', "7", "value.first", "user.tags[1]");
    const value = fc.oneof(fc.string(), fc.constantFrom("  Ada Lovelace ", "ada@example.com", "a b  c\nd", "", "Ærø é", "3.7", "-2"), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }));
    const template = fc.tuple(fc.array(fc.constantFrom(...filters), { maxLength: 4 }), initial, fc.constantFrom("", "pre ", " post")).map(
      ([chain, start, text]) => `${text}{{ ${[start, ...chain].join(" | ")} }}${text}`,
    );
    fc.assert(
      fc.property(template, value, (source, input) => {
        const user = { displayName: "Ada L", name: { givenName: "Ada" }, tags: ["a", "b"], "urn:x": { dept: "R&D" } };
        let expected: string | undefined;
        let failed = false;
        try {
          // The engine reads JSON null as an absent attribute, so the reference sees it that way too.
          expected = String(reference.parseAndRenderSync(source, { value: input ?? undefined, user })).trim();
        } catch {
          failed = true;
        }
        const { fields, errors } = evaluateMapping(compileMapping({ v: `${source}.public_metadata.out` }), { v: input, ...user });
        if (failed) {
          expect(errors).to.have.length(1);
          expect(fields.public_metadata).to.deep.equal({});
        } else {
          expect(errors).to.deep.equal([]);
          expect(fields.public_metadata.out).to.equal(expected === "" ? undefined : expected);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
