import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parseManifests, validateManifests } from "../../scripts/validateManifests.ts";

/*
 * The chart rendered by the real helm and validated against the Kubernetes API schemas of the
 * kubernetes-models packages. helm is built by scripts/check-chart.sh (which .ci/run runs first);
 * without it this suite is skipped with a message, and helmChart.test.ts still checks the templates
 * as text.
 */
const root = path.resolve(import.meta.dirname, "../..");
const helmBinary = [process.env.HELM, path.join(homedir(), "go/bin/helm"), "/usr/local/bin/helm", "/usr/bin/helm"].find((p) => p && existsSync(p));
const required = ["--set", "databaseUrl=postgres://rollcall:secret@db.internal:5432/rollcall", "--set", "adminKey=rk_0123456789abcdef0123456789", "--set", "encryptionKey=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="];

type Manifest = { kind?: string; metadata?: { name?: string }; spec?: { template?: { spec?: PodSpec } }; stringData?: Record<string, string> };
type PodSpec = { containers: Array<{ args?: string[]; env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>; volumeMounts?: unknown[] }>; volumes?: unknown[] };

async function render(...args: string[]): Promise<Manifest[]> {
  const { stdout } = await promisify(execFile)(helmBinary!, ["template", "rollcall", "./helm", "--namespace", "rollcall", "--kube-version", "1.34.0", ...required, ...args], { cwd: root });
  return parseManifests(stdout) as Manifest[];
}

/** The object of that name, preferring a workload (the server's PodDisruptionBudget shares its name). */
const byName = (manifests: Manifest[], name: string) =>
  manifests.find((m) => m.metadata?.name === name && (m.kind === "Deployment" || m.kind === "Job")) ?? manifests.find((m) => m.metadata?.name === name);
const envOf = (m: Manifest | undefined) => Object.fromEntries((m?.spec?.template?.spec?.containers[0]?.env ?? []).map((e) => [e.name, e]));

describe("helm chart rendered by helm", function () {
  this.timeout(60_000);
  before(function () {
    if (!helmBinary) {
      console.log("    (skipped: no helm binary; scripts/check-chart.sh builds it with go install)");
      this.skip();
    }
  });

  it("renders objects that all validate against the Kubernetes schemas, with every option on", async () => {
    const manifests = await render(
      "--set", "redis.url=redis://redis.internal:6379/0", "--set", "dispatch.enabled=true",
      "--set", "autoscaling.enabled=true", "--set", "ingress.enabled=true",
      "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.dashboard.enabled=true",
    );
    expect(manifests.length).to.be.greaterThan(8);
    expect(await validateManifests(manifests)).to.deep.equal([]);
  });

  it("reports an object that breaks its schema", async () => {
    const [deployment] = (await render()).filter((m) => m.kind === "Deployment");
    const broken = { ...deployment, spec: { ...deployment!.spec, replicas: "two" } };
    const problems = await validateManifests([broken]);
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/replicas must be integer/);
  });

  it("runs a dispatch Deployment and stops the servers dispatching when dispatch is enabled", async () => {
    const manifests = await render("--set", "dispatch.enabled=true", "--set", "dispatch.replicas=3");
    const dispatch = byName(manifests, "rollcall-dispatch") as Manifest & { spec: { replicas: number } };
    expect(dispatch.spec.replicas).to.equal(3);
    expect(dispatch.spec.template!.spec!.containers[0]!.args).to.deep.equal(["dispatch"]);
    expect(envOf(byName(manifests, "rollcall-server")).ROLLCALL_ENABLE_DISPATCHER!.value).to.equal("false");
    expect(envOf(byName(await render(), "rollcall-server")).ROLLCALL_ENABLE_DISPATCHER!.value).to.equal("true");
  });

  it("passes REDIS_URL to the servers from a Secret and not to the migration Job", async () => {
    const manifests = await render("--set", "redis.url=redis://:pw@redis.internal:6379/0", "--set", "redis.failureMode=closed");
    expect(byName(manifests, "rollcall-redis")?.stringData).to.deep.equal({ REDIS_URL: "redis://:pw@redis.internal:6379/0" });
    const env = envOf(byName(manifests, "rollcall-server"));
    expect(env.REDIS_URL!.valueFrom!.secretKeyRef).to.deep.equal({ name: "rollcall-redis", key: "REDIS_URL" });
    expect(env.ROLLCALL_RATE_LIMIT_REDIS_FAILURE!.value).to.equal("closed");
    expect(envOf(byName(manifests, "rollcall-migrate")).REDIS_URL).to.equal(undefined);
    const fromExisting = await render("--set", "redis.existingSecret=shared-redis");
    expect(byName(fromExisting, "rollcall-redis")).to.equal(undefined);
    expect(envOf(byName(fromExisting, "rollcall-server")).REDIS_URL!.valueFrom!.secretKeyRef!.name).to.equal("shared-redis");
  });

  it("mounts no volume in any workload: the compiled image writes nothing", async () => {
    const manifests = await render("--set", "dispatch.enabled=true");
    const workloads = manifests.filter((m) => m.kind === "Deployment" || m.kind === "Job");
    expect(workloads.length).to.equal(4);
    for (const w of workloads) {
      expect(w.spec!.template!.spec!.volumes, w.metadata!.name).to.equal(undefined);
      expect(w.spec!.template!.spec!.containers[0]!.volumeMounts, w.metadata!.name).to.equal(undefined);
    }
  });
});
