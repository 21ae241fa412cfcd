import { expect } from "chai";
import { matchesFilter, parseFilter } from "../../server/scim/filter/index.ts";
import { foldValuePathComparisons } from "../../server/scim/filter/parse.ts";

describe("filters: a value path followed by a sub-attribute comparison", () => {
  it("is folded so both conditions apply to the same element", () => {
    expect(foldValuePathComparisons('emails[type eq "work"].value eq "x"')).to.equal('emails[(type eq "work") and value eq "x"]');
    expect(foldValuePathComparisons('emails[type eq "work"].value pr and userName sw "a"')).to.equal('emails[(type eq "work") and value pr] and userName sw "a"');
  });

  it("leaves brackets inside strings and plain value paths alone", () => {
    for (const text of ['emails[type eq "work"] and emails.value eq "x"', 'title eq "[a].b eq c"', 'userName eq "x"']) {
      expect(foldValuePathComparisons(text)).to.equal(text);
    }
    expect(foldValuePathComparisons('emails[type eq "w]ork"].value co "a\\"b"')).to.equal('emails[(type eq "w]ork") and value co "a\\"b"]');
  });

  it("no longer matches a user whose other email has the value", () => {
    const node = parseFilter('emails[type eq "work"].value eq "x@a.com"', { resourceType: "User" });
    expect(matchesFilter(node, { emails: [{ type: "work", value: "w@a.com" }, { type: "home", value: "x@a.com" }] }, "User")).to.equal(false);
    expect(matchesFilter(node, { emails: [{ type: "work", value: "x@a.com" }] }, "User")).to.equal(true);
  });
});
