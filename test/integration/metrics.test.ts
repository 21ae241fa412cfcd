import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { spawnChildServer } from "../faults/support/childServer.ts";
import { WEBHOOK_EVENT_TYPES } from "../../server/webhooks/outbox.ts";
import { FINDING_KINDS } from "../../reconciler/types.ts";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { buildApp } from "../../server/app.ts";
import { createMetrics } from "../../server/metrics.ts";

const base = () => shared.service.url!;

/** Reads one sample from Prometheus text, or 0 when the series does not exist yet. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelPart = line.slice(name.length).split(" ")[0]!;
    if (wanted.every((w) => labelPart.includes(w))) return Number(line.split(" ").at(-1));
  }
  return 0;
}

describe("GET /metrics", () => {
  it("serves Prometheus text with every metric named in SPEC", async () => {
    const res = await request(base(), "GET", "/metrics");
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/plain/);
    for (const name of [
      "rollcall_scim_requests_total", "rollcall_scim_request_duration_seconds", "rollcall_provisioning_failures_total",
      "rollcall_webhook_deliveries_total", "rollcall_webhook_outbox_pending", "rollcall_reconciler_runs_total",
      "rollcall_reconciler_drift_items", "rollcall_reconciler_last_success_timestamp_seconds", "rollcall_rate_limited_total",
      "process_cpu_user_seconds_total",
    ]) {
      expect(res.text, name).to.include(`# TYPE ${name} `);
    }
  });

  it("moves the SCIM and failure counters as a scripted IdP sequence runs", async () => {
    const before = (await request(base(), "GET", "/metrics")).text;
    const { token, orgId } = await createOrgWithToken(base());
    const body = scimUserBody();
    await scim(base(), token, "POST", "/Users", body);
    await scim(base(), token, "POST", "/Users", body.externalId ? { ...body, externalId: "someone-else" } : body); // 409
    await scim(base(), token, "POST", "/Users", { userName: "" }); // 400
    await scim(base(), token, "GET", "/Users?count=0");
    await admin(base(), "PATCH", `/v1/organizations/${orgId}`, { scim_rate_limit: 1 });
    await Promise.all([1, 2, 3].map(() => scim(base(), token, "POST", "/Users", scimUserBody()))); // some 429
    const after = (await request(base(), "GET", "/metrics")).text;
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);

    expect(delta("rollcall_scim_requests_total", { resource: "Users", method: "POST", status: "201" })).to.be.at.least(2);
    expect(delta("rollcall_scim_requests_total", { resource: "Users", method: "POST", status: "409" })).to.equal(1);
    expect(delta("rollcall_scim_requests_total", { resource: "Users", method: "GET", status: "200" })).to.equal(1);
    expect(delta("rollcall_provisioning_failures_total", { operation: "post_users", reason: "conflict" })).to.equal(1);
    expect(delta("rollcall_provisioning_failures_total", { operation: "post_users", reason: "validation" })).to.equal(1);
    const limited = delta("rollcall_rate_limited_total");
    expect(limited).to.be.at.least(1);
    expect(delta("rollcall_provisioning_failures_total", { operation: "post_users", reason: "rate_limited" })).to.equal(limited);
    expect(delta("rollcall_scim_request_duration_seconds_count", { resource: "Users", method: "POST" })).to.be.at.least(6);
    // Labels stay bounded: no user ids, tokens or organization ids in any series.
    expect(after).to.not.match(/user_[0-9A-Z]{26}|scim_[A-Za-z0-9_-]{43}|org_[0-9A-Z]{26}/);
  });
});

/**
 * The /metrics text of a process that has handled nothing yet. On real PostgreSQL that is a
 * spawned `rollcall serve`. On the embedded database a child would boot a second PGlite (over a
 * minute on a loaded machine), so there the real app is served with a fresh registry instead:
 * the series come from createMetrics either way.
 */
async function freshMetricsText(): Promise<string> {
  if (shared.databaseUrl) {
    const child = await spawnChildServer({ databaseUrl: shared.databaseUrl, env: { ROLLCALL_ENABLE_DISPATCHER: "false" } });
    try {
      return (await request(child.url, "GET", "/metrics")).text;
    } finally {
      await child.stop();
    }
  }
  const server = buildApp({ ...shared.service.deps, metrics: createMetrics() }).listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const { port } = server.address() as AddressInfo;
    return (await request(`http://127.0.0.1:${port}`, "GET", "/metrics")).text;
  } finally {
    server.close();
  }
}

describe("GET /metrics of a fresh process", () => {
  it("already has every labelled counter series whose label values are known, at 0", async function () {
    this.timeout(120_000);
    const text = await freshMetricsText();
    const series = (name: string, labels: Record<string, string>) => {
      const wanted = `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}} 0`;
      return text.split("\n").includes(wanted) ? wanted : `missing: ${wanted}`;
    };
    for (const event of WEBHOOK_EVENT_TYPES) {
      for (const outcome of ["success", "retry", "failed"]) {
        expect(series("rollcall_webhook_deliveries_total", { event, outcome })).to.not.match(/^missing/);
      }
    }
    for (const outcome of ["succeeded", "failed", "skipped"]) {
      expect(series("rollcall_reconciler_runs_total", { outcome })).to.not.match(/^missing/);
    }
    for (const operation of ["post_users", "patch_users", "put_groups", "delete_groups"]) {
      expect(series("rollcall_provisioning_operations_total", { operation })).to.not.match(/^missing/);
      for (const reason of ["validation", "conflict", "mapping", "database", "rate_limited", "internal"]) {
        expect(series("rollcall_provisioning_failures_total", { operation, reason })).to.not.match(/^missing/);
      }
    }
    for (const destination of ["email_address", "organization_role", "public_metadata"]) {
      expect(series("rollcall_mapping_evaluation_failures_total", { destination })).to.not.match(/^missing/);
    }
    for (const kind of FINDING_KINDS) expect(series("rollcall_reconciler_drift_items", { kind })).to.not.match(/^missing/);
  });
});
