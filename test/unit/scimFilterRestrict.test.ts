import { expect } from "chai";
import { parseFilter } from "../../server/scim/filter/index.ts";
import { restrictFilterTo } from "../../server/scim/filter/restrict.ts";

/** The root /.search filter as each type sees it (RFC 7644 §3.4.3: a missing attribute does not match). */
describe("restrictFilterTo (root /.search filters per resource type)", () => {
  const restrict = (text: string, type: "User" | "Group") => restrictFilterTo(parseFilter(text), type);

  it("keeps a comparison on an attribute the type has and makes one it lacks false", () => {
    expect(restrict('userName eq "a"', "User")).to.deep.equal(parseFilter('userName eq "a"'));
    expect(restrict('userName eq "a"', "Group")).to.equal(false);
    expect(restrict("members pr", "User")).to.equal(false);
    expect(restrict('members[value eq "x"]', "User")).to.equal(false);
    expect(restrict('members[value eq "x"]', "Group")).to.deep.equal(parseFilter('members[value eq "x"]'));
    // Common and shared attributes stay on both types.
    expect(restrict('externalId eq "x"', "Group")).to.not.equal(false);
    expect(restrict('displayName eq "x"', "User")).to.not.equal(false);
  });

  it("simplifies the logic around a missing attribute: and is false, or drops it, not turns it true", () => {
    expect(restrict('userName eq "a" and displayName pr', "Group")).to.equal(false);
    expect(restrict('userName eq "a" or displayName pr', "Group")).to.deep.equal(parseFilter("displayName pr"));
    expect(restrict('userName eq "a" or members pr', "Group")).to.deep.equal(parseFilter("members pr"));
    expect(restrict('not (userName eq "a")', "Group")).to.equal(true);
    expect(restrict('not (userName eq "a") and displayName pr', "Group")).to.deep.equal(parseFilter("displayName pr"));
    expect(restrict('not (userName eq "a") or displayName pr', "Group")).to.equal(true);
    expect(restrict('userName eq "a" or members pr', "User")).to.deep.equal(parseFilter('userName eq "a"'));
    expect(restrict('not (not (members pr))', "User")).to.equal(false);
  });

  it("answers meta.resourceType per type, so a root search can ask for one type", () => {
    expect(restrict('meta.resourceType eq "Group"', "Group")).to.equal(true);
    expect(restrict('meta.resourceType eq "Group"', "User")).to.equal(false);
    expect(restrict('meta.resourceType ne "Group"', "User")).to.equal(true);
    expect(restrict('meta.resourceType eq "User" and userName sw "a"', "User")).to.deep.equal(parseFilter('userName sw "a"'));
    expect(restrict('meta.resourceType eq "User" and userName sw "a"', "Group")).to.equal(false);
    expect(restrict("meta.resourceType pr", "Group")).to.equal(true);
  });
});
