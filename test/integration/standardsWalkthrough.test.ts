import { expect } from "chai";
import { execFile, execFileSync } from "node:child_process";
import path from "node:path";
import { shared } from "../helpers/rootHooks.ts";
import { startTestService, TEST_ADMIN_KEY } from "../helpers/testService.ts";
import type { Service } from "../../server/main.ts";

/*
 * Runs scripts/standards-walkthrough.sh (curl + jq, what README documents for every standard of
 * SPEC "Events API and SCIM standards") against a fresh server, so the walkthrough cannot rot.
 */

const SCRIPT = path.resolve(import.meta.dirname, "../../scripts/standards-walkthrough.sh");

function hasTools(): boolean {
  try {
    execFileSync("bash", ["-c", "command -v curl && command -v jq"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function runWalkthrough(url: string, adminKey: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile("bash", [SCRIPT], { env: { ...process.env, ROLLCALL_URL: url, ROLLCALL_ADMIN_KEY: adminKey }, timeout: 150_000, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe("standards walkthrough (scripts/standards-walkthrough.sh against a real server)", function () {
  this.timeout(180_000);
  let service: Service;

  before(async function () {
    if (!hasTools()) {
      console.warn("      (skipped: the walkthrough needs bash, curl and jq)");
      this.skip();
    }
    // A cursor timeout the script can wait out (it checks expiredCursor then) and small Bulk
    // limits, so the 413s cost little; everything else as configured by default.
    service = await startTestService(shared.databaseUrl, {
      env: { ROLLCALL_SCIM_CURSOR_TIMEOUT_SECONDS: "10", ROLLCALL_SCIM_BULK_MAX_OPERATIONS: "6", ROLLCALL_SCIM_BODY_LIMIT_BYTES: "65536" },
    });
  });

  after(async () => {
    await service?.stop();
  });

  it("walks every standard as the README documents it, with every check passing", async () => {
    const { code, output } = await runWalkthrough(service.url!, TEST_ADMIN_KEY);
    expect(code, output).to.equal(0);
    expect(output).to.match(/standards walkthrough: \d+ checks passed/);
    expect(output, "expiredCursor was checked").not.to.include("expiredCursor not checked");
  });

  it("exits non-zero, naming the step, on an unexpected answer", async () => {
    const { code, output } = await runWalkthrough(service.url!, "not-the-admin-key-0123456789");
    expect(code).to.equal(1);
    expect(output).to.include("FAIL [an organization, its SCIM base URL and a SCIM token");
    expect(output).to.include("HTTP 401");
  });
});
