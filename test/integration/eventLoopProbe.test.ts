import { cpus, loadavg } from "node:os";
import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";

const base = () => shared.service.url!;
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const PROBE_INTERVAL_MS = 25;

const phase = { current: "", worstByPhase: {} as Record<string, number> };

/**
 * Probes /healthz every 25 ms while `work` runs. The service runs in this process, so a blocked
 * event loop also delays the probe's own timer: latency is measured from when the probe was due,
 * not from when it managed to start, or a stall would hide itself.
 *
 * On an oversubscribed host (CI runners, or this machine with 20 processes on 2 cores) the process
 * also waits for a CPU, which no code change can remove. So each probe also records the CPU time
 * the process used while it waited: the loop cannot have been busy longer than that. The test holds
 * the wall-clock latency to 300 ms when the host has a core to spare, and the busy time always.
 */
async function worstProbeLatency(work: () => Promise<void>): Promise<{ wall: number; busy: number }> {
  let worst = 0;
  let worstBusy = 0;
  let running = true;
  const probes = (async () => {
    while (running) {
      // CPU is counted from before the wait, so a stall that delays the timer itself is counted too.
      const cpuAtStart = process.cpuUsage();
      const due = performance.now() + PROBE_INTERVAL_MS;
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
      const response = await fetch(`${base()}/healthz`);
      await response.arrayBuffer();
      const latency = performance.now() - due;
      const used = process.cpuUsage(cpuAtStart);
      worst = Math.max(worst, latency);
      worstBusy = Math.max(worstBusy, Math.min(latency, (used.user + used.system) / 1000));
      phase.worstByPhase[phase.current] = Math.round(Math.max(phase.worstByPhase[phase.current] ?? 0, latency));
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await probes;
  }
  return { wall: worst, busy: worstBusy };
}

describe("no request stalls the process (/healthz probed every 25 ms)", function () {
  this.timeout(180_000);

  it("keeps the worst probe under 300 ms while costly requests run, each ending in a 4xx or quickly", async () => {
    const org = await createOrgWithToken(base());
    const user = await scim(base(), org.token, "POST", "/Users", scimUserBody());
    const manyEmails = Array.from({ length: 100 }, (_, i) => ({ value: `m${i}@example.com` }));
    const emailUser = await scim(base(), org.token, "POST", "/Users", scimUserBody({ emails: manyEmails }));
    expect(emailUser.status).to.equal(201);
    const members: string[] = [];
    for (let i = 0; i < 60; i++) members.push((await scim(base(), org.token, "POST", "/Users", scimUserBody())).body.id as string);
    // Slow, growing and blowing-up templates: each stops at a limit, and together they would have
    // cost 250 ms per member before the mapping budget was per request.
    const slow = "{% for i in (1..100000000) %}{% endfor %}";
    const capture = '{% assign s = "xxxxxxxxxx" %}{% for i in (1..60) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s | size }}';
    const replace = `{% assign s = "${"a".repeat(1000)}" %}{% for i in (1..8) %}{% assign s = s | replace: "", s %}{% endfor %}{{ s | size }}`;
    const mapping = await admin(base(), "PUT", `/v1/organizations/${org.orgId}/scim/attribute-mappings`, {
      mapping: {
        "name.givenName": `${slow}.public_metadata.slow_a`,
        "name.familyName": `${slow}.public_metadata.slow_b`,
        userName: `${capture}.public_metadata.captured`,
        externalId: `${replace}.public_metadata.replaced`,
      },
    });
    expect(mapping.status, mapping.text).to.equal(200);
    const timings: Record<string, number> = {};
    const timed = async <T>(label: string, call: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const cpu = process.cpuUsage();
      phase.current = label;
      const result = await call();
      timings[label] = Math.round(performance.now() - started);
      const used = process.cpuUsage(cpu);
      timings[`${label} (cpu)`] = Math.round((used.user + used.system) / 1000);
      return result;
    };

    // Bodies are serialized before the probes start: the client shares this process's event loop.
    const wideBody = JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: "add", value: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, "v"])) }] });
    const hugeBody = JSON.stringify(scimUserBody({ emails: Array.from({ length: 30_000 }, (_, i) => ({ value: `${i}@x` })) }));
    const filteredBody = JSON.stringify({
      schemas: [PATCH_OP],
      Operations: Array.from({ length: 50 }, (_, i) => ({ op: "replace", path: `emails[value eq "m${i * 2}@example.com"].type`, value: "home" })),
    });
    const mappedBody = JSON.stringify(scimUserBody());
    const pushBody = JSON.stringify({ displayName: `Team ${unique()}`, members: members.map((value) => ({ value })) });
    // Ten users under the slow mapping in one Bulk: each operation has its own mapping budget and
    // the event loop is yielded between operations, so the request is long but never blocking.
    const bulkBody = JSON.stringify({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
      Operations: Array.from({ length: 10 }, (_, i) => ({ method: "POST", path: "/Users", bulkId: `u${i}`, data: scimUserBody() })),
    });
    const send = (method: string, path: string, rawBody: string) => request(base(), method, `/scim/v2${path}`, { token: org.token, rawBody });

    // One unprobed round first: the first request of each kind also pays for compiling its code
    // (JIT, lazily loaded modules), once per process; the probes measure the requests themselves.
    await send("PATCH", `/Users/${emailUser.body.id}`, filteredBody);
    await send("PATCH", `/Users/${user.body.id}`, wideBody);
    await send("POST", "/Users", hugeBody);

    const worst = await worstProbeLatency(async () => {
      const filtered = await timed("50 value-filter ops", () => send("PATCH", `/Users/${emailUser.body.id}`, filteredBody));
      expect(filtered.status).to.equal(200);
      const wide = await timed("20,000-key PATCH", () => send("PATCH", `/Users/${user.body.id}`, wideBody));
      expect(wide.status).to.equal(400);
      const huge = await timed("30,000-email user", () => send("POST", "/Users", hugeBody));
      expect(huge.status).to.equal(400);
      const mapped = await timed("user under slow mapping", () => send("POST", "/Users", mappedBody));
      expect(mapped.status).to.equal(201);
      const push = await timed("group push re-mapping 60 members", () => send("POST", "/Groups", pushBody));
      expect(push.status).to.equal(201);
      const bulk = await timed("Bulk of 10 users under slow mapping", () => send("POST", "/Bulk", bulkBody));
      expect(bulk.body.Operations.map((op: { status: string }) => op.status)).to.deep.equal(Array.from({ length: 10 }, () => "201"));
    });
    const report = JSON.stringify({ worst, load: loadavg()[0], cores: cpus().length, timings, worstProbeByRequest: phase.worstByPhase });
    expect(worst.busy, report).to.be.below(300);
    if ((loadavg()[0] ?? 0) < cpus().length) expect(worst.wall, report).to.be.below(300);
    expect(timings["group push re-mapping 60 members"], JSON.stringify(timings)).to.be.below(5000);
  });
});
