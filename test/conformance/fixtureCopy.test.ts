import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { FIXTURE_DIR, SHARED_FIXTURE_DIR } from "../helpers/fixtureReplayer.ts";

/** The file names of a fixture folder, sorted. */
function fileNames(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
}

describe("the project's copy of the IdP fixtures (test/fixtures/idp)", () => {
  it("holds the README and at least one fixture, so a clone alone can replay them", () => {
    const names = fileNames(FIXTURE_DIR);
    expect(names).to.include("README.md");
    expect(names.filter((name) => name.endsWith(".json")).length).to.be.greaterThan(0);
  });

  describe("against ../shared/fixtures/idp", () => {
    before(function () {
      if (!existsSync(SHARED_FIXTURE_DIR)) {
        process.stderr.write(`      ${SHARED_FIXTURE_DIR} does not exist (a plain clone): skipping the drift check of test/fixtures/idp\n`);
        this.skip();
      }
    });

    it("has exactly the same files", () => {
      expect(fileNames(FIXTURE_DIR)).to.deep.equal(fileNames(SHARED_FIXTURE_DIR));
    });

    it("has every file byte for byte as the shared one", () => {
      const differing = fileNames(SHARED_FIXTURE_DIR).filter((name) => {
        const ours = path.join(FIXTURE_DIR, name);
        return !existsSync(ours) || !readFileSync(ours).equals(readFileSync(path.join(SHARED_FIXTURE_DIR, name)));
      });
      expect(differing, "copy these from ../shared/fixtures/idp into test/fixtures/idp").to.deep.equal([]);
    });
  });
});
