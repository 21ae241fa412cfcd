import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FIXTURE_DIR } from "../helpers/fixtureReplayer.ts";

describe("IdP fixture coverage", () => {
  it("replays every fixture file in test/fixtures/idp", () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const tests = readdirSync(here).filter((f) => f.endsWith(".test.ts")).map((f) => readFileSync(path.join(here, f), "utf8")).join("\n");
    const fixtures = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith(".json"));
    expect(fixtures.length).to.be.greaterThan(0);
    const missing = fixtures.filter((f) => !tests.includes(`describeFixture("${f}")`));
    expect(missing).to.deep.equal([]);
  });
});
