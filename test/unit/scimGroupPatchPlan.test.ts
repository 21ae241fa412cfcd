import { expect } from "chai";
import fc from "fast-check";
import { AppError } from "../../server/errors.ts";
import { planGroupPatch } from "../../server/scim/patch/index.ts";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
type Operation = { op: string; path?: string; value?: unknown };
const body = (...Operations: Operation[]) => ({ schemas: [PATCH_OP], Operations });

function planError(patchBody: unknown, options?: { id?: string }): AppError {
  try {
    planGroupPatch(patchBody, options);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(patchBody)} to fail`);
}

describe("SCIM Group PATCH plan (planGroupPatch)", () => {
  describe("Okta (fixtures/idp/okta-oin-groups.json)", () => {
    it("plans an add of members", () => {
      expect(planGroupPatch(body({ op: "add", path: "members", value: [{ value: "userA", display: "test.user@okta.local" }] })))
        .to.deep.equal([{ kind: "addMembers", values: ["userA"] }]);
    });

    it("plans a filtered remove followed by an add, in order", () => {
      expect(planGroupPatch(body(
        { op: "remove", path: 'members[value eq "userA"]' },
        { op: "add", path: "members", value: [{ value: "userB", display: "another.user@okta.local" }] },
      ))).to.deep.equal([
        { kind: "removeMembers", values: ["userA"] },
        { kind: "addMembers", values: ["userB"] },
      ]);
    });

    it("plans a rename from a no-path replace that echoes the group's id", () => {
      expect(planGroupPatch(body({ op: "replace", value: { id: "team_1", displayName: "Renamed" } }), { id: "team_1" }))
        .to.deep.equal([{ kind: "setDisplayName", value: "Renamed" }]);
    });

    it("plans replace members [] as replacing with nobody", () => {
      expect(planGroupPatch(body({ op: "replace", path: "members", value: [] }))).to.deep.equal([{ kind: "replaceMembers", values: [] }]);
    });
  });

  describe("Microsoft Entra ID (fixtures/idp/entra-groups.json)", () => {
    it("plans a capitalised Replace of displayName", () => {
      expect(planGroupPatch(body({ op: "Replace", path: "displayName", value: "Finance Approvers EMEA" })))
        .to.deep.equal([{ kind: "setDisplayName", value: "Finance Approvers EMEA" }]);
    });

    it("ignores \"$ref\": null when adding members", () => {
      expect(planGroupPatch(body({ op: "Add", path: "members", value: [{ $ref: null, value: "u1" }, { $ref: null, value: "u2" }] })))
        .to.deep.equal([{ kind: "addMembers", values: ["u1", "u2"] }]);
    });

    it("plans a Remove with path members and a value array as removing only those members", () => {
      expect(planGroupPatch(body({ op: "Remove", path: "members", value: [{ $ref: null, value: "u1" }] })))
        .to.deep.equal([{ kind: "removeMembers", values: ["u1"] }]);
    });
  });

  describe("OneLogin (fixtures/idp/onelogin.json)", () => {
    it("plans lowercase add and filtered remove", () => {
      expect(planGroupPatch(body({ op: "add", path: "members", value: [{ value: "u7", display: "priya@example.com" }] })))
        .to.deep.equal([{ kind: "addMembers", values: ["u7"] }]);
      expect(planGroupPatch(body({ op: "remove", path: 'members[value eq "u7"]' }))).to.deep.equal([{ kind: "removeMembers", values: ["u7"] }]);
    });
  });

  describe("other forms", () => {
    it("plans remove members without a value as removing everyone", () => {
      expect(planGroupPatch(body({ op: "remove", path: "members" }))).to.deep.equal([{ kind: "removeAllMembers" }]);
    });

    it("supports a members filter of value eq joined by or", () => {
      expect(planGroupPatch(body({ op: "remove", path: 'members[value eq "a" or value eq "b" or VALUE eq "a"]' })))
        .to.deep.equal([{ kind: "removeMembers", values: ["a", "b"] }]);
    });

    it("plans a filtered replace as removing the selected members and adding the new ones", () => {
      expect(planGroupPatch(body({ op: "replace", path: 'members[value eq "a"]', value: { value: "b" } }))).to.deep.equal([
        { kind: "removeMembers", values: ["a"] },
        { kind: "addMembers", values: ["b"] },
      ]);
    });

    it("plans no-path add and replace of members, displayName and externalId in the order given", () => {
      expect(planGroupPatch(body(
        { op: "add", value: { members: [{ value: "a" }, { value: "a" }] } },
        { op: "replace", value: { DisplayName: "Eng", externalId: "ext-1", members: [{ value: "b" }], meta: { resourceType: "Group" }, schemas: [] } },
      ))).to.deep.equal([
        { kind: "addMembers", values: ["a"] },
        { kind: "setDisplayName", value: "Eng" },
        { kind: "setExternalId", value: "ext-1" },
        { kind: "replaceMembers", values: ["b"] },
      ]);
    });

    it("sets and clears externalId", () => {
      expect(planGroupPatch(body({ op: "replace", path: "externalId", value: "x" }))).to.deep.equal([{ kind: "setExternalId", value: "x" }]);
      expect(planGroupPatch(body({ op: "remove", path: "externalId" }))).to.deep.equal([{ kind: "setExternalId", value: null }]);
      expect(planGroupPatch(body({ op: "replace", value: { externalId: null } }))).to.deep.equal([{ kind: "setExternalId", value: null }]);
    });

    it("accepts member values as bare ids", () => {
      expect(planGroupPatch(body({ op: "add", path: "members", value: ["a", "b"] }))).to.deep.equal([{ kind: "addMembers", values: ["a", "b"] }]);
    });
  });

  describe("errors", () => {
    const cases: Array<[string, unknown, string]> = [
      ["a malformed body", { Operations: [] }, "invalidSyntax"],
      ["a remove without a path", body({ op: "remove" }), "noTarget"],
      ["an unknown attribute path", body({ op: "replace", path: "description", value: "x" }), "invalidPath"],
      ["an unknown attribute in a no-path value", body({ op: "replace", value: { description: "x" } }), "invalidPath"],
      ["a members filter on display", body({ op: "remove", path: 'members[display eq "x"]' }), "invalidPath"],
      ["a members filter with co", body({ op: "remove", path: 'members[value co "x"]' }), "invalidPath"],
      ["a member sub-attribute path", body({ op: "replace", path: "members.display", value: "x" }), "invalidPath"],
      ["an add through a filter", body({ op: "add", path: 'members[value eq "a"]', value: { value: "b" } }), "invalidPath"],
      ["a member without a value", body({ op: "add", path: "members", value: [{ display: "x" }] }), "invalidValue"],
      ["an empty displayName", body({ op: "replace", path: "displayName", value: "" }), "invalidValue"],
      ["a numeric externalId", body({ op: "replace", path: "externalId", value: 5 }), "invalidValue"],
      ["removing displayName", body({ op: "remove", path: "displayName" }), "mutability"],
      ["a different id", body({ op: "replace", value: { id: "team_2", displayName: "x" } }), "mutability"],
      ["a write to meta", body({ op: "replace", path: "meta.lastModified", value: "2020-01-01T00:00:00Z" }), "mutability"],
    ];
    for (const [what, patchBody, scimType] of cases) {
      it(`answers ${scimType} for ${what}`, () => {
        expect(planError(patchBody, { id: "team_1" }).scimType).to.equal(scimType);
      });
    }

    it("throws only AppError subclasses for arbitrary bodies", () => {
      const operation = fc.record({
        op: fc.oneof(fc.constantFrom("add", "remove", "Replace"), fc.string()),
        path: fc.oneof(fc.constantFrom("members", "displayName", "externalId", 'members[value eq "a"]', "id", "meta"), fc.string()),
        value: fc.jsonValue(),
      }, { requiredKeys: ["op"] });
      const bodies = fc.oneof(fc.jsonValue(), fc.record({ schemas: fc.constant([PATCH_OP]), Operations: fc.array(operation, { maxLength: 4 }) }));
      fc.assert(
        fc.property(bodies, (patchBody) => {
          try {
            planGroupPatch(patchBody, { id: "team_1" });
          } catch (error) {
            expect(error).to.be.instanceOf(AppError);
          }
        }),
        { numRuns: 1500 },
      );
    });
  });
});
