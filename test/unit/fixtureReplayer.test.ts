import { expect } from "chai";
import { mismatch, readPath, splitFixturePath, TemplateScope } from "../helpers/fixtureReplayer.ts";

describe("fixture replayer", () => {
  it("splits a URN path segment through its last colon", () => {
    expect(splitFixturePath("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager.value")).to.deep.equal([
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
      "manager",
      "value",
    ]);
    expect(splitFixturePath("Resources[0].emails[1].value")).to.deep.equal(["Resources", 0, "emails", 1, "value"]);
  });

  it("reads values by path and returns undefined for missing ones", () => {
    const body = { Resources: [{ id: "a", name: { givenName: "G" } }] };
    expect(readPath(body, "Resources[0].name.givenName")).to.equal("G");
    expect(readPath(body, "Resources[1].id")).to.equal(undefined);
    expect(readPath(body, "")).to.equal(body);
  });

  it("applies the README matchers, failing where they should", () => {
    expect(mismatch("401", "401")).to.equal(undefined);
    expect(mismatch(401, "401")).to.be.a("string");
    expect(mismatch(3, { $type: "integer" })).to.equal(undefined);
    expect(mismatch(3.5, { $type: "integer" })).to.be.a("string");
    expect(mismatch(undefined, { $absent: true })).to.equal(undefined);
    expect(mismatch(false, { $nonEmpty: true })).to.equal(undefined);
    expect(mismatch([], { $nonEmpty: true })).to.be.a("string");
    expect(mismatch([{ value: "x", type: "User" }], { $some: { value: "x" } })).to.equal(undefined);
    expect(mismatch([{ value: "y" }], { $all: [{ $length: 1 }, { $some: { value: "x" } }] })).to.be.a("string");
    expect(mismatch(undefined, { $any: [{ $absent: true }, { $length: 0 }] })).to.equal(undefined);
    expect(mismatch("ABC", { $ieq: "abc" })).to.equal(undefined);
    expect(mismatch({ $ref: "x" }, { $ref: "x" })).to.equal(undefined);
  });

  it("resolves templates with transforms and typed whole-string values", () => {
    const scope = new TemplateScope();
    scope.set("name", "a b");
    scope.set("doc", { x: 1 });
    expect(scope.resolveString("{{url:name}}")).to.equal("a%20b");
    expect(scope.resolveString("{{form:name}}")).to.equal("a+b");
    expect(scope.resolveString("{{upper:name}}!")).to.equal("A B!");
    expect(scope.resolveString("{{doc}}")).to.deep.equal({ x: 1 });
    expect(String(scope.resolveString("{{run}}"))).to.match(/^[0-9a-f]{8}$/);
    expect(() => scope.resolveString("{{nope}}")).to.throw(/unknown variable/);
  });
});
