import { expect } from "chai";
import { parse } from "scim2-parse-filter";
import { matchesFilter, parseFilter } from "../../server/scim/filter/index.ts";
import { resolveAttribute } from "../../server/scim/schemas/index.ts";
import { bjensen, ENTERPRISE, RFC_FILTER_EXAMPLES } from "./scimFilterFixtures.ts";

function matches(filter: string, object: unknown = bjensen()): boolean {
  return matchesFilter(parseFilter(filter, { resourceType: "User" }), object, "User");
}

describe("SCIM filter in-memory matching", () => {
  for (const { filter, matchesBjensen } of RFC_FILTER_EXAMPLES) {
    it(`evaluates the RFC example ${filter} (${matchesBjensen ? "match" : "no match"})`, () => {
      expect(matches(filter)).to.equal(matchesBjensen);
    });
  }

  it("compares attribute names case-insensitively, in the filter and in the object", () => {
    expect(matches('USERNAME eq "bjensen"')).to.equal(true);
    expect(matches('userName eq "bjensen"', { UserName: "bjensen" })).to.equal(true);
    expect(matches('Emails[TYPE eq "work"]')).to.equal(true);
  });

  it("compares strings case-insensitively unless the attribute is caseExact", () => {
    expect(matches('userName eq "BJENSEN"')).to.equal(true);
    expect(matches('title sw "tour"')).to.equal(true);
    expect(matches('externalId eq "BJENSEN"')).to.equal(false);
    expect(matches('externalId eq "bjensen"')).to.equal(true);
    expect(matches('id eq "USER_BJENSEN"')).to.equal(false);
  });

  it("supports every comparison operator on strings", () => {
    expect(matches('title co "r G"')).to.equal(true);
    expect(matches('title ew "guide"')).to.equal(true);
    expect(matches('title gt "tour"')).to.equal(true);
    expect(matches('title lt "tour"')).to.equal(false);
    expect(matches('title ge "tour guide"')).to.equal(true);
    expect(matches('title le "TOUR GUIDE"')).to.equal(true);
    expect(matches('title ne "Tour Guide"')).to.equal(false);
  });

  it("treats an absent attribute as matching ne and eq null, and not pr", () => {
    expect(matches('nickName ne "x"')).to.equal(true);
    expect(matches("nickName eq null")).to.equal(true);
    expect(matches("nickName pr")).to.equal(false);
    expect(matches('nickName eq "x"')).to.equal(false);
    expect(matches('not (nickName eq "x")')).to.equal(true);
    expect(matches("title ne null")).to.equal(true);
    expect(matches("nickName pr", { nickName: "" })).to.equal(false);
    expect(matches("emails pr", { emails: [] })).to.equal(false);
  });

  it("matches booleans against booleans and their string forms", () => {
    expect(matches("active eq true")).to.equal(true);
    expect(matches('active eq "True"')).to.equal(true);
    expect(matches("active eq false", { active: "False" })).to.equal(true);
    expect(matches("emails[primary eq true]")).to.equal(true);
    expect(matches('emails[primary eq "false"]')).to.equal(false);
    expect(matches("active ne true", {})).to.equal(true);
  });

  it("compares dateTimes as instants, across offsets and precisions", () => {
    expect(matches('meta.created eq "2010-01-23T05:56:22+01:00"')).to.equal(true);
    expect(matches('meta.created eq "2010-01-23T04:56:22.000Z"')).to.equal(true);
    expect(matches('meta.created lt "2010-01-23T04:56:22.001Z"')).to.equal(true);
    expect(matches('meta.lastModified gt "2011-05-13T06:42:33+02:00"')).to.equal(true);
  });

  it("matches a multi-valued attribute when any value matches, ne included (some value differs)", () => {
    expect(matches('emails.value eq "babs@jensen.org"')).to.equal(true);
    expect(matches('emails eq "BABS@jensen.org"')).to.equal(true);
    // bjensen's work email differs from babs@…, so the user matches (RFC 7644 §3.4.2.2: any value).
    expect(matches('emails.value ne "babs@jensen.org"')).to.equal(true);
    expect(matches('not (emails.value eq "babs@jensen.org")')).to.equal(false);
    expect(matches('emails.value ne "nobody@example.com"')).to.equal(true);
    expect(matches('emails.type eq "home"')).to.equal(true);
  });

  it("reads eq null on a sub-attribute as that sub-attribute's absence, not its parent's", () => {
    expect(matches("name.familyName eq null", { name: { givenName: "Ada" } })).to.equal(true);
    expect(matches("name.familyName ne null", { name: { givenName: "Ada" } })).to.equal(false);
    expect(matches("name.familyName eq null", { name: { familyName: "Lovelace" } })).to.equal(false);
  });

  it("applies a value filter only to existing values of its attribute", () => {
    expect(matches('name[not (familyName sw "x")]', { userName: "nameless" })).to.equal(false);
    expect(matches('name[not (familyName sw "x")]', { name: { familyName: "Lovelace" } })).to.equal(true);
    expect(matches('emails[not (type eq "work")]', { userName: "no-emails" })).to.equal(false);
  });

  it("applies every condition of a value filter to the same element", () => {
    expect(matches('emails[type eq "work" and value co "@example.com"]')).to.equal(true);
    expect(matches('emails[type eq "home" and value co "@example.com"]')).to.equal(false);
    // Two separate conditions may be met by different elements.
    expect(matches('emails.type eq "home" and emails.value co "@example.com"')).to.equal(true);
  });

  it("reads extension attributes by URN in either spelling", () => {
    expect(matches(`${ENTERPRISE}:department eq "tour operations"`)).to.equal(true);
    expect(matches(`${ENTERPRISE}.manager.value eq "user_boss"`)).to.equal(true);
    expect(matches(`${ENTERPRISE}:department eq "Sales"`)).to.equal(false);
  });

  it("matches one element of an attribute when given the parent attribute", () => {
    const workFilter = parseFilter('type eq "WORK"', { resourceType: "User", parent: resolveAttribute("User", "emails") });
    expect(matchesFilter(workFilter, { type: "work", value: "a@b.c" }, "User", "emails")).to.equal(true);
    expect(matchesFilter(workFilter, { type: "home", value: "a@b.c" }, "User", "emails")).to.equal(false);
    const member = parseFilter('value eq "user_1" or value eq "user_2"', {
      resourceType: "Group",
      parent: resolveAttribute("Group", "members"),
    });
    expect(matchesFilter(member, { value: "user_2" }, "Group", "members")).to.equal(true);
    // members.value is caseExact: ids differ by case.
    expect(matchesFilter(member, { value: "USER_2" }, "Group", "members")).to.equal(false);
  });

  it("evaluates without a resource type, comparing every string case-insensitively", () => {
    // Raw library ASTs: without a schema there is nothing to validate against.
    const node = parse('value eq "X" and primary eq true');
    expect(matchesFilter(node, { Value: "x", primary: "true" })).to.equal(true);
    expect(matchesFilter(node, { value: "y", primary: true })).to.equal(false);
    expect(matchesFilter(parse('meta.created gt "2010-01-23T04:56:21Z"'), bjensen())).to.equal(true);
    expect(matchesFilter(parse(`${ENTERPRISE}:department sw "TOUR"`), bjensen())).to.equal(true);
  });
});
