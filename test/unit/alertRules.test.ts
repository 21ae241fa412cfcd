import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { createMetrics } from "../../server/metrics.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const rulesFile = path.join(root, "helm/files/rollcall.rules.yml");
const rulesTestFile = path.join(root, "helm/files/rollcall.rules.test.yml");
const dashboardFile = path.join(root, "helm/dashboards/rollcall.json");
const runbookFile = path.join(root, "docs/runbook.md");

type Rule = {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};
type RuleFile = { groups: Array<{ name: string; rules: Rule[] }> };
type AlertTestCase = { alertname: string; eval_time: string; exp_alerts?: unknown[] };
type RuleTestFile = { rule_files: string[]; tests: Array<{ name?: string; alert_rule_test?: AlertTestCase[] }> };

function alerts(): Rule[] {
  const file = parse(readFileSync(rulesFile, "utf8")) as RuleFile;
  return file.groups.flatMap((group) => group.rules).filter((rule) => rule.alert !== undefined);
}

/** Every PromQL expression of the dashboard's panels (and its namespace variable). */
function dashboardExpressions(): string[] {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === "object" && node !== null) {
      for (const [key, value] of Object.entries(node)) {
        if ((key === "expr" || key === "definition") && typeof value === "string") found.push(value);
        else walk(value);
      }
    }
  };
  walk(JSON.parse(readFileSync(dashboardFile, "utf8")));
  return found;
}

// Rollcall's own metrics and the prom-client process defaults it registers; anything else with
// these prefixes in a query is a typo or a metric that does not exist.
const METRIC_NAME = /\b(?:rollcall|process|nodejs)_[a-zA-Z0-9_]+\b/g;

function metricNamesIn(expression: string): string[] {
  return [...new Set(expression.match(METRIC_NAME) ?? [])];
}

/** Names a scrape of the app's registry exposes: histogram and summary series include their suffixes. */
async function exportedNames(): Promise<Set<string>> {
  const metrics = await createMetrics().registry.getMetricsAsJSON();
  const names = new Set<string>();
  for (const metric of metrics) {
    names.add(metric.name);
    const type = String(metric.type);
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${metric.name}${suffix}`);
    if (type === "summary") for (const suffix of ["_sum", "_count"]) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

/** GitHub-style anchors of the runbook's headings. */
function runbookAnchors(): Set<string> {
  const anchors = new Set<string>();
  for (const line of readFileSync(runbookFile, "utf8").split("\n")) {
    const heading = /^#{1,6}\s+(.+?)\s*$/.exec(line);
    if (heading) anchors.add(heading[1]!.toLowerCase().replace(/[^a-z0-9 _-]/g, "").replace(/ /g, "-"));
  }
  return anchors;
}

function promtoolAvailable(): boolean {
  return spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0;
}

function promtool(args: string[]): { status: number | null; output: string } {
  const result = spawnSync("promtool", args, { cwd: root, encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("alert rules and dashboard", () => {
  it("define every alert the SPEC and issue ask for", () => {
    expect(alerts().map((rule) => rule.alert)).to.include.members([
      "RollcallProvisioningFailureRatioHigh",
      "RollcallWebhookDeliveriesFailed",
      "RollcallWebhookDeliveryErrorRatioHigh",
      "RollcallWebhookOutboxGrowing",
      "RollcallReconcilerNotSucceeding",
      "RollcallReconcilerMetricsAbsent",
      "RollcallReconcilerDriftDetected",
      "RollcallScimServerErrors",
    ]);
  });

  it("give every alert a severity, a summary, a description with its value and a runbook section", () => {
    const anchors = runbookAnchors();
    for (const rule of alerts()) {
      const name = rule.alert!;
      expect(rule.labels?.severity, name).to.be.oneOf(["critical", "warning", "info"]);
      expect(rule.annotations?.summary, name).to.be.a("string").that.is.not.empty;
      expect(rule.annotations?.description, name).to.match(/\{\{ \$value( \| humanize\w*)? \}\}/);
      const url = rule.annotations?.runbook_url ?? "";
      expect(url, name).to.equal(`docs/runbook.md#${name.toLowerCase()}`);
      expect(anchors.has(name.toLowerCase()), `docs/runbook.md has no "## ${name}" section`).to.equal(true);
    }
  });

  it("have a promtool case where each alert fires and one where it does not", () => {
    const file = parse(readFileSync(rulesTestFile, "utf8")) as RuleTestFile;
    expect(file.rule_files).to.deep.equal(["rollcall.rules.yml"]);
    const cases = file.tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const rule of alerts()) {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${rule.alert} never fires in a test`).to.equal(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${rule.alert} has no not-firing test`).to.equal(true);
    }
  });

  it("only use metrics that the app's registry exports", async () => {
    const exported = await exportedNames();
    const unknown: string[] = [];
    for (const rule of alerts()) {
      const names = metricNamesIn(rule.expr);
      expect(names, `${rule.alert} uses no Rollcall metric`).to.not.be.empty;
      for (const name of names) if (!exported.has(name)) unknown.push(`${rule.alert}: ${name}`);
    }
    for (const expression of dashboardExpressions()) {
      for (const name of metricNamesIn(expression)) if (!exported.has(name)) unknown.push(`dashboard: ${name}`);
    }
    expect(unknown).to.deep.equal([]);
  });

  it("chart every metric of the SPEC on the dashboard", () => {
    const used = new Set(dashboardExpressions().flatMap(metricNamesIn));
    for (const name of [
      "rollcall_scim_requests_total",
      "rollcall_scim_request_duration_seconds_bucket",
      "rollcall_provisioning_failures_total",
      "rollcall_webhook_deliveries_total",
      "rollcall_webhook_outbox_pending",
      "rollcall_reconciler_runs_total",
      "rollcall_reconciler_drift_items",
      "rollcall_reconciler_last_success_timestamp_seconds",
      "rollcall_rate_limited_total",
    ]) {
      expect(used.has(name), name).to.equal(true);
    }
  });

  describe("with promtool", () => {
    before(function () {
      if (!promtoolAvailable()) {
        process.stderr.write("      promtool is not on PATH: skipping the promtool checks (scripts/check-alerts.sh installs it)\n");
        this.skip();
      }
    });

    it("pass `promtool check rules`", () => {
      const result = promtool(["check", "rules", rulesFile]);
      expect(result.status, result.output).to.equal(0);
    });

    it("pass their unit tests with `promtool test rules`", () => {
      const result = promtool(["test", "rules", rulesTestFile]);
      expect(result.status, result.output).to.equal(0);
    });

    it("parse every dashboard query as PromQL", () => {
      // Grafana's variables are substituted the way Grafana would, then each query becomes a
      // recording rule so promtool's parser checks it.
      const rules = dashboardExpressions()
        .filter((expression) => !expression.startsWith("label_values("))
        .map((expression, i) => ({
          record: `dashboard:query_${i}`,
          expr: expression.replaceAll("$__rate_interval", "5m").replaceAll("$namespace", ".*"),
        }));
      const dir = mkdtempSync(path.join(tmpdir(), "rollcall-dashboard-"));
      try {
        const file = path.join(dir, "dashboard.rules.yml");
        writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
        const result = promtool(["check", "rules", file]);
        expect(result.status, result.output).to.equal(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
