import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { spawnChildServer, type ChildServer } from "./support/childServer.ts";
import { beginPostgresOutage, canControlPostgres, postgresReady } from "./support/postgresControl.ts";
import { createRng } from "./support/random.ts";
import { describeFaults } from "./support/selection.ts";

const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/** How long PostgreSQL stays down: short, because other engineers' test runs share it. */
const OUTAGE_MS = 4_000;
/** The service must answer 2xx again this soon after PostgreSQL accepts connections. */
const RECOVERY_BUDGET_MS = 5_000;
/** A request made while PostgreSQL is down must fail at least this fast (the pool's acquire timeout is 10 s). */
const FAIL_FAST_MS = 1_000;

type Sample = { startedAt: number; endedAt: number; operation: string; status: number | string; scimErrorOk: boolean; detail: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One SCIM request of a mixed IdP workload; its outcome with the error body checked when it is a 503. */
async function oneRequest(url: string, token: string, userIds: string[], pick: (n: number) => number): Promise<Sample> {
  const startedAt = Date.now();
  const choice = pick(5);
  const existing = userIds.length > 0 ? userIds[pick(userIds.length)] : undefined;
  let operation = "create";
  let promise: ReturnType<typeof scim>;
  if (choice === 0 || existing === undefined) {
    promise = scim(url, token, "POST", "/Users", scimUserBody());
  } else if (choice === 1) {
    operation = "get";
    promise = scim(url, token, "GET", `/Users/${existing}`);
  } else if (choice === 2) {
    operation = "filter";
    promise = scim(url, token, "GET", `/Users?filter=${encodeURIComponent('userName sw "user."')}&count=5`);
  } else if (choice === 3) {
    operation = "patch";
    promise = scim(url, token, "PATCH", `/Users/${existing}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "title", value: `t${startedAt}` }] });
  } else {
    operation = "groups";
    promise = scim(url, token, "GET", "/Groups?count=5");
  }
  try {
    const response = await promise;
    const body = response.body as { schemas?: unknown; status?: unknown; detail?: unknown; id?: unknown } | undefined;
    if (operation === "create" && response.status === 201 && typeof body?.id === "string") userIds.push(body.id);
    const scimErrorOk = response.status < 400 ||
      (response.contentType === "application/scim+json" && Array.isArray(body?.schemas) && body.schemas[0] === SCIM_ERROR && body.status === String(response.status));
    return { startedAt, endedAt: Date.now(), operation, status: response.status, scimErrorOk, detail: response.status >= 400 ? response.text.slice(0, 300) : "" };
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; name?: unknown } }).cause;
    const status = typeof cause?.code === "string" ? cause.code : (error as Error).name;
    return { startedAt, endedAt: Date.now(), operation, status, scimErrorOk: false, detail: String(error) };
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

describeFaults("fault: PostgreSQL restarted under load", () => {
  let server: ChildServer | undefined;

  after(async () => {
    await server?.stop();
  });

  it("answers 503 with the SCIM error body fast while PostgreSQL is down, and recovers by itself once it is back", async function () {
    if (!canControlPostgres(shared.databaseUrl)) this.skip();
    expect(await postgresReady(), "PostgreSQL is up before the test").to.equal(true);
    // The default pool settings (10 s acquire timeout) on purpose: fail-fast must not depend on tuning.
    server = await spawnChildServer({ databaseUrl: shared.databaseUrl!, env: { ROLLCALL_ENABLE_DISPATCHER: "true", LOG_LEVEL: "error" } });
    const { token } = await createOrgWithToken(server.url);
    const url = server.url;
    const userIds: string[] = [];
    const rng = createRng(20_240_601);
    const samples: Sample[] = [];
    const readiness: Array<{ at: number; status: number | string }> = [];
    let stop = false;

    const workers = Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 100_000 && !stop; i++) {
        const sample = await oneRequest(url, token, userIds, (n) => rng.int(0, n - 1));
        samples.push(sample);
        // While requests fail fast the loop would spin; pace it like an IdP retrying.
        if (sample.status !== 200 && sample.status !== 201) await sleep(20);
      }
    });
    const readinessProbe = (async () => {
      for (let i = 0; i < 10_000 && !stop; i++) {
        const status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(15_000) }).then((r) => r.status, (e: unknown) => String(e));
        readiness.push({ at: Date.now(), status });
        await sleep(100);
      }
    })();

    let outage: Awaited<ReturnType<typeof beginPostgresOutage>> | undefined;
    let back: { startedAt: number; readyAt: number } | undefined;
    let stopRequestedAt = 0;
    try {
      await sleep(1_500);
      stopRequestedAt = Date.now();
      outage = await beginPostgresOutage(OUTAGE_MS + 15_000);
      await sleep(OUTAGE_MS);
    } finally {
      // Whatever happened above, PostgreSQL is started again before anything else.
      back = await outage?.end();
    }
    try {
      await sleep(RECOVERY_BUDGET_MS + 2_000);
    } finally {
      stop = true;
      await Promise.all([...workers, readinessProbe]);
    }
    expect(await postgresReady(), "PostgreSQL is up after the test").to.equal(true);

    const { stoppedAt } = outage!;
    const { startedAt, readyAt } = back!;
    const histogram: Record<string, number> = {};
    for (const s of samples) histogram[String(s.status)] = (histogram[String(s.status)] ?? 0) + 1;
    const down = samples.filter((s) => s.startedAt >= stoppedAt && s.endedAt <= startedAt);
    const downDurations = down.map((s) => s.endedAt - s.startedAt);
    const firstSuccessAfter = samples.filter((s) => s.startedAt >= readyAt && (s.status === 200 || s.status === 201)).sort((a, b) => a.endedAt - b.endedAt)[0];
    const readyAgain = readiness.find((r) => r.at >= readyAt && r.status === 200);
    const notReadyDuringOutage = readiness.filter((r) => r.at > stoppedAt + 200 && r.at < startedAt && r.status === 503).length;
    console.log(`      PostgreSQL stop took ${stoppedAt - stopRequestedAt} ms, down for ${startedAt - stoppedAt} ms, start took ${readyAt - startedAt} ms; ` +
      `${samples.length} requests ${JSON.stringify(histogram)}; while down: ${down.length} requests, ` +
      `p50 ${percentile(downDurations, 50)} ms, p99 ${percentile(downDurations, 99)} ms, max ${Math.max(0, ...downDurations)} ms; ` +
      `first 2xx ${firstSuccessAfter ? firstSuccessAfter.endedAt - readyAt : "never"} ms and /readyz 200 ${readyAgain ? readyAgain.at - readyAt : "never"} ms after pg_isready`);

    const unexpected = samples.filter((s) => s.status !== 200 && s.status !== 201 && s.status !== 503);
    // The server's own account of its 500s (the stack is logged, never sent) makes a failure here actionable.
    const internalErrors = server.output.filter((line) => line.includes('"code":"internal_error"')).slice(0, 3).map((line) => line.slice(0, 1_500));
    expect(unexpected.map((s) => `${s.operation} ${s.status} ${s.detail}`), `anything but 2xx and 503; server log: ${internalErrors.join("\n")}`).to.deep.equal([]);
    expect(samples.filter((s) => s.status === 503 && !s.scimErrorOk).map((s) => s.detail), "503s without the SCIM error body").to.deep.equal([]);
    expect(down.length, "requests made while PostgreSQL was down").to.be.greaterThan(20);
    expect(down.every((s) => s.status === 503), "every request while down is a 503").to.equal(true);
    expect(Math.max(...downDurations), "slowest failure while down (ms)").to.be.lessThan(FAIL_FAST_MS);
    expect(notReadyDuringOutage, "/readyz answers 503 while down").to.be.greaterThan(0);
    expect(firstSuccessAfter, "a 2xx after PostgreSQL is back").to.not.equal(undefined);
    expect(firstSuccessAfter!.endedAt - readyAt).to.be.lessThan(RECOVERY_BUDGET_MS);
    expect(readyAgain, "/readyz 200 after PostgreSQL is back").to.not.equal(undefined);
    expect(readyAgain!.at - readyAt).to.be.lessThan(RECOVERY_BUDGET_MS);
    // Recovered for good: once the budget has passed, nothing fails any more.
    const late = samples.filter((s) => s.startedAt >= readyAt + RECOVERY_BUDGET_MS);
    expect(late.length).to.be.greaterThan(0);
    expect(late.filter((s) => s.status !== 200 && s.status !== 201).map((s) => `${s.operation} ${s.status}`)).to.deep.equal([]);
    expect(server.alive(), "the server process survived the outage").to.equal(true);
  });
});
