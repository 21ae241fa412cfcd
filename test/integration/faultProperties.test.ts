import { expect } from "chai";
import fc from "fast-check";
import pg from "pg";
import { QueryTypes } from "sequelize";
import { stringify } from "scim2-parse-filter";
import { shared } from "../helpers/rootHooks.ts";
import { testConfig } from "../helpers/testService.ts";
import { RFC_FILTER_EXAMPLES } from "../unit/scimFilterFixtures.ts";
import { AppError } from "../../server/errors.ts";
import { toAppError } from "../../server/middleware/errorHandler.ts";
import { compileFilterToSql, matchesFilter, parseFilter, type FilterNode } from "../../server/scim/filter/index.ts";
import { parseListQuery } from "../../server/scim/listQuery.ts";
import { parseProjection } from "../../server/scim/projection.ts";
import { parseUserInput } from "../../server/scim/userInput.ts";
import { parseGroupInput } from "../../server/scim/groupInput.ts";
import { createSequelize } from "../../server/db/database.ts";
import { createLogger } from "../../server/logger.ts";

/*
 * Properties the unit suites do not state yet (they already cover: parseFilter throws only
 * InvalidFilterError, generated ASTs round-trip, applyPatch/planGroupPatch throw only AppErrors,
 * evaluateMapping never throws). Here: round trips that start from text, and "hostile input can
 * only ever be the client's fault" (a 4xx after the error handler), module by module.
 */

const FILTERS = [
  ...RFC_FILTER_EXAMPLES.map((e) => e.filter),
  'displayName eq "Admins"',
  'members[value eq "user_1"]',
  'externalId eq "a\\"b\\\\c"',
  'userName eq "\\u00e9t\\u00e9"',
  'not (active eq false) and meta.created ge "2020-01-01T00:00:00Z"',
  'emails[type eq "work" and primary eq true].value co "@"',
  "userName pr or title eq null",
];

/** Texts near valid filters: a token swapped, inserted or dropped, case changed, groups nested. */
const filterLikeText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...FILTERS),
  fc.tuple(fc.constantFrom(...FILTERS), fc.constantFrom(...FILTERS), fc.constantFrom(" and ", " or ", " AND ", " Or ")).map(([x, y, op]) => `${x}${op}${y}`),
  fc.tuple(fc.constantFrom(...FILTERS), fc.nat(40)).map(([text, n]) => `${"(".repeat(n % 5)}${text}${")".repeat(n % 5)}`),
  fc.tuple(fc.constantFrom(...FILTERS), fc.boolean()).map(([text, upper]) => (upper ? text.replace(/ (eq|co|sw|pr|and|or|not) /g, (m) => m.toUpperCase()) : `not (${text})`)),
  fc.tuple(fc.constantFrom(...FILTERS), fc.nat(), fc.string({ maxLength: 4 })).map(([text, at, insert]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + 1);
  }),
  fc.tuple(fc.constantFrom(...FILTERS), fc.string({ unit: "binary", maxLength: 12 })).map(([text, value]) => text.replace(/"[^"]*"/, JSON.stringify(value))),
);

function tryParse(text: string, resourceType?: "User" | "Group"): FilterNode | undefined {
  try {
    return parseFilter(text, resourceType ? { resourceType } : {});
  } catch {
    return undefined;
  }
}

/**
 * and/or are associative and the printer drops the parentheses of a same-operator chain, so
 * `(a and b) and c` prints as `a and b and c` and re-parses flat. Compare trees with chains flattened.
 */
function flatten(node: FilterNode): FilterNode {
  switch (node.op) {
    case "and":
    case "or": {
      const filters = node.filters.map(flatten).flatMap((child) => (child.op === node.op ? (child as typeof node).filters : [child]));
      return { op: node.op, filters };
    }
    case "not":
      return { op: "not", filter: flatten(node.filter) };
    case "[]":
      return { ...node, valFilter: flatten(node.valFilter) };
    default:
      return node;
  }
}

/** What the error handler would answer for whatever a function threw. */
function statusOf(run: () => unknown): number {
  try {
    run();
    return 200;
  } catch (error) {
    return toAppError(error).status;
  }
}

