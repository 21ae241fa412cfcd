import { expect } from "chai";
import { compileMapping, MappingValidationError, type MappingProblem } from "../../mapping/index.ts";

function problemsOf(document: unknown): MappingProblem[] {
  try {
    compileMapping(document);
  } catch (error) {
    expect(error).to.be.instanceOf(MappingValidationError);
    return (error as MappingValidationError).problems;
  }
  expect.fail("the mapping was accepted");
}

function onlyProblem(key: string, value: string): string {
  const problems = problemsOf({ [key]: value });
  expect(problems).to.have.length(1);
  expect(problems[0]?.key).to.equal(key);
  return problems[0]?.message ?? "";
}

describe("mapping validation", () => {
  it("accepts an empty document", () => {
    expect(compileMapping({}).document).to.deep.equal({});
  });

  it("keeps the validated document on the compiled mapping", () => {
    const document = { title: "public_metadata.title" };
    expect(compileMapping(document).document).to.deep.equal(document);
  });

  it("rejects a document that is not an object", () => {
    for (const document of [null, [], "userName", 3]) {
      expect(problemsOf(document)).to.deep.equal([{ key: "", message: "the mapping must be a JSON object of source path → destination" }]);
    }
  });

  it("rejects values that are not strings", () => {
    expect(problemsOf({ userName: 5 })).to.deep.equal([
      { key: "userName", message: 'must be a string: a destination or "<Liquid template>.<destination>"' },
    ]);
  });

  it("rejects more than 200 entries", () => {
    const document = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`attr${i}`, `public_metadata.k${i}`]));
    expect(problemsOf(document)).to.deep.equal([{ key: "", message: "the mapping has 201 entries; at most 200 are allowed" }]);
  });

  it("accepts exactly 200 entries", () => {
    const document = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`attr${i}`, `public_metadata.k${i}`]));
    expect(() => compileMapping(document)).not.to.throw();
  });

  it("rejects keys over 500 and values over 4000 characters", () => {
    expect(onlyProblem(`a${"b".repeat(500)}`, "first_name")).to.equal("invalid source path: it is longer than 500 characters");
    expect(onlyProblem("title", `{{ value }}${" ".repeat(4000)}.first_name`)).to.equal("the value is longer than 4000 characters");
  });

  it("rejects unknown destinations and lists the valid ones", () => {
    expect(onlyProblem("title", "job_title")).to.equal(
      'unknown destination "job_title"; use email_address, first_name, last_name, external_id, active, organization_role, public_metadata.<key> or private_metadata.<key>',
    );
  });

  it("suggests a template when a role key is written as the destination", () => {
    expect(onlyProblem("title", "org:admin")).to.contain('write {{ "org:admin" }}.organization_role');
  });

  it("rejects malformed metadata destinations", () => {
    expect(onlyProblem("title", "public_metadata")).to.equal('"public_metadata" needs a key, e.g. "public_metadata.department"');
    expect(onlyProblem("title", "public_metadata.job title")).to.contain("is not a valid metadata key");
    expect(onlyProblem("title", "private_metadata.__proto__")).to.contain("reserved");
    expect(onlyProblem("title", "first_name.x")).to.contain("takes no sub-key");
  });

  it("rejects a template without a destination", () => {
    expect(onlyProblem("title", "{{ value }}")).to.equal('the template must be followed by ".<destination>", e.g. "{{ value | downcase }}.first_name"');
  });

  it("rejects malformed source paths", () => {
    expect(onlyProblem("a..b", "first_name")).to.contain("invalid source path: an attribute name is missing");
    expect(onlyProblem("emails[type eq]", "first_name")).to.contain('the value filter "type eq" is not valid');
    expect(onlyProblem("emails[type eq \"work\"", "first_name")).to.contain('"[" is not closed');
    expect(onlyProblem("emails]", "first_name")).to.contain("no matching");
    expect(onlyProblem("emails[]", "first_name")).to.contain("needs an index");
    expect(onlyProblem("emails[0]x", "first_name")).to.contain('unexpected text after "]"');
    expect(onlyProblem("1name", "first_name")).to.contain('"1name" is not a valid attribute name');
    expect(onlyProblem("enterprise:department", "first_name")).to.contain("urn:");
    expect(onlyProblem("urn:", "first_name")).to.contain("invalid source path");
  });

  it("rejects bad Liquid syntax", () => {
    expect(onlyProblem("title", "{{ value | upcase .first_name")).to.equal('the Liquid template is not closed with "}}" or "%}"');
    expect(onlyProblem("title", "{% if value %}x.first_name")).to.contain("the Liquid template is invalid");
    expect(onlyProblem("title", "{% if value %}x{{ value }}.first_name")).to.contain("the Liquid template is invalid");
    expect(onlyProblem("title", "{{ value | no_such_filter }}.first_name")).to.contain("undefined filter: no_such_filter");
  });

  it("rejects filter slips that liquidjs itself would forgive", () => {
    expect(onlyProblem("title", "{{ value | }}.first_name")).to.equal('the Liquid template is invalid: a "|" is not followed by a filter in {{ value | }}');
    expect(onlyProblem("title", "{{ value | append: 1 | plus: }}.first_name")).to.contain('the filter "plus" has ":" but no argument');
    expect(onlyProblem("title", "{{ value | append: 'a', }}.first_name")).to.contain('the filter "append" ends with ","');
    expect(onlyProblem("title", "{% assign x = value | %}{{ x }}.first_name")).to.contain('a "|" is not followed by a filter in {% assign');
  });

  it("does not mistake quoted pipes, colons and commas for slips", () => {
    expect(() => compileMapping({ title: '{{ value | append: "|" | prepend: "a:" | replace: ",", ";" }}.first_name' })).not.to.throw();
    expect(() => compileMapping({ title: '{% if value contains "|" %}{{ value | split: "|" | join: ", " }}{% endif %}.first_name' })).not.to.throw();
  });

  for (const tag of ["include", "render", "layout"]) {
    it(`rejects the ${tag} tag`, () => {
      expect(onlyProblem("title", `{% ${tag} "secrets" %}{{ value }}.first_name`)).to.contain(`the "${tag}" tag is not allowed`);
    });
  }

  it("rejects include hidden inside a liquid tag", () => {
    expect(onlyProblem("title", "{% liquid\n include 'x'\n %}{{ value }}.first_name")).to.contain('the "include" tag is not allowed');
  });

  it("rejects organization_role templates with literals that are not role keys", () => {
    expect(onlyProblem("title", '{{ "Admin" }}.organization_role')).to.contain('the text "Admin" cannot be part of a role key');
    expect(onlyProblem("title", '{% if value == "x" %}org:admin{% else %}Member{% endif %}.organization_role')).to.contain('"Member"');
    expect(onlyProblem("title", '{{ value | default: "member" }}.organization_role')).to.contain('the default "member" is not a role key');
  });

  it("accepts organization_role templates that build a role key from parts", () => {
    expect(() => compileMapping({ title: "org:{{ value | downcase }}.organization_role" })).not.to.throw();
    expect(() => compileMapping({ title: '{% capture label %}Some Text{% endcapture %}{{ value | default: "org:member" }}.organization_role' })).not.to.throw();
  });

  it("rejects two entries for the same destination", () => {
    expect(problemsOf({ userName: "public_metadata.login", nickName: "public_metadata.login" })).to.deep.equal([
      {
        key: "nickName",
        message: '"public_metadata.login" is already mapped from "userName"; map each destination from one source path (a template with "default" can fall back to another attribute)',
      },
    ]);
  });

  it("rejects a metadata key that is both a value and an object", () => {
    const problems = problemsOf({ title: "public_metadata.job", "name.formatted": "public_metadata.job.title" });
    expect(problems).to.have.length(1);
    expect(problems[0]?.key).to.equal("name.formatted");
    expect(problems[0]?.message).to.contain('overlaps "public_metadata.job"');
  });

  it("reports every problem of every entry at once, in document order", () => {
    const problems = problemsOf({
      "a..b": "nowhere",
      title: "{{ value | nope }}.first_name",
      nickName: 7,
      displayName: "{% render 'x' %}.last_name",
      good: "public_metadata.good",
      role: "{{ 'Boss' }}.organization_role",
    });
    expect(problems.map((p) => p.key)).to.deep.equal(["a..b", "a..b", "title", "nickName", "displayName", "role"]);
  });

  it("throws an error whose message names the problems", () => {
    expect(() => compileMapping({ title: "job_title" })).to.throw(MappingValidationError, /title: unknown destination "job_title"/);
  });
});
