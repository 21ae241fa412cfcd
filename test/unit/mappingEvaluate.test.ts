import { expect } from "chai";
import {
  compileMapping,
  defaultCompiledMapping,
  DEFAULT_MAPPING_DOCUMENT,
  ENTERPRISE_USER_SCHEMA,
  evaluateMapping,
  type ScimUserLike,
} from "../../mapping/index.ts";

const ROLE_FROM_FIRST_GROUP = "{{ value | downcase | replace: \"admins\", \"org:admin\" | default: \"org:member\" }}.organization_role";

function ada(overrides: ScimUserLike = {}): ScimUserLike {
  return {
    userName: "ada@example.com",
    externalId: "00u1",
    name: { givenName: "Ada", familyName: "Lovelace" },
    emails: [{ value: "ada@example.com", type: "work", primary: true }],
    active: true,
    ...overrides,
  };
}

describe("mapping evaluation", () => {
  describe("SPEC examples", () => {
    it("maps the first group Admins to org:admin with the SPEC template", () => {
      const mapping = compileMapping({ "groups[0].value": ROLE_FROM_FIRST_GROUP });
      const { fields, errors } = evaluateMapping(mapping, ada({ groups: [{ value: "Admins", display: "Admins" }] }));
      expect(fields.organization_role).to.equal("org:admin");
      expect(errors).to.deep.equal([]);
    });

    it("gives org:member with the SPEC template when the user has no groups", () => {
      const mapping = compileMapping({ "groups[0].value": ROLE_FROM_FIRST_GROUP });
      const { fields, errors } = evaluateMapping(mapping, ada());
      expect(fields.organization_role).to.equal("org:member");
      expect(errors).to.deep.equal([]);
    });

    it("maps enterprise department and employeeNumber into public_metadata", () => {
      const mapping = compileMapping({
        [`${ENTERPRISE_USER_SCHEMA}.department`]: "public_metadata.department",
        [`${ENTERPRISE_USER_SCHEMA}.employeeNumber`]: "public_metadata.employee_number",
      });
      const user = ada({ [ENTERPRISE_USER_SCHEMA]: { department: "Research", employeeNumber: "E-1001" } });
      expect(evaluateMapping(mapping, user).fields.public_metadata).to.deep.equal({ department: "Research", employee_number: "E-1001" });
    });
  });

  describe("defaults", () => {
    it("maps userName, names, externalId and active with no org mapping", () => {
      const { fields, errors } = evaluateMapping(defaultCompiledMapping, ada({ active: false }));
      expect(fields).to.deep.equal({
        email_address: "ada@example.com",
        first_name: "Ada",
        last_name: "Lovelace",
        external_id: "00u1",
        active: false,
        organization_role: "org:member",
        public_metadata: {},
        private_metadata: {},
      });
      expect(errors).to.deep.equal([]);
    });

    it("exposes the six SPEC defaults as a document", () => {
      expect(DEFAULT_MAPPING_DOCUMENT).to.deep.equal({
        userName: "email_address",
        "name.givenName": "first_name",
        "name.familyName": "last_name",
        "emails[primary eq true].value": "email_address",
        externalId: "external_id",
        active: "active",
      });
    });

    it("treats a missing active as true", () => {
      const user = ada();
      delete user.active;
      expect(evaluateMapping(defaultCompiledMapping, user).fields.active).to.equal(true);
    });

    it("coerces string booleans for active", () => {
      expect(evaluateMapping(defaultCompiledMapping, ada({ active: "False" })).fields.active).to.equal(false);
      expect(evaluateMapping(defaultCompiledMapping, ada({ active: "TRUE" })).fields.active).to.equal(true);
    });

    it("reports an active that is not a boolean and keeps active true", () => {
      const { fields, errors } = evaluateMapping(defaultCompiledMapping, ada({ active: "maybe" }));
      expect(fields.active).to.equal(true);
      expect(errors).to.deep.equal([{ key: "active", destination: "active", message: 'expected true or false, got "maybe"' }]);
    });

    it("gives null for absent text fields instead of failing", () => {
      const { fields } = evaluateMapping(defaultCompiledMapping, { userName: "someone" });
      expect(fields).to.include({ email_address: null, first_name: null, last_name: null, external_id: null });
    });
  });

  describe("email precedence among defaults", () => {
    it("prefers the primary email over userName", () => {
      const user = ada({ userName: "ada.l@login.example", emails: [{ value: "ada@corp.example", primary: true }] });
      expect(evaluateMapping(defaultCompiledMapping, user).fields.email_address).to.equal("ada@corp.example");
    });

    it("matches a primary flag sent as the string \"True\"", () => {
      const user = ada({ userName: "x", emails: [{ value: "other@corp.example" }, { value: "ada@corp.example", primary: "True" }] });
      expect(evaluateMapping(defaultCompiledMapping, user).fields.email_address).to.equal("ada@corp.example");
    });

    it("falls back to userName when the primary email is not an email address", () => {
      const user = ada({ userName: "ada@login.example", emails: [{ value: "not an email", primary: true }] });
      const { fields, errors } = evaluateMapping(defaultCompiledMapping, user);
      expect(fields.email_address).to.equal("ada@login.example");
      expect(errors).to.deep.equal([]);
    });

    it("falls back to the first valid email when neither primary nor userName is an email", () => {
      const user = ada({ userName: "ada", emails: [{ value: "nope" }, { value: "ada@home.example", type: "home" }] });
      expect(evaluateMapping(defaultCompiledMapping, user).fields.email_address).to.equal("ada@home.example");
    });

    it("leaves email_address null when no candidate is an email", () => {
      const user = ada({ userName: "ada", emails: [{ value: "nope" }] });
      expect(evaluateMapping(defaultCompiledMapping, user).fields.email_address).to.equal(null);
    });

    it("lets an org entry for email_address beat every default", () => {
      const mapping = compileMapping({ 'emails[type eq "work"].value': "email_address" });
      const user = ada({ emails: [{ value: "ada@home.example", primary: true }, { value: "ada@work.example", type: "work" }] });
      expect(evaluateMapping(mapping, user).fields.email_address).to.equal("ada@work.example");
    });

    it("falls back to the defaults when the org entry yields nothing", () => {
      const mapping = compileMapping({ 'emails[type eq "work"].value': "email_address" });
      const user = ada({ emails: [{ value: "ada@home.example", type: "home", primary: true }] });
      expect(evaluateMapping(mapping, user).fields.email_address).to.equal("ada@home.example");
    });

    it("reports an org email entry that is not an email and falls back", () => {
      const mapping = compileMapping({ displayName: "email_address" });
      const { fields, errors } = evaluateMapping(mapping, ada({ displayName: "Ada L" }));
      expect(fields.email_address).to.equal("ada@example.com");
      expect(errors).to.deep.equal([{ key: "displayName", destination: "email_address", message: '"Ada L" is not an email address' }]);
    });
  });

  describe("overrides by source path", () => {
    it("replaces a default whose path matches case-insensitively", () => {
      const mapping = compileMapping({ USERNAME: "public_metadata.login" });
      const user = ada({ userName: "ada@login.example", emails: [] });
      const { fields } = evaluateMapping(mapping, user);
      expect(fields.email_address).to.equal(null);
      expect(fields.public_metadata).to.deep.equal({ login: "ada@login.example" });
    });

    it("replaces the primary-email default when the filter is spelled differently", () => {
      const mapping = compileMapping({ 'EMAILS[ Primary EQ "true" ].Value': "private_metadata.primary_email" });
      const user = ada({ userName: "ada@login.example", emails: [{ value: "ada@corp.example", primary: true }] });
      expect(evaluateMapping(defaultCompiledMapping, user).fields.email_address).to.equal("ada@corp.example");
      const { fields } = evaluateMapping(mapping, user);
      expect(fields.email_address).to.equal("ada@login.example");
      expect(fields.private_metadata).to.deep.equal({ primary_email: "ada@corp.example" });
    });

    it("keeps a default whose destination an org entry from another path also targets", () => {
      const mapping = compileMapping({ nickName: "first_name" });
      expect(evaluateMapping(mapping, ada({ nickName: "Countess" })).fields.first_name).to.equal("Countess");
      expect(evaluateMapping(mapping, ada()).fields.first_name).to.equal("Ada");
    });

    it("treats the core schema URN path as the plain attribute", () => {
      const mapping = compileMapping({ "urn:ietf:params:scim:schemas:core:2.0:User:userName": "public_metadata.login" });
      const { fields } = evaluateMapping(mapping, ada({ userName: "ada@login.example", emails: [] }));
      expect(fields.email_address).to.equal(null);
      expect(fields.public_metadata).to.deep.equal({ login: "ada@login.example" });
    });
  });

  describe("organization_role", () => {
    it("falls back to org:member without an error when a role template yields no role key", () => {
      const mapping = compileMapping({ "groups[0].value": ROLE_FROM_FIRST_GROUP });
      const { fields, errors } = evaluateMapping(mapping, ada({ groups: [{ value: "Engineering" }] }));
      expect(fields.organization_role).to.equal("org:member");
      expect(errors).to.deep.equal([]);
      expect(evaluateMapping(mapping, ada({ groups: [{ value: "Admins" }] })).fields.organization_role).to.equal("org:admin");
    });

    it("accepts a raw source value that is a role key", () => {
      const mapping = compileMapping({ [`${ENTERPRISE_USER_SCHEMA}:role`]: "organization_role" });
      const user = ada({ [ENTERPRISE_USER_SCHEMA]: { role: "org:billing_admin" } });
      expect(evaluateMapping(mapping, user).fields.organization_role).to.equal("org:billing_admin");
    });

    it("rejects a raw source value with upper-case letters", () => {
      const mapping = compileMapping({ title: "organization_role" });
      const { fields, errors } = evaluateMapping(mapping, ada({ title: "org:Admin" }));
      expect(fields.organization_role).to.equal("org:member");
      expect(errors[0]?.message).to.contain("is not a role key");
    });

    it("maps by group name with a case tag", () => {
      const template = '{% case value %}{% when "Admins" %}org:admin{% when "Billing" %}org:billing{% endcase %}.organization_role';
      const mapping = compileMapping({ "groups[0].value": template });
      expect(evaluateMapping(mapping, ada({ groups: [{ value: "Billing" }] })).fields.organization_role).to.equal("org:billing");
      expect(evaluateMapping(mapping, ada({ groups: [{ value: "Other" }] })).fields.organization_role).to.equal("org:member");
    });
  });

  describe("templates", () => {
    it("binds user to the whole SCIM user", () => {
      const mapping = compileMapping({ "name.givenName": "{{ value }} {{ user.name.familyName | upcase }}.public_metadata.display" });
      expect(evaluateMapping(mapping, ada()).fields.public_metadata).to.deep.equal({ display: "Ada LOVELACE" });
    });

    it("writes the trimmed template output for text fields", () => {
      const mapping = compileMapping({ "name.givenName": "{% if value %}  {{ value | upcase }}\n{% endif %}.first_name" });
      expect(evaluateMapping(mapping, ada()).fields.first_name).to.equal("ADA");
    });

    it("falls back to the default when a template renders empty", () => {
      const mapping = compileMapping({ nickName: "{{ value }}.first_name" });
      expect(evaluateMapping(mapping, ada()).fields.first_name).to.equal("Ada");
    });

    it("coerces a template's \"false\" output for active", () => {
      const mapping = compileMapping({ "urn:example:custom:1.0:User:status": '{% if value == "terminated" %}false{% else %}true{% endif %}.active' });
      const user = ada({ "urn:example:custom:1.0:User": { status: "terminated" } });
      expect(evaluateMapping(mapping, user).fields.active).to.equal(false);
    });

    it("allows literal text between the template and the destination", () => {
      const mapping = compileMapping({ "name.givenName": "{{ value | downcase }}@corp.example.email_address" });
      expect(evaluateMapping(mapping, ada()).fields.email_address).to.equal("ada@corp.example");
    });

    it("cannot see prototype properties of the user", () => {
      const mapping = compileMapping({ userName: "{{ value.constructor }}{{ user.constructor.name }}.public_metadata.leak" });
      expect(evaluateMapping(mapping, ada()).fields.public_metadata).to.deep.equal({});
    });
  });

  describe("metadata values", () => {
    it("keeps the JSON type of raw values", () => {
      const mapping = compileMapping({
        "x.count": "public_metadata.count",
        "x.flag": "public_metadata.flag",
        "x.list": "public_metadata.list",
        "x.object": "private_metadata.object",
      });
      const user = ada({ x: { count: 3, flag: false, list: ["a", 1], object: { nested: { deep: true } } } });
      const { fields } = evaluateMapping(mapping, user);
      expect(fields.public_metadata).to.deep.equal({ count: 3, flag: false, list: ["a", 1] });
      expect(fields.private_metadata).to.deep.equal({ object: { nested: { deep: true } } });
    });

    it("does not set a key whose source is missing or null", () => {
      const mapping = compileMapping({ title: "public_metadata.title", nickName: "public_metadata.nick" });
      expect(evaluateMapping(mapping, ada({ nickName: null })).fields.public_metadata).to.deep.equal({});
    });

    it("builds nested keys", () => {
      const mapping = compileMapping({ title: "public_metadata.hr.job.title", "name.familyName": "public_metadata.hr.family" });
      expect(evaluateMapping(mapping, ada({ title: "Countess" })).fields.public_metadata).to.deep.equal({
        hr: { job: { title: "Countess" }, family: "Lovelace" },
      });
    });

    it("copies raw values so changing the result leaves the user untouched", () => {
      const user = ada({ x: { list: [{ a: 1 }] } });
      const { fields } = evaluateMapping(compileMapping({ "x.list": "public_metadata.list" }), user);
      (fields.public_metadata.list as { a: number }[])[0]!.a = 2;
      expect(user.x).to.deep.equal({ list: [{ a: 1 }] });
    });
  });

  describe("robustness", () => {
    it("evaluates a non-object user as an empty one", () => {
      const { fields } = evaluateMapping(defaultCompiledMapping, "nope" as unknown as ScimUserLike);
      expect(fields.email_address).to.equal(null);
      expect(fields.active).to.equal(true);
    });

    it("reports a text field given an object and keeps the default", () => {
      const { fields, errors } = evaluateMapping(defaultCompiledMapping, ada({ name: { givenName: { first: "Ada" } } }));
      expect(fields.first_name).to.equal(null);
      expect(errors).to.deep.equal([{ key: "name.givenName", destination: "first_name", message: 'expected text, got an object {"first":"Ada"}' }]);
    });

    it("stringifies a numeric externalId", () => {
      expect(evaluateMapping(defaultCompiledMapping, ada({ externalId: 12345 })).fields.external_id).to.equal("12345");
    });
  });
});