describe("fault (quick): properties of parsers under hostile input", () => {
  describe("SCIM filters", () => {
    it("prints any filter text it accepts so that it parses back to the same tree (text → AST → text → AST)", () => {
      let accepted = 0;
      fc.assert(
        fc.property(filterLikeText, fc.constantFrom<"User" | "Group" | undefined>("User", "Group", undefined), (text, resourceType) => {
          const first = tryParse(text, resourceType);
          fc.pre(first !== undefined);
          accepted++;
          const printed = stringify(first!);
          expect(flatten(parseFilter(printed, resourceType ? { resourceType } : {})), `${text} → ${printed}`).to.deep.equal(flatten(first!));
          // Printing is a fixpoint after one round: the printer's output is its own normal form.
          expect(stringify(parseFilter(printed, resourceType ? { resourceType } : {}))).to.equal(printed);
        }),
        { numRuns: 2_000 },
      );
      expect(accepted, "accepted filters among the generated texts").to.be.greaterThan(500);
    });

    it("compiles every accepted filter to SQL or refuses it with a 4xx, and matches it against arbitrary JSON without throwing", () => {
      fc.assert(
        fc.property(filterLikeText, fc.constantFrom<"User" | "Group">("User", "Group"), fc.jsonValue({ maxDepth: 3 }), (text, resourceType, resource) => {
          const node = tryParse(text, resourceType);
          fc.pre(node !== undefined);
          const status = statusOf(() => compileFilterToSql(node!, resourceType, { bindOffset: 1 }));
          expect(status === 200 || (status >= 400 && status < 500), `compile ${text}: ${status}`).to.equal(true);
          expect(() => matchesFilter(node!, resource, resourceType)).to.not.throw();
        }),
        { numRuns: 1_500 },
      );
    });
  });

  describe("request parsing", () => {
    const listSource = fc.dictionary(
      fc.constantFrom("filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes", "COUNT", "startindex", "x"),
      fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("1", "-1", "1e309", "99999999999999999999", "NaN", "0x10", " 2 "), fc.integer(), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
    );

    it("answers list parameters with a query or a 4xx, never a 5xx, and keeps startIndex and count in range", () => {
      fc.assert(
        fc.property(listSource, (source) => {
          let parsed: ReturnType<typeof parseListQuery> | undefined;
          const status = statusOf(() => (parsed = parseListQuery(source, 200)));
          expect(status === 200 || (status >= 400 && status < 500), `${JSON.stringify(source)}: ${status}`).to.equal(true);
          if (parsed) {
            expect(Number.isSafeInteger(parsed.startIndex) && parsed.startIndex >= 1, `startIndex ${parsed.startIndex}`).to.equal(true);
            expect(Number.isInteger(parsed.count) && parsed.count >= 0 && parsed.count <= 200, `count ${parsed.count}`).to.equal(true);
          }
        }),
        { numRuns: 2_000 },
      );
    });

    it("answers attributes/excludedAttributes, user bodies and group bodies with a value or a 4xx, never a 5xx", () => {
      const scimish = fc.oneof(
        fc.jsonValue({ maxDepth: 4 }),
        fc.record({
          schemas: fc.oneof(fc.constant(["urn:ietf:params:scim:schemas:core:2.0:User"]), fc.jsonValue({ maxDepth: 1 })),
          userName: fc.oneof(fc.emailAddress(), fc.string(), fc.jsonValue({ maxDepth: 1 })),
          displayName: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })),
          emails: fc.oneof(fc.array(fc.record({ value: fc.oneof(fc.emailAddress(), fc.jsonValue({ maxDepth: 1 })), primary: fc.jsonValue({ maxDepth: 0 }) }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
          members: fc.oneof(fc.array(fc.record({ value: fc.jsonValue({ maxDepth: 1 }) }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
          groups: fc.jsonValue({ maxDepth: 2 }),
          active: fc.oneof(fc.boolean(), fc.constantFrom("False", "true", "yes", ""), fc.jsonValue({ maxDepth: 1 })),
          externalId: fc.jsonValue({ maxDepth: 1 }),
          name: fc.jsonValue({ maxDepth: 2 }),
        }, { requiredKeys: [] }),
      );
      fc.assert(
        fc.property(scimish, fc.option(fc.string({ maxLength: 60 })), fc.option(fc.string({ maxLength: 60 })), (body, attributes, excluded) => {
          for (const [what, run] of [
            ["parseUserInput", () => parseUserInput(body)],
            ["parseGroupInput", () => parseGroupInput(body)],
            ["parseProjection", () => parseProjection(attributes ?? undefined, excluded ?? undefined)],
          ] as const) {
            const status = statusOf(run);
            expect(status === 200 || (status >= 400 && status < 500), `${what}(${JSON.stringify(body).slice(0, 200)}): ${status}`).to.equal(true);
          }
        }),
        { numRuns: 2_000 },
      );
    });
  });

  describe("database failures", () => {
    it("maps a connection PostgreSQL terminated under a transaction to 503, on the failing query and on the next one", async function () {
      // A second connection terminates the first (pg_terminate_backend): the embedded database has one session.
      if (!shared.databaseUrl) this.skip();
      const config = await testConfig(shared.databaseUrl);
      const sequelize = createSequelize(shared.databaseUrl!, config, createLogger("silent"), 1);
      const killer = new pg.Client({ connectionString: shared.databaseUrl });
      await killer.connect();
      const errors: unknown[] = [];
      try {
        await sequelize.transaction(async (transaction) => {
          const [{ pid }] = (await sequelize.query("SELECT pg_backend_pid() AS pid", { type: QueryTypes.SELECT, transaction })) as [{ pid: number }];
          await killer.query("SELECT pg_terminate_backend($1)", [pid]);
          for (let i = 0; i < 2; i++) {
            await sequelize.query("SELECT 1", { transaction }).catch((error: unknown) => errors.push(error));
          }
        }).catch((error: unknown) => errors.push(error));
      } finally {
        await killer.end();
        await sequelize.close().catch(() => undefined);
      }
      expect(errors.length).to.be.greaterThan(1);
      for (const error of errors) {
        const mapped = toAppError(error);
        expect(mapped, String(error)).to.be.instanceOf(AppError);
        expect(mapped.status, `${(error as Error).name}: ${(error as Error).message}`).to.equal(503);
      }
    });
  });
});
