import { expect } from "chai";
import { compileMapping, ENTERPRISE_USER_SCHEMA, evaluateMapping, type ScimUserLike } from "../../mapping/index.ts";

/** What a source path reads from a user, observed through a raw public_metadata entry. */
function read(path: string, user: ScimUserLike): unknown {
  const { fields, errors } = evaluateMapping(compileMapping({ [path]: "public_metadata.v" }), user);
  expect(errors).to.deep.equal([]);
  return fields.public_metadata.v;
}

const user: ScimUserLike = {
  userName: "grace@example.com",
  name: { givenName: "Grace", familyName: "Hopper" },
  emails: [
    { value: "grace@home.example", type: "home" },
    { value: "grace@navy.example", type: "work", primary: "true" },
    { value: "g.hopper@navy.example", type: "Work", primary: false },
  ],
  phoneNumbers: [{ value: "+1 555 0100", type: "mobile" }],
  roles: ["reader", "writer"],
  x509Certificates: { value: "MIIC..." },
  groups: [
    { value: "Admins", display: "Admins" },
    { value: "Navy", display: "Navy" },
  ],
  [ENTERPRISE_USER_SCHEMA]: { department: "Computing", employeeNumber: 1906, manager: { value: "u_42", displayName: "Nimitz" } },
  "urn:example:params:scim:schemas:extension:acme:1.0:User": { costCenter: "CC-7" },
};

describe("mapping source paths", () => {
  it("reads simple and dotted attributes", () => {
    expect(read("userName", user)).to.equal("grace@example.com");
    expect(read("name.familyName", user)).to.equal("Hopper");
  });

  it("ignores the case of attribute names", () => {
    expect(read("USERNAME", user)).to.equal("grace@example.com");
    expect(read("Name.GivenName", user)).to.equal("Grace");
  });

  it("ignores the case of attribute names in the user JSON too", () => {
    expect(read("name.givenName", { NAME: { GIVENNAME: "Grace" } })).to.equal("Grace");
  });

  it("selects by a string value filter, case-insensitively, taking the first match", () => {
    expect(read('emails[type eq "work"].value', user)).to.equal("grace@navy.example");
    expect(read('emails[TYPE eq "WORK"].value', user)).to.equal("grace@navy.example");
  });

  it("matches a boolean filter against a string boolean", () => {
    expect(read("emails[primary eq true].value", user)).to.equal("grace@navy.example");
  });

  it("matches a string \"false\" filter against a boolean", () => {
    expect(read('emails[primary eq "false"].value', user)).to.equal("g.hopper@navy.example");
  });

  it("supports and, or, not, pr, co, sw and ew in filters", () => {
    expect(read('emails[type eq "work" and not (primary eq true)].value', user)).to.equal("g.hopper@navy.example");
    expect(read('emails[type eq "home" or type eq "other"].value', user)).to.equal("grace@home.example");
    expect(read("emails[primary pr].value", user)).to.equal("grace@navy.example");
    expect(read('emails[value co "HOPPER"].value', user)).to.equal("g.hopper@navy.example");
    expect(read('emails[value sw "grace@h"].type', user)).to.equal("home");
    expect(read('emails[value ew ".example" and type ne "home"].value', user)).to.equal("grace@navy.example");
  });

  it("compares numbers by value, including numeric strings", () => {
    const scores = { scores: [{ n: "7", tag: "a" }, { n: 12, tag: "b" }] };
    expect(read("scores[n eq 7].tag", scores)).to.equal("a");
    expect(read("scores[n gt 10].tag", scores)).to.equal("b");
    expect(read("scores[n le 7].tag", scores)).to.equal("a");
  });

  it("reads nothing when no element matches the filter", () => {
    expect(read('emails[type eq "other"].value', user)).to.equal(undefined);
  });

  it("indexes multi-valued attributes", () => {
    expect(read("groups[0].value", user)).to.equal("Admins");
    expect(read("groups[1].display", user)).to.equal("Navy");
    expect(read("groups[5].value", user)).to.equal(undefined);
  });

  it("treats a lone object as a list of one", () => {
    expect(read("x509Certificates[0].value", user)).to.equal("MIIC...");
    expect(read("x509Certificates[*].value", user)).to.deep.equal(["MIIC..."]);
  });

  it("collects all values with [*]", () => {
    expect(read("emails[*].value", user)).to.deep.equal(["grace@home.example", "grace@navy.example", "g.hopper@navy.example"]);
    expect(read("groups[*].value", user)).to.deep.equal(["Admins", "Navy"]);
  });

  it("reads a whole multi-valued attribute", () => {
    expect(read("groups", user)).to.deep.equal([
      { value: "Admins", display: "Admins" },
      { value: "Navy", display: "Navy" },
    ]);
    expect(read("roles", user)).to.deep.equal(["reader", "writer"]);
  });

  it("matches `value` against the elements of a simple multi-valued attribute", () => {
    expect(read('roles[value eq "WRITER"]', user)).to.equal("writer");
  });

  it("reads enterprise attributes in both URN spellings", () => {
    expect(read(`${ENTERPRISE_USER_SCHEMA}.department`, user)).to.equal("Computing");
    expect(read(`${ENTERPRISE_USER_SCHEMA}:department`, user)).to.equal("Computing");
    expect(read(`${ENTERPRISE_USER_SCHEMA}:employeeNumber`, user)).to.equal(1906);
  });

  it("reads enterprise sub-attributes in both URN spellings", () => {
    expect(read(`${ENTERPRISE_USER_SCHEMA}.manager.value`, user)).to.equal("u_42");
    expect(read(`${ENTERPRISE_USER_SCHEMA}:manager.displayName`, user)).to.equal("Nimitz");
  });

  it("ignores the case of the schema URN", () => {
    expect(read(`${ENTERPRISE_USER_SCHEMA.toUpperCase()}:DEPARTMENT`, user)).to.equal("Computing");
  });

  it("reads custom extension schemas in both spellings", () => {
    expect(read("urn:example:params:scim:schemas:extension:acme:1.0:User:costCenter", user)).to.equal("CC-7");
    expect(read("urn:example:params:scim:schemas:extension:acme:1.0:User.costCenter", user)).to.equal("CC-7");
  });

  it("reads nothing when the user lacks the extension", () => {
    expect(read(`${ENTERPRISE_USER_SCHEMA}:department`, { userName: "x" })).to.equal(undefined);
  });

  it("lets one source feed two destinations through its two URN spellings", () => {
    const both = compileMapping({
      [`${ENTERPRISE_USER_SCHEMA}.department`]: "public_metadata.department",
      [`${ENTERPRISE_USER_SCHEMA}:department`]: "private_metadata.dept",
    });
    const { fields } = evaluateMapping(both, user);
    expect(fields.public_metadata).to.deep.equal({ department: "Computing" });
    expect(fields.private_metadata).to.deep.equal({ dept: "Computing" });
  });

  for (const separator of [".", ":"]) {
    it(`overrides the userName default through the core schema URN with "${separator}"`, () => {
      const mapping = compileMapping({ [`urn:ietf:params:scim:schemas:core:2.0:User${separator}userName`]: "public_metadata.login" });
      const { fields } = evaluateMapping(mapping, { userName: "grace@example.com" });
      expect(fields.email_address).to.equal(null);
      expect(fields.public_metadata).to.deep.equal({ login: "grace@example.com" });
    });
  }
});
