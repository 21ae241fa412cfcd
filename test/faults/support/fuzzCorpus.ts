import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { FIXTURE_DIR } from "../../helpers/fixtureReplayer.ts";
import { RFC_FILTER_EXAMPLES } from "../../unit/scimFilterFixtures.ts";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Real IdP traffic to mutate: request bodies, raw bodies, paths with their query strings, filters. */
export type FuzzCorpus = {
  bodies: Json[];
  /** The same bodies sorted by what they are, so coherent requests can pair a path with its body. */
  byKind: { user: Json[]; group: Json[]; patch: Json[] };
  rawBodies: string[];
  paths: string[];
  filters: string[];
};

type FixtureFile = { steps?: Array<{ request?: { path?: unknown; body?: Json; rawBody?: unknown } }> };

/** Filters an IdP or a careless client might send, beyond the RFC examples and the fixtures' own. */
const EXTRA_FILTERS = [
  'userName eq "bjensen@example.com"',
  'externalId eq "00u1abcd"',
  'emails[type eq "work" and primary eq true].value eq "a@b.c"',
  'displayName eq "Admins"',
  'members[value eq "user_01"]',
  'meta.created ge "2020-01-01T00:00:00Z"',
  'active eq "False"',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D"',
  'not (userName pr)',
  'id eq "user_01J0000000000000000000000"',
  "userName eq null",
  'name.givenName sw "" or name.familyName ew "\\u0000"',
];

/** Loads every fixture under test/fixtures/idp once. */
export function loadFuzzCorpus(): FuzzCorpus {
  const corpus: FuzzCorpus = { bodies: [], byKind: { user: [], group: [], patch: [] }, rawBodies: [], paths: [], filters: [...RFC_FILTER_EXAMPLES.map((e) => e.filter), ...EXTRA_FILTERS] };
  for (const file of readdirSync(FIXTURE_DIR).filter((f) => f.endsWith(".json"))) {
    const fixture = JSON.parse(readFileSync(path.join(FIXTURE_DIR, file), "utf8")) as FixtureFile;
    for (const step of fixture.steps ?? []) {
      const request = step.request ?? {};
      if (request.body !== undefined) {
        corpus.bodies.push(request.body);
        const text = JSON.stringify(request.body);
        if (text.includes("PatchOp")) corpus.byKind.patch.push(request.body);
        else if (text.includes("core:2.0:Group")) corpus.byKind.group.push(request.body);
        else if (text.includes("core:2.0:User")) corpus.byKind.user.push(request.body);
      }
      if (typeof request.rawBody === "string") corpus.rawBodies.push(request.rawBody);
      if (typeof request.path === "string") {
        corpus.paths.push(request.path);
        const query = request.path.split("?")[1];
        for (const pair of query?.split("&") ?? []) {
          const [key, value] = pair.split("=");
          if (key?.toLowerCase() === "filter" && value) {
            try {
              corpus.filters.push(decodeURIComponent(value.replace(/\+/g, " ")));
            } catch {
              // A fixture that sends a deliberately broken escape is still a path to replay.
            }
          }
        }
      }
    }
  }
  if (corpus.bodies.length === 0) throw new Error(`no IdP fixture bodies found under ${FIXTURE_DIR}`);
  return corpus;
}
