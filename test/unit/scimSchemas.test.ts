import { expect } from "chai";
import {
  canonicalizeResource,
  ENTERPRISE_USER_SCHEMA_URN,
  GROUP_SCHEMA_URN,
  resolveAttribute,
  schemaDocuments,
  USER_SCHEMA_URN,
  type JsonObject,
} from "../../server/scim/schemas/index.ts";

function attributesOf(document: JsonObject): JsonObject[] {
  return document.attributes as JsonObject[];
}

function attributeNamed(document: JsonObject, name: string): JsonObject {
  const found = attributesOf(document).find((attribute) => attribute.name === name);
  if (!found) throw new Error(`attribute ${name} missing`);
  return found;
}

describe("SCIM schemas", () => {
  describe("schemaDocuments", () => {
    const documents = schemaDocuments("https://rollcall.test/scim/v2/");
    const byId = (id: string): JsonObject => {
      const found = documents.find((document) => document.id === id);
      if (!found) throw new Error(`schema ${id} missing`);
      return found;
    };

    it("publishes the User, EnterpriseUser and Group schemas as Schema resources with their location", () => {
      expect(documents.map((document) => document.id)).to.have.members([USER_SCHEMA_URN, ENTERPRISE_USER_SCHEMA_URN, GROUP_SCHEMA_URN]);
      for (const document of documents) {
        expect(document.schemas).to.deep.equal(["urn:ietf:params:scim:schemas:core:2.0:Schema"]);
        expect(document.meta).to.deep.equal({
          resourceType: "Schema",
          location: `https://rollcall.test/scim/v2/Schemas/${String(document.id)}`,
        });
      }
    });

    it("lists every RFC 7643 §4.1 User attribute", () => {
      expect(attributesOf(byId(USER_SCHEMA_URN)).map((attribute) => attribute.name)).to.have.members([
        "userName", "name", "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage",
        "locale", "timezone", "active", "password", "emails", "phoneNumbers", "ims", "photos", "addresses",
        "groups", "entitlements", "roles", "x509Certificates",
      ]);
    });

    it("never returns the password and makes groups read-only", () => {
      const user = byId(USER_SCHEMA_URN);
      expect(attributeNamed(user, "password")).to.include({ returned: "never", mutability: "writeOnly" });
      expect(attributeNamed(user, "groups")).to.include({ mutability: "readOnly", multiValued: true });
      expect(attributeNamed(user, "userName")).to.include({ required: true, uniqueness: "server", caseExact: false });
    });

    it("describes emails with canonical types and a boolean primary", () => {
      const emails = attributeNamed(byId(USER_SCHEMA_URN), "emails");
      const subs = emails.subAttributes as JsonObject[];
      expect(subs.map((sub) => sub.name)).to.deep.equal(["value", "display", "type", "primary"]);
      expect(subs.find((sub) => sub.name === "type")?.canonicalValues).to.deep.equal(["work", "home", "other"]);
      expect(subs.find((sub) => sub.name === "primary")?.type).to.equal("boolean");
    });

    it("gives the enterprise manager value, $ref and a read-only displayName", () => {
      const manager = attributeNamed(byId(ENTERPRISE_USER_SCHEMA_URN), "manager");
      const subs = manager.subAttributes as JsonObject[];
      expect(subs.map((sub) => sub.name)).to.deep.equal(["value", "$ref", "displayName"]);
      expect(subs[2]).to.include({ mutability: "readOnly" });
      expect(attributesOf(byId(ENTERPRISE_USER_SCHEMA_URN)).map((attribute) => attribute.name)).to.include.members([
        "employeeNumber", "costCenter", "organization", "division", "department",
      ]);
    });

    it("gives Group displayName and members with value, $ref, display and type", () => {
      const group = byId(GROUP_SCHEMA_URN);
      expect(attributesOf(group).map((attribute) => attribute.name)).to.deep.equal(["displayName", "members"]);
      const members = attributeNamed(group, "members");
      expect((members.subAttributes as JsonObject[]).map((sub) => sub.name)).to.deep.equal(["value", "$ref", "display", "type"]);
    });
  });

  describe("resolveAttribute", () => {
    it("finds attributes case-insensitively and returns their canonical path", () => {
      expect(resolveAttribute("User", "USERNAME")?.path).to.equal("userName");
      expect(resolveAttribute("User", "name.FAMILYNAME")?.path).to.equal("name.familyName");
      expect(resolveAttribute("User", "emails.Primary")?.definition.type).to.equal("boolean");
    });

    it("accepts the core URN as a prefix", () => {
      const resolved = resolveAttribute("User", "urn:ietf:params:scim:schemas:core:2.0:User:userName");
      expect(resolved?.path).to.equal("userName");
      expect(resolved?.extension).to.equal(undefined);
    });

    it("accepts the enterprise URN with a colon or a dot before the attribute", () => {
      for (const path of [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department",
        "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Department",
      ]) {
        const resolved = resolveAttribute("User", path);
        expect(resolved?.extension, path).to.equal(ENTERPRISE_USER_SCHEMA_URN);
        expect(resolved?.path, path).to.equal(`${ENTERPRISE_USER_SCHEMA_URN}:department`);
      }
      expect(resolveAttribute("User", `${ENTERPRISE_USER_SCHEMA_URN}.manager.value`)?.path).to.equal(
        `${ENTERPRISE_USER_SCHEMA_URN}:manager.value`,
      );
    });

    it("resolves the common attributes id, externalId and meta sub-attributes", () => {
      expect(resolveAttribute("Group", "ID")?.definition.mutability).to.equal("readOnly");
      expect(resolveAttribute("Group", "externalid")?.path).to.equal("externalId");
      expect(resolveAttribute("User", "meta.lastmodified")?.definition.type).to.equal("dateTime");
    });

    it("returns undefined for unknown attributes, sub-attributes and other resource types' attributes", () => {
      expect(resolveAttribute("User", "nope")).to.equal(undefined);
      expect(resolveAttribute("User", "name.nope")).to.equal(undefined);
      expect(resolveAttribute("User", "name.givenName.extra")).to.equal(undefined);
      expect(resolveAttribute("User", "")).to.equal(undefined);
      expect(resolveAttribute("Group", "userName")).to.equal(undefined);
      expect(resolveAttribute("Group", `${ENTERPRISE_USER_SCHEMA_URN}:department`)).to.equal(undefined);
      expect(resolveAttribute("User", ENTERPRISE_USER_SCHEMA_URN)).to.equal(undefined);
    });
  });

  describe("canonicalizeResource", () => {
    it("renames known attributes and sub-attributes to their canonical case and keeps unknown ones", () => {
      const input = {
        USERNAME: "a@example.com",
        Name: { GivenName: "Ada", FAMILYNAME: "Lovelace", nickname: "x" },
        Emails: [{ VALUE: "a@example.com", Type: "work", PRIMARY: "True" }],
        customThing: { Keep: 1 },
      };
      expect(canonicalizeResource("User", input)).to.deep.equal({
        userName: "a@example.com",
        name: { givenName: "Ada", familyName: "Lovelace", nickname: "x" },
        emails: [{ value: "a@example.com", type: "work", primary: true }],
        customThing: { Keep: 1 },
      });
    });

    it("coerces boolean strings for boolean attributes only", () => {
      const out = canonicalizeResource("User", { active: "False", title: "True", userName: "u" });
      expect(out).to.deep.equal({ active: false, title: "True", userName: "u" });
    });

    it("puts nested and flattened extension attributes under the full URN key", () => {
      const out = canonicalizeResource("User", {
        "URN:ietf:params:scim:schemas:extension:enterprise:2.0:user": { Department: "Eng", Manager: { Value: "m1" } },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "42",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName": "core@example.com",
      });
      expect(out).to.deep.equal({
        [ENTERPRISE_USER_SCHEMA_URN]: { department: "Eng", manager: { value: "m1" }, costCenter: "42" },
        userName: "core@example.com",
      });
    });

    it("does not mutate its input", () => {
      const input = { ACTIVE: "true", emails: [{ PRIMARY: "false" }] };
      const snapshot = structuredClone(input);
      canonicalizeResource("User", input);
      expect(input).to.deep.equal(snapshot);
    });

    it("canonicalizes Group members", () => {
      expect(canonicalizeResource("Group", { DisplayName: "Eng", MEMBERS: [{ VALUE: "u1", "$REF": null }] })).to.deep.equal({
        displayName: "Eng",
        members: [{ value: "u1", $ref: null }],
      });
    });
  });
});
