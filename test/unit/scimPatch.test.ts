import { expect } from "chai";
import fc from "fast-check";
import { AppError } from "../../server/errors.ts";
import { applyPatch } from "../../server/scim/patch/index.ts";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";

type Operation = { op: string; path?: string; value?: unknown };
const body = (...Operations: Operation[]) => ({ schemas: [PATCH_OP], Operations });

/** A user as stored after Entra's create (fixtures/idp/entra-users.json, step "POST the user"). */
function entraUser(): Record<string, unknown> {
  return {
    schemas: [CORE_USER, ENTERPRISE],
    id: "user_lena",
    externalId: "0a1b2c3d",
    userName: "Test_User_1@testuser.com",
    active: true,
    emails: [{ primary: true, type: "work", value: "lena.fischer@testuser.com" }],
    name: { formatted: "Lena Fischer", familyName: "Fischer", givenName: "Lena" },
    roles: [],
  };
}

function group(members: string[] = []): Record<string, unknown> {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    id: "team_1",
    displayName: "Finance Approvers",
    ...(members.length ? { members: members.map((value) => ({ value })) } : {}),
  };
}

function patchError(resourceType: "User" | "Group", resource: Record<string, unknown>, patchBody: unknown): AppError {
  try {
    applyPatch(resourceType, resource, patchBody);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(patchBody)} to fail`);
}

describe("SCIM PATCH (applyPatch)", () => {
  describe("Microsoft Entra ID (fixtures/idp/entra-users.json)", () => {
    it("replaces the work email's value through a value-filter path and name.familyName, with capitalised ops", () => {
      const out = applyPatch("User", entraUser(), body(
        { op: "Replace", path: 'emails[type eq "work"].value', value: "lena.fischer-weber@testuser.com" },
        { op: "Replace", path: "name.familyName", value: "Fischer-Weber" },
      ));
      expect(out.emails).to.deep.equal([{ primary: true, type: "work", value: "lena.fischer-weber@testuser.com" }]);
      expect(out.name).to.deep.equal({ formatted: "Lena Fischer", familyName: "Fischer-Weber", givenName: "Lena" });
    });

    it("adds a work email when the value filter matches no element", () => {
      const user = { ...entraUser(), emails: [{ type: "home", value: "home@example.com" }] };
      const out = applyPatch("User", user, body({ op: "Replace", path: 'emails[type eq "work"].value', value: "w@example.com" }));
      expect(out.emails).to.deep.equal([{ type: "home", value: "home@example.com" }, { type: "work", value: "w@example.com" }]);
      const added = applyPatch("User", { userName: "x" }, body({ op: "Add", path: 'emails[type eq "work"].value', value: "w@example.com" }));
      expect(added.emails).to.deep.equal([{ type: "work", value: "w@example.com" }]);
    });

    it("creates the value Entra's filtered sub-attribute paths describe: a work phone number and a work address locality", () => {
      const out = applyPatch("User", entraUser(), body(
        { op: "Replace", path: 'phoneNumbers[type eq "mobile"].value', value: "+49 30 1234" },
        { op: "Replace", path: 'addresses[type eq "work"].locality', value: "Berlin" },
      ));
      expect(out.phoneNumbers).to.deep.equal([{ type: "mobile", value: "+49 30 1234" }]);
      expect(out.addresses).to.deep.equal([{ type: "work", locality: "Berlin" }]);
    });

    it("replaces userName", () => {
      expect(applyPatch("User", entraUser(), body({ op: "Replace", path: "userName", value: "Test_User_2@testuser.com" })).userName)
        .to.equal("Test_User_2@testuser.com");
    });

    it("stores a manager sent as a bare string on the enterprise :manager path as {value}", () => {
      const out = applyPatch("User", { ...entraUser(), schemas: [CORE_USER] }, body({ op: "Add", path: `${ENTERPRISE}:manager`, value: "user_boss" }));
      expect(out[ENTERPRISE]).to.deep.equal({ manager: { value: "user_boss" } });
      expect(out.schemas).to.deep.equal([CORE_USER, ENTERPRISE]);
    });

    it("coerces the string booleans \"False\" and \"True\" for active", () => {
      const disabled = applyPatch("User", entraUser(), body({ op: "Replace", path: "active", value: "False" }));
      expect(disabled.active).to.equal(false);
      expect(applyPatch("User", disabled, body({ op: "Replace", path: "active", value: "True" })).active).to.equal(true);
    });
  });

  describe("Okta (fixtures/idp/okta-oin-user-lifecycle.json, okta-oin-groups.json)", () => {
    it("deactivates and reactivates with a no-path replace of {active}", () => {
      const off = applyPatch("User", entraUser(), body({ op: "replace", value: { active: false } }));
      expect(off.active).to.equal(false);
      expect(applyPatch("User", off, body({ op: "replace", value: { active: true } })).active).to.equal(true);
    });

    it("renames a group from a no-path replace carrying the group's own id", () => {
      const out = applyPatch("Group", group(["u1"]), body({ op: "replace", value: { id: "team_1", displayName: "Renamed" } }));
      expect(out).to.deep.equal({ ...group(["u1"]), displayName: "Renamed" });
    });

    it("removes a member by filtered path and adds another in one PATCH", () => {
      const out = applyPatch("Group", group(["userA"]), body(
        { op: "remove", path: 'members[value eq "userA"]' },
        { op: "add", path: "members", value: [{ value: "userB", display: "another.user@okta.local" }] },
      ));
      expect(out.members).to.deep.equal([{ value: "userB", display: "another.user@okta.local" }]);
    });

    it("empties a group with replace members []", () => {
      expect(applyPatch("Group", group(["userA", "userB"]), body({ op: "replace", path: "members", value: [] }))).not.to.have.property("members");
    });
  });

  describe("Entra groups and OneLogin (fixtures/idp/entra-groups.json, onelogin.json)", () => {
    it("adds members sent with \"$ref\": null, without storing the null", () => {
      const out = applyPatch("Group", group(), body({ op: "Add", path: "members", value: [{ $ref: null, value: "u1" }, { $ref: null, value: "u2" }] }));
      expect(out.members).to.deep.equal([{ value: "u1" }, { value: "u2" }]);
    });

    it("removes only the members listed in a remove with path members and a value array", () => {
      const out = applyPatch("Group", group(["u1", "u2"]), body({ op: "Remove", path: "members", value: [{ $ref: null, value: "u1" }] }));
      expect(out.members).to.deep.equal([{ value: "u2" }]);
    });

    it("accepts lowercase add and remove of members", () => {
      const added = applyPatch("Group", group(), body({ op: "add", path: "members", value: [{ value: "u9", display: "p@example.com" }] }));
      expect(added.members).to.deep.equal([{ value: "u9", display: "p@example.com" }]);
      expect(applyPatch("Group", added, body({ op: "remove", path: 'members[value eq "u9"]' }))).not.to.have.property("members");
    });

    it("lets OneLogin add, replace and remove the user's groups", () => {
      const added = applyPatch("User", entraUser(), body({ op: "add", path: "groups", value: [{ value: "admins", display: "admins" }] }));
      expect(added.groups).to.deep.equal([{ value: "admins", display: "admins" }]);
      const replaced = applyPatch("User", added, body({ op: "replace", value: { groups: [{ value: "eng" }] } }));
      expect(replaced.groups).to.deep.equal([{ value: "eng" }]);
      expect(applyPatch("User", replaced, body({ op: "remove", path: "groups" }))).not.to.have.property("groups");
    });
  });

  describe("no-path values", () => {
    it("applies an extension object under its URN and the flattened URN:attribute form", () => {
      const out = applyPatch("User", entraUser(), body(
        { op: "replace", value: { [ENTERPRISE]: { Department: "Finance", costCenter: 42 } } },
        { op: "add", value: { [`${ENTERPRISE}:division`]: "EMEA", "urn:ietf:params:scim:schemas:core:2.0:User:title": "Lead" } },
      ));
      expect(out[ENTERPRISE]).to.deep.equal({ department: "Finance", costCenter: "42", division: "EMEA" });
      expect(out.title).to.equal("Lead");
    });

    it("replaces name sub-attributes one by one and ignores meta and schemas", () => {
      const out = applyPatch("User", entraUser(), body({
        op: "replace",
        value: { name: { givenName: "Lena-Marie" }, meta: { resourceType: "User" }, schemas: ["x"] },
      }));
      expect(out.name).to.deep.equal({ formatted: "Lena Fischer", familyName: "Fischer", givenName: "Lena-Marie" });
      expect(out.schemas).to.deep.equal([CORE_USER, ENTERPRISE]);
      expect(out).not.to.have.property("meta");
    });

    it("matches attribute names case-insensitively and keeps unknown attributes as sent", () => {
      const out = applyPatch("User", entraUser(), body({ op: "replace", value: { DISPLAYNAME: "Lena", customFlag: { a: 1 } } }));
      expect(out.displayName).to.equal("Lena");
      expect(out.customFlag).to.deep.equal({ a: 1 });
    });

    it("ignores an echoed id when the resource's id is only known from options", () => {
      const { id: _id, ...stored } = entraUser();
      expect(applyPatch("User", stored, body({ op: "replace", value: { id: "user_lena", title: "x" } }), { id: "user_lena" }).title).to.equal("x");
      expect(patchError("User", { ...stored, id: "user_lena" }, body({ op: "replace", value: { id: "other" } })).scimType).to.equal("mutability");
    });
  });

  describe("paths", () => {
    it("accepts the enterprise attribute with a colon or a dot", () => {
      const colon = applyPatch("User", entraUser(), body({ op: "add", path: `${ENTERPRISE}:department`, value: "Sales" }));
      const dot = applyPatch("User", entraUser(), body({ op: "add", path: `${ENTERPRISE}.department`, value: "Sales" }));
      expect(colon[ENTERPRISE]).to.deep.equal({ department: "Sales" });
      expect(dot).to.deep.equal(colon);
      expect(applyPatch("User", colon, body({ op: "remove", path: `${ENTERPRISE}:department` }))[ENTERPRISE]).to.deep.equal({});
    });

    it("replaces one sub-attribute of the matching address and a whole matching email", () => {
      const user = {
        ...entraUser(),
        addresses: [{ type: "work", streetAddress: "1 Old St", locality: "Berlin" }, { type: "home", streetAddress: "2 Home St" }],
      };
      const out = applyPatch("User", user, body(
        { op: "replace", path: 'addresses[type eq "work"].streetAddress', value: "9 New St" },
        { op: "replace", path: 'emails[type eq "work"]', value: { type: "work", value: "new@x.com" } },
      ));
      expect(out.addresses).to.deep.equal([{ type: "work", streetAddress: "9 New St", locality: "Berlin" }, { type: "home", streetAddress: "2 Home St" }]);
      expect(out.emails).to.deep.equal([{ type: "work", value: "new@x.com" }]);
    });

    it("sets a sub-attribute on a complex attribute that was absent or malformed", () => {
      expect(applyPatch("User", { userName: "x" }, body({ op: "add", path: "name.givenName", value: "Ada" })).name).to.deep.equal({ givenName: "Ada" });
      expect(applyPatch("User", { name: "Ada" }, body({ op: "add", path: "name.givenName", value: "Ada" })).name).to.deep.equal({ givenName: "Ada" });
    });

    it("removes a sub-attribute, and the complex attribute once it is empty", () => {
      const out = applyPatch("User", entraUser(), body({ op: "remove", path: "name.formatted" }));
      expect(out.name).to.deep.equal({ familyName: "Fischer", givenName: "Lena" });
      const emptied = applyPatch("User", { name: { givenName: "A" } }, body({ op: "remove", path: "NAME.GIVENNAME" }));
      expect(emptied).not.to.have.property("name");
    });

    it("adds, replaces and removes the whole enterprise extension by its URN", () => {
      const added = applyPatch("User", entraUser(), body({ op: "add", path: ENTERPRISE, value: { department: "Ops", manager: "user_boss" } }));
      expect(added[ENTERPRISE]).to.deep.equal({ department: "Ops", manager: { value: "user_boss" } });
      const replaced = applyPatch("User", added, body({ op: "replace", path: ENTERPRISE, value: { department: "Sales" } }));
      expect(replaced[ENTERPRISE]).to.deep.equal({ department: "Sales", manager: { value: "user_boss" } });
      expect(applyPatch("User", replaced, body({ op: "remove", path: ENTERPRISE }))).not.to.have.property(ENTERPRISE);
    });

    it("replaces the value of every email when emails.value is given without a filter", () => {
      const user = { emails: [{ type: "work", value: "a@x.com" }, { type: "home", value: "b@x.com" }] };
      const out = applyPatch("User", user, body({ op: "replace", path: "emails.type", value: "other" }));
      expect(out.emails).to.deep.equal([{ type: "other", value: "a@x.com" }, { type: "other", value: "b@x.com" }]);
    });
  });

  describe("multi-valued attributes", () => {
    it("appends on add, de-duplicating equal values", () => {
      const out = applyPatch("User", entraUser(), body({
        op: "add",
        path: "emails",
        value: [{ value: "LENA.FISCHER@testuser.com", type: "work" }, { value: "l@home.de", type: "home" }],
      }));
      expect(out.emails).to.deep.equal([
        { primary: true, type: "work", value: "LENA.FISCHER@testuser.com" },
        { value: "l@home.de", type: "home" },
      ]);
    });

    it("replaces the whole list on replace", () => {
      const out = applyPatch("User", entraUser(), body({ op: "replace", path: "emails", value: [{ value: "only@x.com" }] }));
      expect(out.emails).to.deep.equal([{ value: "only@x.com" }]);
    });

    it("clears other primaries when a new value is primary", () => {
      const out = applyPatch("User", entraUser(), body({ op: "add", path: "emails", value: [{ value: "new@x.com", type: "home", primary: "True" }] }));
      expect(out.emails).to.deep.equal([
        { primary: false, type: "work", value: "lena.fischer@testuser.com" },
        { value: "new@x.com", type: "home", primary: true },
      ]);
    });
  });

  describe("RFC 7644 §3.5.2 examples", () => {
    it("adds a member (§3.5.2.1)", () => {
      const out = applyPatch("Group", group(["u0"]), body({
        op: "add",
        path: "members",
        value: [{ display: "Babs Jensen", $ref: "https://example.com/v2/Users/2819c223", value: "2819c223" }],
      }));
      expect(out.members).to.deep.equal([{ value: "u0" }, { display: "Babs Jensen", $ref: "https://example.com/v2/Users/2819c223", value: "2819c223" }]);
    });

    it("adds emails and a nickName without a path (§3.5.2.1)", () => {
      const out = applyPatch("User", entraUser(), body({ op: "add", value: { emails: [{ value: "babs@jensen.org", type: "home" }], nickname: "Babs" } }));
      expect(out.nickName).to.equal("Babs");
      expect(out.emails).to.have.length(2);
    });

    it("removes all members, one member, and matching emails (§3.5.2.2)", () => {
      expect(applyPatch("Group", group(["a", "b"]), body({ op: "remove", path: "members" }))).not.to.have.property("members");
      expect(applyPatch("Group", group(["a", "b"]), body({ op: "remove", path: 'members[value eq "a"]' })).members).to.deep.equal([{ value: "b" }]);
      const user = { ...entraUser(), emails: [{ type: "work", value: "a@example.com" }, { type: "home", value: "b@example.com" }] };
      const out = applyPatch("User", user, body({ op: "remove", path: 'emails[type eq "work" and value ew "example.com"]' }));
      expect(out.emails).to.deep.equal([{ type: "home", value: "b@example.com" }]);
    });

    it("replaces all members and a work address (§3.5.2.3)", () => {
      expect(applyPatch("Group", group(["a"]), body({ op: "replace", path: "members", value: [{ value: "b" }, { value: "c" }] })).members)
        .to.deep.equal([{ value: "b" }, { value: "c" }]);
      const user = { ...entraUser(), addresses: [{ type: "work", streetAddress: "old" }] };
      const address = { type: "work", streetAddress: "911 Universal City Plaza", locality: "Hollywood", primary: true };
      expect(applyPatch("User", user, body({ op: "replace", path: 'addresses[type eq "work"]', value: address })).addresses).to.deep.equal([address]);
    });
  });

  describe("errors", () => {
    const cases: Array<[string, unknown, string]> = [
      ["a body that is not an object", "nope", "invalidSyntax"],
      ["a body without the PatchOp schema", { schemas: ["x"], Operations: [{ op: "add", path: "title", value: "x" }] }, "invalidSyntax"],
      ["an empty Operations list", body(), "invalidSyntax"],
      ["an unknown op", body({ op: "move", path: "title", value: "x" }), "invalidSyntax"],
      ["an add without a value", body({ op: "add", path: "title" }), "invalidSyntax"],
      ["more than 1000 operations", body(...Array.from({ length: 1001 }, () => ({ op: "add", path: "title", value: "x" }))), "invalidValue"], // a LimitExceededError naming ROLLCALL_SCIM_MAX_PATCH_OPERATIONS
      ["a remove without a path", body({ op: "remove" }), "noTarget"],
      ["a filter that matches nothing and describes no element", body({ op: "replace", path: 'emails[value co "zzz"].type', value: "work" }), "noTarget"],
      ["an unknown attribute", body({ op: "add", path: "favoriteColor", value: "x" }), "invalidPath"],
      ["an unknown sub-attribute", body({ op: "add", path: "name.nickname", value: "x" }), "invalidPath"],
      ["an unknown sub-attribute after a filter", body({ op: "add", path: 'emails[type eq "work"].label', value: "x" }), "invalidPath"],
      ["an unclosed value filter", body({ op: "add", path: 'emails[type eq "work"', value: "x" }), "invalidPath"],
      ["a malformed value filter", body({ op: "add", path: 'emails[type eq]', value: "x" }), "invalidFilter"],
      ["a non-boolean for active", body({ op: "replace", path: "active", value: "maybe" }), "invalidValue"],
      ["an object for a string", body({ op: "replace", path: "name.givenName", value: { a: 1 } }), "invalidValue"],
      ["a non-object without a path", body({ op: "replace", value: "x" }), "invalidValue"],
      ["a different id", body({ op: "replace", path: "id", value: "user_other" }), "mutability"],
      ["a write to meta", body({ op: "replace", path: "meta.created", value: "2011-01-01T00:00:00Z" }), "mutability"],
      ["removing userName", body({ op: "remove", path: "userName" }), "mutability"],
      ["a write to the manager's displayName", body({ op: "add", path: `${ENTERPRISE}:manager.displayName`, value: "x" }), "mutability"],
    ];
    for (const [what, patchBody, scimType] of cases) {
      it(`answers ${scimType} for ${what}`, () => {
        const error = patchError("User", entraUser(), patchBody);
        expect(error.scimType).to.equal(scimType);
        expect(error.status).to.equal(400);
      });
    }

    describe("a replace or add through a value filter that matches no value (RFC 7644 §3.5.2.3: noTarget)", () => {
      const noMatch: Array<[string, Operation]> = [
        ["a sub-attribute other than value, which would create an email without an address", { op: "replace", path: 'emails[type eq "home"].primary', value: true }],
        ["a changed type, which would create an email without an address", { op: "replace", path: 'emails[type eq "home"].type', value: "other" }],
        ["a whole value without a sub-attribute path", { op: "replace", path: 'emails[type eq "home"]', value: { value: "h@example.com", type: "home" } }],
        ["a whole value without its address", { op: "replace", path: 'emails[type eq "home"]', value: { primary: true } }],
        ["an add of a sub-attribute other than value", { op: "add", path: 'emails[type eq "home"].display', value: "Home" }],
        ["a filter that is not a plain eq", { op: "replace", path: 'emails[type ne "work"].value', value: "h@example.com" }],
      ];
      for (const [what, operation] of noMatch) {
        it(`answers noTarget and writes nothing for ${what}`, () => {
          const user = entraUser();
          const error = patchError("User", user, body(operation));
          expect(error.scimType).to.equal("noTarget");
          expect(error.status).to.equal(400);
          expect(user.emails).to.deep.equal([{ primary: true, type: "work", value: "lena.fischer@testuser.com" }]);
        });
      }

      it("answers noTarget for a sub-attribute other than value on a user with no emails at all", () => {
        const error = patchError("User", { userName: "x" }, body({ op: "replace", path: "emails.type", value: "work" }));
        expect(error.scimType).to.equal("noTarget");
      });
    });

    it("refuses to change an immutable member value through a filter", () => {
      const error = patchError("Group", group(["a"]), body({ op: "replace", path: 'members[value eq "a"].value', value: "b" }));
      expect(error.scimType).to.equal("mutability");
    });
  });

  describe("properties", () => {
    const paths = fc.constantFrom(undefined, "title", "emails", 'emails[type eq "work"].value', "name.givenName", "active", "members",
      `${ENTERPRISE}:manager`, ENTERPRISE, "id", "meta", "groups", 'members[value eq "a"]', "x[", "", 'emails[type eq "work"]');
    const operation = fc.record(
      { op: fc.oneof(fc.constantFrom("add", "Replace", "remove"), fc.string()), path: fc.oneof(paths, fc.string()), value: fc.jsonValue() },
      { requiredKeys: ["op"] },
    );
    const bodies = fc.oneof(
      fc.jsonValue(),
      fc.record({ schemas: fc.constant([PATCH_OP]), Operations: fc.array(operation, { maxLength: 4 }) }),
      fc.record({ schemas: fc.jsonValue(), Operations: fc.jsonValue() }),
    );

    it("throws only AppError subclasses for arbitrary bodies, and never mutates its inputs", () => {
      fc.assert(
        fc.property(fc.constantFrom<"User" | "Group">("User", "Group"), bodies, (resourceType, patchBody) => {
          const resource = resourceType === "User" ? entraUser() : group(["a"]);
          const resourceBefore = structuredClone(resource);
          const bodyBefore = structuredClone(patchBody);
          try {
            applyPatch(resourceType, resource, patchBody);
          } catch (error) {
            expect(error).to.be.instanceOf(AppError);
          }
          expect(resource).to.deep.equal(resourceBefore);
          expect(patchBody).to.deep.equal(bodyBefore);
        }),
        { numRuns: 1500 },
      );
    });
  });
});
