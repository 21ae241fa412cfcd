import { expect } from "chai";
import {
  compileMapping,
  compileMappingCached,
  evaluateMapping,
  MappingRequestBudget,
  MappingValidationError,
  type MappingResult,
  type ScimUserLike,
} from "../../mapping/index.ts";

const user: ScimUserLike = { userName: "ada@example.com", name: { givenName: "Ada" }, groups: [{ value: "Admins" }] };

function timed(document: Record<string, string>): { result: MappingResult; ms: number } {
  const mapping = compileMapping(document);
  const started = performance.now();
  const result = evaluateMapping(mapping, user);
  return { result, ms: performance.now() - started };
}

describe("mapping sandbox and limits", () => {
  it("stops a nested loop over huge ranges at once with an error", () => {
    const loop = "{% for i in (1..100000000) %}{% for j in (1..100000000) %}x{% endfor %}{% endfor %}";
    const { result, ms } = timed({ "name.givenName": `${loop}.public_metadata.loop` });
    expect(ms).to.be.below(500);
    expect(result.fields.public_metadata).to.deep.equal({});
    expect(result.errors).to.have.length(1);
    expect(result.errors[0]).to.include({ key: "name.givenName", destination: "public_metadata.loop" });
    expect(result.errors[0]?.message).to.contain("limit exceeded");
  });

  it("stops a long-running loop within the render limit", () => {
    const loop = "{% for i in (1..1000) %}{% for j in (1..1000) %}{{ i }}{% endfor %}{% endfor %}";
    const { result, ms } = timed({ "name.givenName": `${loop}.public_metadata.loop` });
    expect(ms).to.be.below(500);
    expect(result.errors[0]?.message).to.contain("limit exceeded");
  });

  it("stops string doubling with append before it exhausts memory", () => {
    const doubling = '{% assign s = "xxxxxxxxxx" %}{% for i in (1..60) %}{% assign s = s | append: s %}{% endfor %}{{ s }}';
    const { result, ms } = timed({ "name.givenName": `${doubling}.public_metadata.big` });
    expect(ms).to.be.below(500);
    expect(result.errors[0]?.message).to.contain("memory alloc limit exceeded");
  });

  it("stops replace-based blow-ups on the fast path too", () => {
    const blowup = `{{ "${"a".repeat(200)}" | replace: "a", "${"b".repeat(200)}" | replace: "b", "${"c".repeat(200)}" }}`;
    const { result, ms } = timed({ "name.givenName": `${blowup}.public_metadata.big` });
    expect(ms).to.be.below(500);
    expect(result.errors[0]?.message).to.contain("memory alloc limit exceeded");
  });

  it("rejects output longer than 4096 characters", () => {
    const { result } = timed({ "name.givenName": "{% for i in (1..500) %}xxxxxxxxxx{% endfor %}.public_metadata.long" });
    expect(result.fields.public_metadata).to.deep.equal({});
    expect(result.errors[0]?.message).to.equal("the template failed: the template output is longer than 4096 characters");
  });

  it("keeps evaluating the other entries when one template fails", () => {
    const { result } = timed({
      "name.givenName": "{% for i in (1..100000000) %}x{% endfor %}.first_name",
      "groups[0].value": '{{ value | downcase | replace: "admins", "org:admin" }}.organization_role',
      userName: "{{ value | upcase }}.public_metadata.login",
    });
    expect(result.fields.first_name).to.equal(null);
    expect(result.fields.organization_role).to.equal("org:admin");
    expect(result.fields.public_metadata).to.deep.equal({ login: "ADA@EXAMPLE.COM" });
    expect(result.errors.map((e) => e.destination)).to.deep.equal(["first_name"]);
  });

  it("falls back to the default role when the role template fails", () => {
    const { result } = timed({ "groups[0].value": "{% for i in (1..100000000) %}x{% endfor %}org:admin.organization_role" });
    expect(result.fields.organization_role).to.equal("org:member");
    expect(result.errors).to.have.length(1);
  });

  it("bounds a whole evaluation made of many slow templates", function () {
    this.timeout(5000);
    const slow = "{% for i in (1..1000) %}{% for j in (1..1000) %}x{% endfor %}{% endfor %}";
    const document = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`attr${i}`, `${slow}.public_metadata.k${i}`]));
    const { result, ms } = timed(document);
    expect(ms).to.be.below(1000);
    expect(result.errors).to.have.length(30);
    expect(result.errors.at(-1)?.message).to.contain("evaluation budget");
  });

  it("counts what {% capture %} stores against the memory limit", () => {
    const doubling = '{% assign s = "xxxxxxxxxx" %}{% for i in (1..40) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s | size }}';
    const before = process.memoryUsage().rss;
    const { result, ms } = timed({ "name.givenName": `${doubling}.public_metadata.big` });
    expect(ms).to.be.below(500);
    expect(result.errors[0]?.message).to.contain("memory alloc limit exceeded");
    expect(process.memoryUsage().rss - before).to.be.below(200 * 1024 * 1024);
  });

  it("refuses a replace on a huge string before it splits it", () => {
    // An empty pattern splits into one slot per character; liquidjs allocated 5 million slots
    // (48 MB, 660 ms) before its check. The charge now comes first.
    const mapping = compileMapping({ title: '{{ value | replace: "", "x" }}.public_metadata.big' });
    const before = process.memoryUsage().rss;
    const result = evaluateMapping(mapping, { ...user, title: "a".repeat(5_000_000) });
    expect(result.errors[0]?.message).to.contain("memory alloc limit exceeded");
    expect(process.memoryUsage().rss - before).to.be.below(20 * 1024 * 1024);
  });

  it("keeps replace's own results for ordinary input", () => {
    const { result } = timed({ userName: '{{ value | replace: "@example.com", "" | replace: ".", "-" }}.public_metadata.handle' });
    expect(result.errors).to.deep.equal([]);
    expect(result.fields.public_metadata).to.deep.equal({ handle: "ada" });
  });

  it("shares one budget across all evaluations of a request", function () {
    this.timeout(10_000);
    const slow = "{% for i in (1..1000) %}{% for j in (1..1000) %}x{% endfor %}{% endfor %}";
    const mapping = compileMapping({ "name.givenName": `${slow}.public_metadata.slow`, userName: "public_metadata.login" });
    const budget = new MappingRequestBudget(150);
    const started = performance.now();
    const results = Array.from({ length: 40 }, () => evaluateMapping(mapping, user, budget));
    const ms = performance.now() - started;
    // 40 users at 50 ms each would be 2 s; the request's 150 ms run out after a few, the rest fall back at once.
    expect(ms).to.be.below(1000);
    expect(results.at(-1)?.errors[0]?.message).to.contain("evaluation budget");
    expect(results.at(-1)?.fields.public_metadata).to.deep.equal({ login: "ada@example.com" });
    expect(budget.remainingMs()).to.be.at.most(0);
  });

  it("offers no file system to templates", () => {
    expect(() => compileMapping({ title: "{% include '/etc/passwd' %}.first_name" })).to.throw(MappingValidationError, /not allowed/);
    expect(() => compileMapping({ title: "{% layout '/etc/passwd' %}{{ value }}.first_name" })).to.throw(MappingValidationError, /not allowed/);
  });

  describe("compileMappingCached", () => {
    it("returns the same compiled mapping for the same version", () => {
      const document = { title: "{{ value | upcase }}.public_metadata.title" };
      const first = compileMappingCached("org_cache_a:1", document);
      expect(compileMappingCached("org_cache_a:1", { ...document })).to.equal(first);
    });

    it("compiles a new version separately", () => {
      const first = compileMappingCached("org_cache_b:1", { title: "public_metadata.title" });
      const second = compileMappingCached("org_cache_b:2", { title: "public_metadata.job" });
      expect(second).not.to.equal(first);
      expect(evaluateMapping(second, { title: "x" }).fields.public_metadata).to.deep.equal({ job: "x" });
    });

    it("does not serve a stale mapping when a version key is reused for other content", () => {
      compileMappingCached("org_cache_c:1", { title: "public_metadata.title" });
      const reused = compileMappingCached("org_cache_c:1", { title: "public_metadata.job" });
      expect(evaluateMapping(reused, { title: "x" }).fields.public_metadata).to.deep.equal({ job: "x" });
    });

    it("throws validation errors without caching them", () => {
      expect(() => compileMappingCached("org_cache_d:1", { title: "nowhere" })).to.throw(MappingValidationError);
      expect(compileMappingCached("org_cache_d:1", { title: "first_name" }).document).to.deep.equal({ title: "first_name" });
    });
  });
});
