import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { createOrgWithToken } from "../helpers/factories.ts";
import { loadFixture, runStep, TemplateScope } from "../helpers/fixtureReplayer.ts";

/**
 * Declares a mocha suite that replays one IdP fixture step by step against a fresh organization.
 * A failed step fails its test and skips the rest (they depend on it).
 */
export function describeFixture(file: string): void {
  const fixture = loadFixture(file);
  describe(`${fixture.idp}: ${fixture.name}`, function () {
    let token = "";
    let broken: string | undefined;
    const scope = new TemplateScope();

    before(async () => {
      ({ token } = await createOrgWithToken(shared.service.url!, { provider: fixture.idp === "rfc" ? "generic" : fixture.idp }));
      for (const [name, template] of Object.entries(fixture.vars ?? {})) scope.set(name, scope.resolveString(template));
    });

    fixture.steps.forEach((step, index) => {
      it(`step ${index + 1}: ${step.name}`, async function () {
        if (broken) this.skip();
        const outcome = await runStep(shared.service.url!, token, fixture, step, scope);
        if (outcome.problems.length > 0) broken = step.name;
        expect(outcome.problems, `${step.request.method} ${step.request.path}`).to.deep.equal([]);
      });
    });
  });
}
