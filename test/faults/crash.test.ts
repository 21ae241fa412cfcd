import { expect } from "chai";
import { serverUrl } from "../helpers/testDatabase.ts";
import { checkCrashRun, runCrashScenario, type CrashScenarioRun } from "./support/crashScenario.ts";
import { errorLogLines } from "./support/childServer.ts";
import { runSeed } from "./support/random.ts";
import { describeFaults } from "./support/selection.ts";

describeFaults("fault: SIGKILL during a burst of SCIM creates", () => {
  it("keeps every acknowledged create, leaves nothing half-written, and delivers every event at least once across 4 SIGKILLs", async function () {
    if (!serverUrl) this.skip();
    const seed = runSeed();
    let run: CrashScenarioRun | undefined;
    try {
      run = await runCrashScenario(serverUrl!, {
        seed,
        clients: 8,
        kills: 4,
        upMs: [700, 2_500],
        tailMs: 1_500,
        groupEvery: 5,
        webhookTimeoutMs: 1_000,
      });
      // A dispatcher killed mid-send holds its claim for timeout + 60 s; then the restarted one sends it again.
      const findings = await checkCrashRun(run, 150_000);
      const users = run.acked.filter((a) => a.kind === "user").length;
      const groups = run.acked.length - users;
      console.log(`      seed ${seed}: ${run.kills.length} SIGKILLs at ${run.kills.map((k) => `${k.atMs} ms (${k.inFlight} in flight)`).join(", ")}; ` +
        `${run.acked.length} creates acknowledged (${users} users, ${groups} groups) in ${run.durationMs} ms; attempts ${JSON.stringify(run.histogram)}; ` +
        `${findings.eventsInDatabase} events, ${findings.webhookRequests} webhook requests, ${findings.distinctWebhookIds} distinct webhook-ids`);

      expect(run.kills).to.have.length(4);
      expect(run.server.starts).to.equal(5);
      // The kills must have hit traffic, or the test proved nothing about crash safety.
      expect(run.kills.reduce((sum, k) => sum + k.inFlight, 0), "requests in flight at the kills").to.be.greaterThan(0);
      expect(run.abandoned, "creates that never got a 2xx or got a 4xx").to.deep.equal([]);
      expect(findings.ackedMissing, "acknowledged creates that do not exist").to.deep.equal([]);
      expect(findings.halfWritten, "half-written state").to.deep.equal([]);
      // Retries reuse the externalId, so there is exactly one user per acknowledged user create.
      expect(findings.usersInDatabase).to.equal(users);
      expect(findings.undelivered, "events the receiver never got").to.deep.equal([]);
      expect(findings.badSignatures).to.equal(0);
      expect(findings.distinctWebhookIds).to.equal(findings.eventsInDatabase);
      expect(errorLogLines(run.server.output), "error logs of the child").to.deep.equal([]);
    } finally {
      await run?.cleanup();
    }
  });
});
