import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { spawnChildServer, type ChildServer } from "./support/childServer.ts";
import { loadFuzzCorpus } from "./support/fuzzCorpus.ts";
import { createFuzzGenerator } from "./support/fuzzGenerator.ts";
import { formatHistogram, runFuzz } from "./support/fuzzRunner.ts";
import { healthAfterFuzz, setUpFuzzTargets } from "./support/fuzzSetup.ts";
import { createRng, runSeed } from "./support/random.ts";
import { describeFaults } from "./support/selection.ts";

const TOTAL = 100_000;

/** Pino lines of the child at warn or above, grouped by message: what the server itself thought went wrong. */
function warningsByMessage(output: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of output) {
    let message = line.slice(0, 120);
    try {
      const parsed = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (typeof parsed.level === "number" && parsed.level < 40) continue;
      message = `${String(parsed.level)} ${String(parsed.msg)}`;
    } catch {
      // Not JSON: a stack trace or a runtime warning; kept verbatim (truncated).
    }
    counts[message] = (counts[message] ?? 0) + 1;
  }
  return counts;
}

describeFaults("fault: HTTP fuzz of the SCIM API (100,000 requests)", () => {
  let server: ChildServer | undefined;

  after(async () => {
    await server?.stop();
  });

  it("answers 100,000 random and mutated SCIM requests without a 5xx or a dropped connection, and stays healthy", async function () {
    if (!shared.databaseUrl) this.skip();
    const seed = runSeed();
    // A server process of its own, so its CPU is not the fuzzer's and its logs can be read.
    server = await spawnChildServer({ databaseUrl: shared.databaseUrl!, env: { LOG_LEVEL: "warn", ROLLCALL_ENABLE_DISPATCHER: "false" } });
    const targets = await setUpFuzzTargets(server.url);
    const report = await runFuzz({
      baseUrl: server.url,
      targets,
      generator: createFuzzGenerator(loadFuzzCorpus(), createRng(seed)),
      total: TOTAL,
      concurrency: 32,
      timeLimitMs: 420_000,
    });
    const health = await healthAfterFuzz(server.url, targets.token);
    const warnings = warningsByMessage(server.output);
    console.log(`      seed ${seed}: ${report.sent} requests in ${report.durationMs} ms (${Math.round((report.sent / report.durationMs) * 1000)}/s, 32 connections)`);
    console.log(`      statuses: ${formatHistogram(report.histogram)}; ${report.protocolRejections} rejected by Node's HTTP parser; ` +
      `${report.crossTenantAttempts} aimed at the other organization; server warnings: ${JSON.stringify(warnings)}`);

    // The server's own account of its failures (type, message, SQLSTATE) makes a red run actionable.
    const failures = server.output
      .filter((line) => line.includes('"request failed"') || line.includes('"bulk operation failed"'))
      .slice(0, 5)
      .map((line) => {
        const entry = JSON.parse(line) as { err?: { type?: string; message?: string; code?: string; parent?: { code?: string } } };
        return `${entry.err?.type}: ${entry.err?.message} (${entry.err?.parent?.code ?? entry.err?.code ?? "no code"})`;
      });
    expect(report.serverErrorCount, `5xx answers, e.g.:\n${report.serverErrors.join("\n")}\nserver log:\n${failures.join("\n")}`).to.equal(0);
    expect(report.transportErrors, "requests without an HTTP answer").to.deep.equal({});
    expect(report.missingScimErrorBody.length, `errors without the SCIM body, e.g.:\n${report.missingScimErrorBody.join("\n")}`).to.equal(0);
    expect(report.crossTenantHits.length, `2xx across tenants:\n${report.crossTenantHits.join("\n")}`).to.equal(0);
    expect(report.sent, "requests answered within the time limit").to.equal(TOTAL);
    expect(server.alive(), "the server process is still running").to.equal(true);
    expect(health).to.deep.equal({ healthz: 200, readyz: 200, create: 201, read: 200 });
    // Warnings are allowed (e.g. a token-use stamp that lost a race); errors and dropped request-log batches are not.
    const errors = Object.entries(warnings).filter(([message]) => !message.startsWith("40 ") || message.includes("could not write SCIM request log"));
    expect(errors, "server errors and dropped request-log batches").to.deep.equal([]);
  });
});
